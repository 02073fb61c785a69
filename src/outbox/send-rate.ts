import { type Bucket, fullBucket, refill, take } from "../collections/token-bucket.js";
import type { Clock } from "../otp/clock.js";

/**
 * A global cap on notifications sent per second (`notify.max_rate`), so a
 * presence storm cannot flood the server users' connections. Over the cap a
 * notification is not dropped: it waits in the queue, and `onReady`
 * listeners are called when the next token is due. A rate of 0 is no cap,
 * so a reload can turn the cap on and off (`setRate`).
 */
export class SendRate {
  private bucket: Bucket;
  private burst: number;
  private timer: unknown;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly clock: Clock,
    private perSecond: number,
  ) {
    this.burst = burstOf(perSecond);
    this.bucket = fullBucket(this.burst, clock.now());
  }

  /** Whether a cap is set (0: none; every `tryTake` succeeds). */
  get capped(): boolean {
    return this.perSecond > 0;
  }

  /**
   * A new cap (a reload). The bucket starts full at the new burst, and anyone
   * waiting for a token computed at the old rate is woken to ask again.
   */
  setRate(perSecond: number): void {
    if (perSecond === this.perSecond) return;
    this.perSecond = perSecond;
    this.burst = burstOf(perSecond);
    this.bucket = fullBucket(this.burst, this.clock.now());
    if (this.timer === undefined) return;
    this.close();
    for (const listener of this.listeners) listener();
  }

  /** Takes a token if one is there; otherwise arranges a wake-up and returns false. */
  tryTake(): boolean {
    if (this.perSecond <= 0) return true;
    const now = this.clock.now();
    this.bucket = refill(this.bucket, now, this.perSecond, this.burst);
    const next = take(this.bucket);
    if (next) {
      this.bucket = next;
      return true;
    }
    if (this.timer === undefined) {
      const waitMs = Math.ceil(((1 - this.bucket.tokens) * 1000) / this.perSecond);
      this.timer = this.clock.setTimeout(() => {
        this.timer = undefined;
        for (const listener of this.listeners) listener();
      }, waitMs);
    }
    return false;
  }

  onReady(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}

// At most a tenth of a second's worth at once: smooth, not bursty.
const burstOf = (perSecond: number) => Math.max(1, perSecond / 10);
