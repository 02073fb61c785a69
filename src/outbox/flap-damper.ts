import type { Clock } from "../otp/clock.js";
import type { Counters } from "../telemetry/counters.js";

/**
 * Opt-in damping of presence flapping (`notify.flap_window`): a session's
 * notification waits `windowMs` before it is queued; if the session flips
 * back within that time, the waiting notification is cancelled and the flip
 * back is not sent either. The consumer never ends with a wrong state: a
 * session's notifications alternate (available, unavailable, ...), so
 * cancelling a waiting one together with its reversal leaves exactly the
 * state the consumer already has, and the last change of a storm always
 * goes out once the session has been quiet for the window. A window of 0
 * is off: notifications pass straight through (`setWindow`, on reload).
 */
export class FlapDamper {
  private readonly pending = new Map<string, { timer: unknown; commit: () => void }>();

  constructor(
    private readonly clock: Clock,
    private windowMs: number,
    private readonly counters: Counters,
  ) {}

  /**
   * A new window (a reload). Notifications already waiting keep the time
   * they were given; 0 turns damping off and queues what waits, so nothing
   * is held by a damper that no longer exists.
   */
  setWindow(windowMs: number): void {
    this.windowMs = windowMs;
    if (windowMs <= 0) this.flush();
  }

  get waiting(): number {
    return this.pending.size;
  }

  /** Runs `commit` (queue the notification) after the window, unless `fullJid` flips back first. */
  offer(fullJid: string, commit: () => void): void {
    if (this.windowMs <= 0) {
      commit();
      return;
    }
    const waiting = this.pending.get(fullJid);
    if (waiting) {
      this.clock.clearTimeout(waiting.timer);
      this.pending.delete(fullJid);
      this.counters.inc("notifications_damped", 2);
      return;
    }
    // Committed before it stops waiting: a commit that throws (its timer is
    // run again, src/otp/timer-guard.ts) still waits, so a flip back
    // meanwhile cancels both, as it would have within the window.
    const timer = this.clock.setTimeout(() => {
      commit();
      this.pending.delete(fullJid);
    }, this.windowMs);
    this.pending.set(fullJid, { timer, commit });
  }

  /** Queues everything still waiting (the daemon is stopping). */
  flush(): void {
    for (const [jid, { timer, commit }] of this.pending) {
      this.clock.clearTimeout(timer);
      this.pending.delete(jid);
      commit();
    }
  }
}
