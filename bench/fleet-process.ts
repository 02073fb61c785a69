import type { ChildProcess } from "node:child_process";
import type { FleetRequest } from "./client-fleet.js";

/**
 * The benchmark's side of a client fleet (bench/client-fleet.ts or
 * bench/e2e-fleet.ts, a forked child): requests over the IPC channel, replies
 * matched by id. `R` is the fleet's request type; both fleets answer `stop`.
 * `serveFleet` is the fleet's side.
 */
export class Fleet<R extends { op: string } = FleetRequest> {
  private seq = 0;
  private readonly pending = new Map<
    number,
    { ok: (v: unknown) => void; ko: (e: Error) => void }
  >();
  readonly exited: Promise<void>;

  constructor(readonly child: ChildProcess) {
    child.on("message", (msg: { id: number; result?: unknown; error?: string }) => {
      const p = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (msg.error !== undefined) p?.ko(new Error(`client fleet: ${msg.error}`));
      else p?.ok(msg.result);
    });
    this.exited = new Promise((resolve) =>
      child.once("exit", (code, signal) => {
        for (const p of this.pending.values())
          p.ko(new Error(`client fleet exited (code ${code}, signal ${signal})`));
        this.pending.clear();
        resolve();
      }),
    );
  }

  call<T>(req: R): Promise<T> {
    const id = ++this.seq;
    return new Promise<T>((ok, ko) => {
      this.pending.set(id, { ok: ok as (v: unknown) => void, ko });
      this.child.send({ id, req });
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    await this.call({ op: "stop" } as R).catch(() => undefined);
    this.child.disconnect();
    const killer = setTimeout(() => this.child.kill("SIGKILL"), 5_000);
    await this.exited;
    clearTimeout(killer);
  }
}

/**
 * The fleet's side: answers each request of the parent with `handle`, and
 * ends with the parent: if it goes away, so do the fleet and its sockets.
 */
export function serveFleet<R>(handle: (req: R) => Promise<unknown>, stop: () => void): void {
  process.on("message", (msg: { id: number; req: R }) => {
    handle(msg.req).then(
      (result) => process.send?.({ id: msg.id, result }),
      (err: Error) => process.send?.({ id: msg.id, error: err.stack ?? err.message }),
    );
  });
  process.on("disconnect", () => {
    stop();
    process.exit(0);
  });
}
