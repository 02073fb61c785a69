import type { Notification } from "../protocol/notification.js";

/**
 * What the notifier drains: a bounded FIFO it peeks, sends the head of, and
 * shifts only once the send was accepted. `Mailbox` (memory) and
 * `SqliteOutbox` (durable) both implement it, so the notifier runs unchanged
 * on either.
 */
export interface NotificationQueue<T = Notification> {
  readonly capacity: number;
  readonly size: number;
  /** Appends, or returns false when `size >= capacity`; never drops silently. */
  offer(item: T): boolean;
  /** The oldest item, left in place. */
  peek(): T | undefined;
  /** Up to `max` oldest items, oldest first, left in place. */
  peekMany(max: number): T[];
  /** Removes and returns the oldest item, once it has been delivered. */
  shift(): T | undefined;
  /** Calls `listener` after every accepted offer; returns the unsubscribe. */
  onOffer(listener: () => void): () => void;
}
