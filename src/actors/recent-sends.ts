import type { Notification } from "../protocol/notification.js";

/**
 * The last notifications handed to the server, by trace id, so that a bounce
 * (which carries only the message id) can be logged with its full context.
 * Bounded: the oldest entry goes when a new one would pass the limit.
 */
export class RecentSends {
  private readonly byTrace = new Map<string, Notification>();

  constructor(readonly limit = 10_000) {}

  add(n: Notification): void {
    this.byTrace.set(n.trace, n);
    if (this.byTrace.size > this.limit) {
      const oldest = this.byTrace.keys().next().value;
      if (oldest !== undefined) this.byTrace.delete(oldest);
    }
  }

  /** The notification a bounce refers to (`id` == trace), once. */
  take(id: string | undefined): Notification | undefined {
    if (id === undefined) return undefined;
    const n = this.byTrace.get(id) ?? this.byTrace.get(id.replace(/^fwd-/, ""));
    if (n) this.byTrace.delete(n.trace);
    return n;
  }
}
