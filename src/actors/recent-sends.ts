import type { Notification } from "../protocol/notification.js";

/**
 * The last notifications handed to the server, by trace id, so that a bounce
 * (which carries only the message id) can be logged with its full context.
 * Bounded: the oldest entry goes when a new one would pass the limit.
 */
export class RecentSends {
  private readonly byId = new Map<string, readonly Notification[]>();

  constructor(readonly limit = 10_000) {}

  /** Remembers what went out under message id `id` (a trace, or a batch's trace). */
  add(id: string, sent: readonly Notification[]): void {
    this.byId.set(id, sent);
    if (this.byId.size > this.limit) {
      const oldest = this.byId.keys().next().value;
      if (oldest !== undefined) this.byId.delete(oldest);
    }
  }

  /** The notifications a bounce refers to (by message id), once; empty if unknown. */
  take(id: string | undefined): readonly Notification[] {
    if (id === undefined) return [];
    const key = this.byId.has(id) ? id : id.replace(/^fwd-/, "");
    const sent = this.byId.get(key) ?? [];
    this.byId.delete(key);
    return sent;
  }
}
