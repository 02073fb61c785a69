import type Database from "better-sqlite3";
import type { Notification } from "../protocol/notification.js";
import {
  NOTIFICATION_COLUMNS,
  NOTIFICATION_VALUES,
  type NotificationRow,
  rowValues,
  toNotification,
} from "./notification-row.js";

/** A notification the notifier set aside: its stanza could not be built, time after time. */
export interface DeadLetter {
  readonly notification: Notification;
  /** The last error, as its message. */
  readonly reason: string;
  readonly failures: number;
  /** When it was set aside (ms on the daemon's clock). */
  readonly at: number;
}

type Row = NotificationRow & { reason: string; failures: number; set_aside_at: number };

/**
 * The `dead_letters` table (schema version 3): set-aside notifications,
 * kept for an operator to look at (`/status`, or the file with the daemon
 * stopped). Nothing resends them: they failed every time they were tried.
 */
export class DeadLetterTable {
  private readonly insertRow: Database.Statement;
  private readonly selectAll: Database.Statement<[], Row>;

  constructor(db: Database.Database) {
    this.insertRow = db.prepare(
      `INSERT OR REPLACE INTO dead_letters (${NOTIFICATION_COLUMNS}, reason, failures, set_aside_at)
       VALUES (${NOTIFICATION_VALUES}, ?, ?, ?)`,
    );
    this.selectAll = db.prepare<[], Row>("SELECT * FROM dead_letters ORDER BY rowid");
  }

  add(letter: DeadLetter): void {
    this.insertRow.run(
      ...rowValues(letter.notification),
      letter.reason,
      letter.failures,
      letter.at,
    );
  }

  load(): DeadLetter[] {
    return this.selectAll.all().map((row) => ({
      notification: toNotification(row),
      reason: row.reason,
      failures: row.failures,
      at: row.set_aside_at,
    }));
  }
}
