import { connect } from "node:net";

/**
 * One raw exchange with an HTTP listener over a real TCP socket: `bytes`
 * are written as they are (no client library to tidy them up), and what the
 * server answers is collected until it closes the connection, or until
 * `quietMs` pass without a byte (a keep-alive server waiting for more).
 */
export function rawExchange(
  url: string,
  bytes: Uint8Array | string,
  quietMs = 150,
): Promise<{ text: string; status: number | undefined }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: hostname.replace(/^\[|\]$/g, ""), port: Number(port) });
    let quiet: NodeJS.Timeout | undefined;
    const done = () => {
      clearTimeout(quiet);
      socket.destroy();
      const text = Buffer.concat(chunks).toString("latin1");
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1];
      resolve({ text, status: status === undefined ? undefined : Number(status) });
    };
    const rearm = () => {
      clearTimeout(quiet);
      quiet = setTimeout(done, quietMs);
    };
    socket.on("connect", () => {
      socket.end(bytes);
      rearm();
    });
    socket.on("data", (chunk) => {
      chunks.push(chunk);
      rearm();
    });
    // A reset (the server gave up on garbage) is an answer too.
    socket.on("error", done);
    socket.on("close", done);
  });
}

/** A well-formed GET the listener must still answer after anything else. */
export const healthzRequest = (host: string) =>
  `GET /healthz HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;
