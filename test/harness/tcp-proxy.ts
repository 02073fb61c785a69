import { createConnection, createServer, type Server, type Socket } from "node:net";

/**
 * A loopback TCP relay between the daemon and the server's component port,
 * so a test can cut the component's connection alone (`cut()`), the way a
 * network failure would, while the server and its users stay up.
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly targetPort: number) {}

  /** Listens on `port` (0: any free one; a fixed one lets a daemon be configured before the relay exists). */
  async start(port = 0): Promise<this> {
    this.server = createServer((inbound) => {
      const outbound = createConnection({ host: "127.0.0.1", port: this.targetPort });
      for (const s of [inbound, outbound]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => undefined);
      }
      inbound.pipe(outbound);
      outbound.pipe(inbound);
      inbound.on("close", () => outbound.destroy());
      outbound.on("close", () => inbound.destroy());
    });
    await new Promise<void>((resolve) => this.server?.listen(port, "127.0.0.1", resolve));
    const address = this.server.address();
    this.port = typeof address === "object" && address ? address.port : 0;
    return this;
  }

  /** Drops every relayed connection at once; new ones are still accepted. */
  cut(): void {
    for (const s of this.sockets) s.destroy();
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }
}
