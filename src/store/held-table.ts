import type Database from "better-sqlite3";
import type { Notification } from "../protocol/notification.js";
import {
  NOTIFICATION_COLUMNS,
  type NotificationRow,
  rowValues,
  toNotification,
} from "./notification-row.js";

/**
 * Notifications the server bounced (their server user was offline), kept on
 * disk in durable mode until they are sent again, so a crash loses them no
 * more than it loses the outbox. Loaded in the order they were held.
 */
export class HeldTable {
  private readonly insertRow: Database.Statement;
  private readonly deleteRow: Database.Statement<[string]>;
  private readonly selectAll: Database.Statement<[], NotificationRow>;

  constructor(db: Database.Database) {
    this.insertRow = db.prepare(
      `INSERT OR REPLACE INTO held (${NOTIFICATION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    this.deleteRow = db.prepare<[string]>("DELETE FROM held WHERE trace = ?");
    this.selectAll = db.prepare<[], NotificationRow>("SELECT * FROM held ORDER BY rowid");
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
