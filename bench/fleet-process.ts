import type { ChildProcess } from "node:child_process";
import type { FleetRequest } from "./client-fleet.js";

/**
 * The benchmark's side of a client fleet (bench/client-fleet.ts or
 * bench/e2e-fleet.ts, a forked child): requests over the IPC channel, replies
 * matched by id. `R` is the fleet's request type; both fleets answer `stop`.
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
