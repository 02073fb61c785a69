import type { Clock } from "../otp/clock.js";

/**
 * How a live `deliver` invocation of the notifier (src/actors/notifier.ts)
 * waits for more mail: `more()` resolves true at the next `wake()`, false
 * once a whole `lingerMs` passed with no wake at all (or at once with
 * `lingerMs` 0, or when `signal` aborts). One timer per `lingerMs`, re-armed
 * only while wakes keep coming, instead of one per wait: at a steady rate a
 * wait lasts a socket read's gap, far below the linger.
 */
export class Linger {
  /** A wake came since the delivery loop last cleared it (its step's "wait" checks it). */
  woken = false;
  private resolve: ((more: boolean) => void) | undefined;
  // A wake since the timer last looked.
  private heard = false;
  private timer: unknown;
  private closed = false;
  private readonly closers: (() => void)[] = [];
  private readonly onAbort = () => this.close();

  constructor(
    private readonly clock: Pick<Clock, "setTimeout" | "clearTimeout">,
    private readonly lingerMs: number,
    private readonly signal: AbortSignal,
  ) {
    signal.addEventListener("abort", this.onAbort, { once: true });
  }

  /** New mail, released mail, the link back, a rate token or a receipt. */
  wake(): void {
    this.woken = true;
    this.heard = true;
    this.settle(true);
  }

  /** Waits for the next wake: false if none came for `lingerMs`. */
  more(): Promise<boolean> {
    if (this.closed || this.lingerMs <= 0) return Promise.resolve(false);
    if (this.timer === undefined) this.arm();
    return new Promise((resolve) => {
      this.resolve = resolve;
    });
  }

  /** Told once, when the loop ends or its invocation is stopped. */
  onClose(fn: () => void): void {
    if (this.closed) fn();
    else this.closers.push(fn);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.signal.removeEventListener("abort", this.onAbort);
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.settle(false);
    for (const fn of this.closers.splice(0)) fn();
  }

  private arm(): void {
    this.heard = false;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      // Waiting, and nothing for a whole period: the loop may end.
      if (this.resolve !== undefined && !this.heard) this.settle(false);
      else if (this.resolve !== undefined) this.arm();
    }, this.lingerMs);
  }

  private settle(more: boolean): void {
    const resolve = this.resolve;
    this.resolve = undefined;
    resolve?.(more);
  }
}
