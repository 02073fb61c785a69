import type { Notification } from "../protocol/notification.js";

/**
 * The last notifications handed to the server, by trace id, so that a bounce
 * (which carries only the message id) can be logged with its full context.
 * Bounded: the last `limit` sends are kept (minus the ones a bounce took).
 *
 * The order of sends is a ring of ids beside the map, not the map's own
 * insertion order: evicting a Map's first key again and again leaves
 * deleted slots in front of it that `keys().next()` walks past until the
 * next rehash, which cost 19 % of the daemon's time under load
 * (bench/pipeline.ts profile).
 */
export class RecentSends {
  private readonly byId = new Map<string, { sent: readonly Notification[]; serial: number }>();
  private readonly ring: { id: string; serial: number }[] = [];
  private serial = 0;

  constructor(readonly limit = 10_000) {}

  /** Remembers what went out under message id `id` (a trace, or a batch's trace). */
  add(id: string, sent: readonly Notification[]): void {
    const serial = this.serial++;
    const slot = serial % this.limit;
    const evicted = this.ring[slot];
    // The same id sent again (a resend) is a later entry: the older slot no longer owns it.
    if (evicted && this.byId.get(evicted.id)?.serial === evicted.serial) {
      this.byId.delete(evicted.id);
    }
    this.ring[slot] = { id, serial };
    this.byId.set(id, { sent, serial });
  }

  /** The notifications a bounce refers to (by message id), once; empty if unknown. */
  take(id: string | undefined): readonly Notification[] {
    const key = this.keyOf(id);
    if (key === undefined) return [];
    const sent = this.byId.get(key)?.sent ?? [];
    this.byId.delete(key);
    return sent;
  }

  /** The same, kept: to see whom a bounce concerns before acting on it. */
  peek(id: string | undefined): readonly Notification[] {
    const key = this.keyOf(id);
    return key === undefined ? [] : (this.byId.get(key)?.sent ?? []);
  }

  private keyOf(id: string | undefined): string | undefined {
    if (id === undefined) return undefined;
    return this.byId.has(id) ? id : id.replace(/^fwd-/, "");
  }
}
