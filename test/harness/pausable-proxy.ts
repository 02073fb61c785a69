import { createConnection, createServer, type Server, type Socket } from "node:net";

/**
 * A loopback TCP relay between the daemon and the server's component port
 * that can stop carrying the daemon's bytes (`pause()`: it stops reading
 * them, so the kernel buffers fill and the daemon's writes stay in flight,
 * a backed-up link) and carry them again (`resume()`). The server's bytes to
 * the daemon keep flowing either way.
 */
export class PausableProxy {
  private server: Server | undefined;
  /** Daemon-side socket -> server-side socket. */
  private readonly pairs = new Map<Socket, Socket>();
  private paused = false;
  port = 0;

  constructor(private readonly targetPort: number) {}

  async start(): Promise<this> {
    this.server = createServer((inbound) => {
      const outbound = createConnection({ host: "127.0.0.1", port: this.targetPort });
      this.pairs.set(inbound, outbound);
      for (const s of [inbound, outbound]) s.on("error", () => undefined);
      if (this.paused) inbound.pause();
      else inbound.pipe(outbound);
      outbound.pipe(inbound);
      inbound.on("close", () => {
        this.pairs.delete(inbound);
        outbound.destroy();
      });
      outbound.on("close", () => inbound.destroy());
    });
    await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", resolve));
    const address = this.server.address();
    this.port = typeof address === "object" && address ? address.port : 0;
    return this;
  }

  pause(): void {
    this.paused = true;
    for (const [inbound, outbound] of this.pairs) {
      inbound.unpipe(outbound);
      inbound.pause();
    }
  }

  resume(): void {
    this.paused = false;
    for (const [inbound, outbound] of this.pairs) inbound.pipe(outbound);
  }

  async stop(): Promise<void> {
    for (const [inbound, outbound] of this.pairs) {
      inbound.destroy();
      outbound.destroy();
    }
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }
}
