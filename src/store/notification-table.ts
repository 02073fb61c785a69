import type Database from "better-sqlite3";
import type { Notification } from "../protocol/notification.js";
import {
  NOTIFICATION_COLUMNS,
  NOTIFICATION_VALUES,
  type NotificationRow,
  rowValues,
  toNotification,
} from "./notification-row.js";

/**
 * A set of notifications kept on disk by trace, loaded in the order they were
 * added, so a crash loses them no more than it loses the outbox:
 * - `held`: notifications the server bounced (their server user was
 *   offline), until they are sent again;
 * - `unacked`: notifications sent but not yet acknowledged by a XEP-0184
 *   receipt (`notify.receipt_timeout`), sent again after a restart.
 */
export type NotificationTableName = "held" | "unacked";

export class NotificationTable {
  private readonly insertRow: Database.Statement;
  private readonly deleteRow: Database.Statement<[string]>;
  private readonly selectAll: Database.Statement<[], NotificationRow>;

  constructor(db: Database.Database, name: NotificationTableName) {
    this.insertRow = db.prepare(
      `INSERT OR REPLACE INTO ${name} (${NOTIFICATION_COLUMNS}) VALUES (${NOTIFICATION_VALUES})`,
    );
    this.deleteRow = db.prepare<[string]>(`DELETE FROM ${name} WHERE trace = ?`);
    this.selectAll = db.prepare<[], NotificationRow>(`SELECT * FROM ${name} ORDER BY rowid`);
  }

  add(n: Notification): void {
    this.insertRow.run(...rowValues(n));
  }

  remove(trace: string): void {
    this.deleteRow.run(trace);
  }

  load(): Notification[] {
    return this.selectAll.all().map(toNotification);
  }
}
