import type { Clock } from "../clock.js";
import { type Bucket, fullBucket, refill, take } from "./token-bucket.js";

/**
 * A global cap on notifications sent per second (`notify.max_rate`), so a
 * presence storm cannot flood the server users' connections. Over the cap a
 * notification is not dropped: it waits in the queue, and `onReady`
 * listeners are called when the next token is due.
 */
export class SendRate {
  private bucket: Bucket;
  private readonly burst: number;
  private timer: unknown;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly clock: Clock,
    private readonly perSecond: number,
  ) {
    // At most a tenth of a second's worth at once: smooth, not bursty.
    this.burst = Math.max(1, perSecond / 10);
    this.bucket = fullBucket(this.burst, clock.now());
  }

  /** Takes a token if one is there; otherwise arranges a wake-up and returns false. */
  tryTake(): boolean {
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
