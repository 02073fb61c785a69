import type { NotificationQueue } from "../store/notification-queue.js";

/**
 * The notifier's mailbox: a bounded FIFO that outlives the notifier actor.
 *
 * The daemon owns it and hands it to each incarnation of the notifier, so a
 * notifier crash and restart (or a connection outage) loses nothing that was
 * accepted. When full, new items are refused, never silently dropped: the
 * caller counts and logs the refusal (`presence_notify_error`).
 */
export class Mailbox<T> implements NotificationQueue<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  private readonly listeners = new Set<() => void>();

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`mailbox capacity must be a positive integer, got ${capacity}`);
    }
  }

  get size(): number {
    return this.items.length - this.head;
  }

  /** Appends, or returns false when the mailbox is full. */
  offer(item: T): boolean {
    if (this.size >= this.capacity) return false;
    this.items.push(item);
    for (const listener of this.listeners) listener();
    return true;
  }

  peek(): T | undefined {
    return this.size > 0 ? this.items[this.head] : undefined;
  }

  peekMany(max: number): T[] {
    return this.items.slice(this.head, this.head + Math.max(0, max)) as T[];
  }

  /** Removes the head, once it has been delivered. */
  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head++;
    // Compact once the dead prefix dominates, keeping shift amortised O(1).
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Calls `listener` after every accepted offer; returns the unsubscribe. */
  onOffer(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
