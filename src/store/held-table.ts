import type Database from "better-sqlite3";
import type { Notification, PresenceValue } from "../protocol/notification.js";

interface Row {
  trace: string;
  user: string;
  presence: PresenceValue;
  to_jid: string;
  user_bare: string;
  queued_at: number;
  session_seq: number | null;
}

/**
 * Notifications the server bounced (their server user was offline), kept on
 * disk in durable mode until they are sent again, so a crash loses them no
 * more than it loses the outbox. Loaded in the order they were held.
 */
export class HeldTable {
  private readonly insertRow: Database.Statement;
  private readonly deleteRow: Database.Statement<[string]>;
  private readonly selectAll: Database.Statement<[], Row>;

  constructor(db: Database.Database) {
    this.insertRow = db.prepare(
      "INSERT OR REPLACE INTO held (trace, user, presence, to_jid, user_bare, queued_at, session_seq) VALUES (?, ?, ?, ?, ?, ?, ?)",
    );
    this.deleteRow = db.prepare<[string]>("DELETE FROM held WHERE trace = ?");
    this.selectAll = db.prepare<[], Row>("SELECT * FROM held ORDER BY rowid");
  }

  add(n: Notification): void {
    this.insertRow.run(n.trace, n.user, n.presence, n.to, n.userBare, n.queuedAt, n.seq ?? null);
  }

  remove(trace: string): void {
    this.deleteRow.run(trace);
  }

  load(): Notification[] {
    return this.selectAll.all().map((row) => ({
      trace: row.trace,
      user: row.user,
      presence: row.presence,
      to: row.to_jid,
      userBare: row.user_bare,
      queuedAt: row.queued_at,
      ...(row.session_seq === null ? {} : { seq: row.session_seq }),
    }));
  }
}
