import type { Logger } from "pino";
import { backoffDelay } from "./backoff.js";
import type { Clock } from "./clock.js";
import { describeReason } from "./supervisor-reports.js";

/** How a failed timer callback is run again: 1 s, doubling, at most 30 s apart. */
const RETRY = { initial: 1_000, max: 30_000, factor: 2, jitter: 0 };

/**
 * The owner of every timer the service's mechanisms arm (liveness, resync,
 * held mail, receipts, send rate, per-user rate, flap damping).
 *
 * Those mechanisms are not processes in the supervision tree (they are
 * data with one owner, ARCHITECTURE.md), so a throw out of one of their
 * timer callbacks would reach the event loop: an uncaught exception, the
 * daemon gone; or it would end the mechanism for good (liveness arms its
 * next tick at the end of the one that threw). Each mechanism gets a clock
 * from `TimerGuard.clock(name)` instead. A callback that throws, or whose
 * promise rejects, is reported like a supervised crash (fixed keys:
 * supervisor "timers", child = the mechanism, reason, restarts = its
 * failures so far; counted as `timer_failures`; logged 1st, 2nd, 4th...
 * time per mechanism) and run again after a backoff, as a supervisor
 * restarts a child, until it completes or its timer is cleared. So a
 * callback must be safe to run again: each of the mechanisms' is (it reads
 * its state afresh when it runs).
 */
export class TimerGuard {
  private readonly failures = new Map<string, number>();

  constructor(
    private readonly deps: {
      clock: Clock;
      /** Where `timer_failures` is counted (the daemon's Counters). */
      counters: { inc(name: string): void };
      logger: Logger;
      /**
       * Fault injection for tests (never set by the configuration or the
       * CLI): called with the mechanism's name before each of its timer
       * callbacks runs; a throw stands for a bug in that mechanism.
       */
      fault?: (mechanism: string) => void;
    },
  ) {}

  /** A clock whose timers belong to `mechanism`: guarded, and run again after a failure. */
  clock(mechanism: string): Clock {
    const { clock } = this.deps;
    return {
      now: () => clock.now(),
      setTimeout: (fn, ms) => {
        const timer: GuardedTimer = { handle: undefined, cleared: false };
        const attempt = (tries: number) => {
          timer.handle = clock.setTimeout(
            () => {
              timer.handle = undefined;
              this.run(mechanism, fn, () => {
                if (!timer.cleared) attempt(tries + 1);
              });
            },
            tries === 0 ? ms : backoffDelay(tries, RETRY, Math.random),
          );
        };
        attempt(0);
        return timer;
      },
      clearTimeout: (timer: GuardedTimer | undefined) => {
        if (timer === undefined) return;
        timer.cleared = true;
        if (timer.handle !== undefined) clock.clearTimeout(timer.handle);
        timer.handle = undefined;
      },
    };
  }

  /** Failures so far of one mechanism's timer callbacks. */
  failuresOf(mechanism: string): number {
    return this.failures.get(mechanism) ?? 0;
  }

  private run(mechanism: string, fn: () => unknown, again: () => void): void {
    try {
      this.deps.fault?.(mechanism);
      const result = fn();
      if (result instanceof Promise) {
        result.catch((err: unknown) => this.failed(mechanism, err, again));
      }
    } catch (err) {
      this.failed(mechanism, err, again);
    }
  }

  private failed(mechanism: string, reason: unknown, again: () => void): void {
    const restarts = (this.failures.get(mechanism) ?? 0) + 1;
    this.failures.set(mechanism, restarts);
    this.deps.counters.inc("timer_failures");
    // The 1st, 2nd, 4th, 8th... failure of a mechanism is logged (a power of two).
    if ((restarts & (restarts - 1)) === 0) {
      this.deps.logger.error(
        { supervisor: "timers", child: mechanism, reason: describeReason(reason), restarts },
        "timer callback crashed; it runs again after a backoff",
      );
    }
    again();
  }
}

interface GuardedTimer {
  handle: unknown;
  cleared: boolean;
}
