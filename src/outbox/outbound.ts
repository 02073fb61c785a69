import type { Notification, PresenceValue } from "../protocol/notification.js";
import type { FlapDamper } from "./flap-damper.js";
import type { UserRateLimiter } from "./user-rate.js";

/** One notifying transition of a session, on its way to the mailbox. */
export interface Transition {
  /** The session's full JID. */
  readonly full: string;
  /** Its user's bare JID. */
  readonly bare: string;
  /** What the session became (durable mode: its row in the sessions table). */
  readonly presence: PresenceValue;
  /**
   * What the server user is told of it; undefined when a stage decided it
   * hears nothing of this change (`notify.level = "user"`: a resource that
   * is neither the user's first nor its last). The change is still the
   * session's: durable mode commits it to the sessions table all the same.
   */
  readonly notification: Notification | undefined;
  /** What the session machine says caused it ("presence", "liveness", ...), for the log. */
  readonly cause: string;
}

/**
 * A stage between a session's machine and the mailbox: it passes a
 * transition on (`next`, now or later), or another in its place
 * (`next(other)`: the same session's change, told differently), or drops
 * it, e.g. together with its reversal. A stage that is off calls `next` at
 * once.
 */
export interface OutboundStage {
  offer(t: Transition, next: (instead?: Transition) => void): void;
  /** Passes on everything it still holds back (the daemon is stopping). */
  flush(): void;
}

/**
 * The way out of intake: the stages a transition passes, in order, then
 * the terminal that puts its notification in the mailbox (memory mode) or
 * commits it with its session's change (durable mode). The router hands
 * every notifying transition here and knows nothing of what follows.
 */
export class Outbound {
  constructor(
    private readonly stages: readonly OutboundStage[],
    private readonly terminal: (t: Transition) => void,
  ) {}

  offer(t: Transition): void {
    this.from(0, t);
  }

  /** Flushes the stages first to last, so what one lets go the next one flushes too. */
  flush(): void {
    for (const stage of this.stages) stage.flush();
  }

  private from(index: number, t: Transition): void {
    const stage = this.stages[index];
    if (stage === undefined) this.terminal(t);
    else stage.offer(t, (instead = t) => this.from(index + 1, instead));
  }
}

/** `notify.flap_window`, as a stage: per session (full JID). */
export function flapDamping(damper: FlapDamper): OutboundStage {
  return {
    offer: (t, next) => damper.offer(t.full, next),
    flush: () => damper.flush(),
  };
}

/** `notify.user_rate`, as a stage: per user (bare JID), each session's order kept. */
export function perUserRate(limiter: UserRateLimiter): OutboundStage {
  return {
    offer: (t, next) => limiter.offer(t.bare, t.full, next),
    flush: () => limiter.flush(),
  };
}
