import type { Notification } from "../protocol/notification.js";
import type { DeadLetter } from "../store/dead-letter-table.js";
import type { DeadLetterRecord } from "../store/write-behind.js";

/**
 * Notifications the notifier set aside because their stanza could not be
 * built `POISON_LIMIT` times in a row (a poison notification): without this,
 * one of them crashes every notifier restart until the root gives up and the
 * daemon exits, losing the whole memory-mode queue.
 *
 * Kept in memory (the latest `limit`) for `/status`, and in durable mode in
 * the state file's `dead_letters` table, loaded at start.
 */
export class DeadLetters {
  private readonly letters: DeadLetter[];

  constructor(
    private readonly table?: DeadLetterRecord,
    readonly limit = 100,
  ) {
    this.letters = (table?.load() ?? []).slice(-limit);
  }

  add(notification: Notification, reason: string, failures: number, at: number): void {
    const letter = { notification, reason, failures, at };
    this.table?.add(letter);
    this.letters.push(letter);
    if (this.letters.length > this.limit) this.letters.shift();
  }

  /** The latest set-aside notifications, oldest first. */
  list(): readonly DeadLetter[] {
    return this.letters;
  }
}

/** Consecutive failures to build the same head's stanza before it is set aside. */
export const POISON_LIMIT = 3;
