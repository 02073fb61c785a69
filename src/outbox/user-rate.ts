import { LruMap } from "../collections/lru-map.js";
import { type Bucket, fullBucket, refill, take } from "../collections/token-bucket.js";
import type { Clock } from "../otp/clock.js";
import type { Counters } from "../telemetry/counters.js";

/**
 * Opt-in per-user rate limit (`notify.user_rate`): each user (bare JID) may
 * cause at most `perSecond` notifications a second (a token bucket, burst of
 * one second's worth). Over it, a notification waits for its user's next
 * token, behind that user's earlier ones, so each session's order holds. A
 * session that flips back while its notification waits cancels both, as
 * flap damping does: what finally goes out is always the session's real
 * state. Other users are not held up. A rate of 0 is no limit
 * (`setRate`, on reload).
 */
export class UserRateLimiter {
  private readonly buckets: LruMap<string, Bucket>;
  private readonly pending = new Map<string, { user: string; commit: () => void }>();
  private readonly waitingByUser = new Map<string, number>();
  private readonly timers = new Map<string, unknown>();
  private burst: number;

  constructor(
    private readonly clock: Clock,
    private perSecond: number,
    private readonly counters: Counters,
    /** Buckets remembered at most (least recently used forgotten first). */
    maxUsers = 100_000,
  ) {
    this.burst = Math.max(1, perSecond);
    // A user with notifications waiting keeps its bucket.
    this.buckets = new LruMap(maxUsers, (user) => !this.waitingByUser.has(user));
  }

  /**
   * A new limit (a reload). Buckets restart full at the new burst; waiting
   * notifications are released at the new pace, or all at once when the
   * limit is turned off (0).
   */
  setRate(perSecond: number): void {
    if (perSecond === this.perSecond) return;
    this.perSecond = perSecond;
    this.burst = Math.max(1, perSecond);
    this.buckets.clear();
    if (perSecond <= 0) {
      this.flush();
      return;
    }
    const users = new Set(this.waitingByUser.keys());
    for (const timer of this.timers.values()) this.clock.clearTimeout(timer);
    this.timers.clear();
    for (const user of users) this.release(user);
  }

  get waiting(): number {
    return this.pending.size;
  }

  /** Runs `commit` now if `user` has a token and nothing waiting, else later. */
  offer(user: string, fullJid: string, commit: () => void): void {
    if (this.perSecond <= 0) {
      commit();
      return;
    }
    if (this.pending.has(fullJid)) {
      // The session flipped back while its notification waited: neither goes out.
      this.pending.delete(fullJid);
      this.count(user, -1);
      this.counters.inc("notifications_damped", 2);
      return;
    }
    if (!this.waitingByUser.has(user) && this.tryTake(user)) {
      commit();
      return;
    }
    this.pending.set(fullJid, { user, commit });
    this.count(user, +1);
    this.counters.inc("notifications_rate_limited");
    this.schedule(user);
  }

  /** Sends everything still waiting (the daemon is stopping). */
  flush(): void {
    for (const timer of this.timers.values()) this.clock.clearTimeout(timer);
    this.timers.clear();
    const waiting = [...this.pending.values()];
    this.pending.clear();
    this.waitingByUser.clear();
    for (const { commit } of waiting) commit();
  }

  private release(user: string): void {
    this.timers.delete(user);
    for (const [jid, entry] of this.pending) {
      if (entry.user !== user) continue;
      if (!this.tryTake(user)) break;
      // Committed before it stops waiting: one that throws is still there
      // when the guarded timer runs this again (src/otp/timer-guard.ts).
      entry.commit();
      this.pending.delete(jid);
      this.count(user, -1);
    }
    if (this.waitingByUser.has(user)) this.schedule(user);
  }

  private schedule(user: string): void {
    if (this.timers.has(user)) return;
    const bucket = this.bucketOf(user);
    const waitMs = Math.max(1, Math.ceil(((1 - bucket.tokens) * 1000) / this.perSecond));
    this.timers.set(
      user,
      this.clock.setTimeout(() => this.release(user), waitMs),
    );
  }

  private tryTake(user: string): boolean {
    const next = take(this.bucketOf(user));
    if (next === undefined) return false;
    this.buckets.set(user, next);
    return true;
  }

  /** The user's bucket refilled to now, most recently used last. */
  private bucketOf(user: string): Bucket {
    const now = this.clock.now();
    const stored = this.buckets.get(user) ?? fullBucket(this.burst, now);
    const bucket = refill(stored, now, this.perSecond, this.burst);
    this.buckets.set(user, bucket);
    return bucket;
  }

  private count(user: string, delta: number): void {
    const next = (this.waitingByUser.get(user) ?? 0) + delta;
    if (next > 0) this.waitingByUser.set(user, next);
    else this.waitingByUser.delete(user);
  }
}
