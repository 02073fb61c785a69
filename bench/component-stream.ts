import { createHash } from "node:crypto";
import { connect, type Socket } from "node:net";

/**
 * The XEP-0114 handshake, once for every hand-written component of the
 * benchmarks (the pipeline baseline, the end-to-end forwarder) and for the
 * fake server that checks it.
 */

/** XEP-0114 §3: hex SHA-1 of the stream id followed by the shared secret. */
export function handshakeDigest(streamId: string, secret: string): string {
  return createHash("sha1").update(`${streamId}${secret}`, "utf8").digest("hex");
}

/** The stream header a component opens with (XEP-0114 §3). */
export const componentStreamHeader = (domain: string): string =>
  `<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='${domain}'>`;

export interface ComponentStream {
  /** utf8-decoded, Nagle off; the caller's `data` listener takes over. */
  socket: Socket;
  /**
   * What the server sent after `<handshake/>` in the same reads: Prosody puts
   * the XEP-0356 advertisement and its presence replay in the same TCP chunk.
   */
  rest: string;
}

/** Connects to 127.0.0.1:`port` and resolves once the server accepted the handshake. */
export function openComponentStream(options: {
  port: number;
  domain: string;
  secret: string;
}): Promise<ComponentStream> {
  const socket = connect({ port: options.port, host: "127.0.0.1", noDelay: true });
  socket.setEncoding("utf8");
  return new Promise((resolve, reject) => {
    let inbound = "";
    let answered = false;
    const done = () => {
      socket.off("data", onData);
      socket.off("error", fail);
      socket.off("close", onClose);
    };
    const fail = (err: Error) => {
      done();
      socket.destroy();
      reject(err);
    };
    const onClose = () => fail(new Error("the server closed the component stream"));
    const onData = (chunk: string) => {
      inbound += chunk;
      if (!answered) {
        const id = /<stream:stream[^>]*\sid=(['"])([^'"]*)\1[^>]*>/.exec(inbound)?.[2];
        if (id === undefined) return;
        answered = true;
        socket.write(`<handshake>${handshakeDigest(id, options.secret)}</handshake>`);
      }
      const error = inbound.indexOf("<stream:error");
      if (error >= 0) return fail(new Error(`stream error: ${inbound.slice(error, error + 300)}`));
      const accepted = /<handshake\s*\/>|<handshake><\/handshake>/.exec(inbound);
      if (!accepted) return;
      done();
      resolve({ socket, rest: inbound.slice(accepted.index + accepted[0].length) });
    };
    socket.on("data", onData);
    socket.on("error", fail);
    socket.on("close", onClose);
    socket.write(componentStreamHeader(options.domain));
  });
}
