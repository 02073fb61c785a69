import { createConnection, createServer } from "node:net";

// Loopback ports for servers started on demand by tests and the demo.

/** A port nobody listens on right now (listen on 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * One port per entry: the entry itself when given, else a free port that is
 * none of the others (the OS may hand out a just-closed port twice).
 */
export async function freePorts(wanted: readonly (number | undefined)[]): Promise<number[]> {
  const taken = new Set(wanted.filter((p) => p !== undefined));
  const ports: number[] = [];
  for (const fixed of wanted) {
    let port = fixed;
    while (port === undefined || (fixed === undefined && taken.has(port))) port = await freePort();
    taken.add(port);
    ports.push(port);
  }
  return ports;
}

/** Whether something accepts a TCP connection on 127.0.0.1:`port` right now. */
export function acceptsConnection(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
