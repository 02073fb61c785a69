import type { Database, Statement } from "./database.js";

/**
 * The full JIDs of the sessions that were available, on disk, so a restarted
 * daemon knows whom it already announced. At startup they go into the
 * session registry as unconfirmed: the first resync confirms those still
 * online (no second `available`) and reports the others `unavailable`, which
 * covers sessions that ended while the daemon was down.
 *
 * Each write is its own transaction unless made inside
 * `DurableStore.transaction`, where it commits with the outbox insert of the
 * same presence.
 */
export class SessionTable {
  private readonly insertJid: Statement<[string]>;
  private readonly deleteJid: Statement<[string]>;
  private readonly selectAll: Statement<[], { jid: string }>;
  private readonly countAll: Statement<[], { n: number }>;

  constructor(db: Database) {
    this.insertJid = db.prepare<[string]>("INSERT OR IGNORE INTO sessions (jid) VALUES (?)");
    this.deleteJid = db.prepare<[string]>("DELETE FROM sessions WHERE jid = ?");
    this.selectAll = db.prepare<[], { jid: string }>("SELECT jid FROM sessions ORDER BY jid");
    this.countAll = db.prepare<[], { n: number }>("SELECT count(*) AS n FROM sessions");
  }

  /** Every stored full JID, sorted. */
  load(): string[] {
    return this.selectAll.all().map((row) => row.jid);
  }

  get size(): number {
    return this.countAll.get()?.n ?? 0;
  }

  /** Records a session as available; idempotent. */
  available(jid: string): void {
    this.insertJid.run(jid);
  }

  /** Forgets a session that went unavailable; idempotent. */
  gone(jid: string): void {
    this.deleteJid.run(jid);
  }
}
