import type { AnyActorRef } from "xstate";
import type { Clock } from "./clock.js";

/** Sent by the clock to a supervisor; the continuation then runs inside its own transition. */
export interface TimerFired {
  type: "supervisor.timer";
  token: number;
}

export interface SupervisorTimers {
  /** Runs `fn` after `ms` on the injected clock, as a `TimerFired` event to `self`. */
  schedule(ms: number, fn: () => void): number;
  cancel(token: number | undefined): void;
  fire(token: number): void;
  cancelAll(): void;
}

export function createTimers(clock: Clock, self: AnyActorRef): SupervisorTimers {
  const pending = new Map<number, { handle: unknown; fn: () => void }>();
  let last = 0;
  return {
    schedule(ms, fn) {
      const token = ++last;
      const handle = clock.setTimeout(() => self.send({ type: "supervisor.timer", token }), ms);
      pending.set(token, { handle, fn });
      return token;
    },
    cancel(token) {
      const timer = token === undefined ? undefined : pending.get(token);
      if (timer === undefined || token === undefined) return;
      clock.clearTimeout(timer.handle);
      pending.delete(token);
    },
    fire(token) {
      const timer = pending.get(token);
      if (timer === undefined) return;
      pending.delete(token);
      timer.fn();
    },
    cancelAll() {
      for (const { handle } of pending.values()) clock.clearTimeout(handle);
      pending.clear();
    },
  };
}
