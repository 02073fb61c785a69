import type { Clock } from "../otp/clock.js";
import { canonicalBare } from "../protocol/jid.js";
import type { Notification } from "../protocol/notification.js";
import type { NotificationRecord } from "../store/write-behind.js";
import type { Counters } from "../telemetry/counters.js";
import type { Logger } from "../telemetry/log.js";

/**
 * Opt-in end-to-end acknowledgement (XEP-0184, `notify.receipt_timeout`):
 * notifications the server took but the server user has not yet confirmed.
 *
 * A message the XMPP server accepted can still be lost without a bounce: the
 * server crashes, or shuts down with it queued. So a sent notification is
 * kept here, by message id, until its receipt comes back from the server
 * user it was sent to. Without one within `timeoutMs`, or when the link drops
 * first, it is handed back with `resend` (the outbox holds it, in order,
 * ahead of anything newer for that server user). A resend keeps the trace:
 * delivery is at least once, and a consumer recognises a duplicate by trace.
 *
 * At most `capacity` notifications wait at a time: past it, `full` tells the
 * notifier to pause, the way a TCP window does.
 */
interface Sent {
  readonly notifications: readonly Notification[];
  /** The server user's bare JID, canonical: only it may acknowledge. */
  readonly to: string;
  readonly sentAt: number;
}

export class AwaitingReceipts {
  private readonly byId = new Map<string, Sent>();
  private readonly listeners = new Set<() => void>();
  private total = 0;
  private timer: unknown;

  constructor(
    private readonly deps: {
      clock: Clock;
      timeoutMs: number;
      capacity: number;
      /** Sent again later: the link dropped, or no receipt came in time. */
      resend: (notifications: readonly Notification[]) => void;
      counters: Counters;
      logger: Logger;
      /** Durable mode: kept across a crash. */
      table?: NotificationRecord;
    },
  ) {}

  /** Notifications awaiting a receipt. */
  get size(): number {
    return this.total;
  }

  get full(): boolean {
    return this.total >= this.deps.capacity;
  }

  /** `notifications` went out as message `id`: keep them until it is acknowledged. */
  add(id: string, notifications: readonly Notification[]): void {
    const first = notifications[0];
    if (first === undefined) return;
    for (const n of notifications) this.deps.table?.add(n);
    const to = canonicalBare(first.to) ?? first.to;
    this.byId.set(id, { notifications, to, sentAt: this.deps.clock.now() });
    this.total += notifications.length;
    this.schedule();
  }

  /**
   * A receipt for message `id` from `from` (a bare or full JID). Only the
   * server user the message went to can acknowledge it: a receipt from anyone
   * else is ignored and counted. Compared in canonical form (src/protocol/jid.ts):
   * the server may spell its user otherwise than the configuration did.
   * Returns whether it acknowledged anything.
   */
  acknowledge(id: string, from: string): boolean {
    const sent = this.byId.get(id);
    if (sent === undefined || canonicalBare(from) !== sent.to) {
      this.deps.counters.inc("receipts_unmatched");
      return false;
    }
    this.remove(id, sent);
    this.deps.counters.inc("notifications_acknowledged", sent.notifications.length);
    for (const listener of this.listeners) listener();
    return true;
  }

  /** The server bounced message `id`: the bounce handling owns it now. */
  forget(id: string): void {
    const sent = this.byId.get(id);
    if (sent !== undefined) this.remove(id, sent);
  }

  /** The link dropped: whatever was not acknowledged may be lost; send it again. */
  linkLost(): void {
    const all = [...this.byId.entries()];
    if (all.length === 0) return;
    this.deps.logger.warn(
      { notifications: this.total },
      "connection lost with notifications awaiting a receipt: sending them again",
    );
    for (const [id, sent] of all) this.giveBack(id, sent, "notifications_resent_link_lost");
  }

  /** Calls `listener` after every receipt (room in the window, or the drain may be done). */
  onAcknowledge(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops the timer (the daemon is stopping); what waits stays countable. */
  close(): void {
    if (this.timer !== undefined) this.deps.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private expire(): void {
    this.timer = undefined;
    const now = this.deps.clock.now();
    const due = [...this.byId.entries()].filter(
      ([, sent]) => now - sent.sentAt >= this.deps.timeoutMs,
    );
    if (due.length > 0) {
      this.deps.logger.warn(
        { messages: due.length, timeoutMs: this.deps.timeoutMs },
        "no receipt within notify.receipt_timeout: sending again",
      );
    }
    for (const [id, sent] of due) this.giveBack(id, sent, "notifications_resent_no_receipt");
    this.schedule();
  }

  // One timer, for the oldest message: the map keeps send order.
  private schedule(): void {
    if (this.timer !== undefined) return;
    const oldest = this.byId.values().next().value;
    if (oldest === undefined) return;
    const wait = Math.max(0, oldest.sentAt + this.deps.timeoutMs - this.deps.clock.now());
    this.timer = this.deps.clock.setTimeout(() => this.expire(), wait);
  }

  private giveBack(id: string, sent: Sent, counter: string): void {
    this.byId.delete(id);
    this.total -= sent.notifications.length;
    this.deps.counters.inc(counter, sent.notifications.length);
    // Handed over before the rows go: a crash in between leaves a duplicate
    // (same trace), never a loss.
    this.deps.resend(sent.notifications);
    for (const n of sent.notifications) this.deps.table?.remove(n.trace);
  }

  private remove(id: string, sent: Sent): void {
    this.byId.delete(id);
    this.total -= sent.notifications.length;
    for (const n of sent.notifications) this.deps.table?.remove(n.trace);
  }
}
