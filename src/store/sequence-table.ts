import type { Database, Statement } from "./database.js";

/**
 * The last sequence number of each session (`notify.sequence = "session"`),
 * on disk, so a restart goes on counting instead of starting at 1 again.
 *
 * `SqliteOutbox.offer` writes a notification's number here in the same
 * transaction as the notification, so a number on disk was never handed to
 * a notification that a rollback took back, and every number a consumer saw
 * is at most the stored one. Bounded like the in-memory counters: beyond
 * `limit` sessions the least recently numbered are forgotten (their next
 * number starts at 1, which a consumer reads as a restart).
 */
export class SequenceTable {
  private readonly upsert: Statement<[string, number, number]>;
  private readonly selectOne: Statement<[string], { seq: number }>;
  private readonly prune: Statement<[number]>;
  private readonly maxTouched: Statement<[], { t: number | null }>;
  private touched: number;
  private writes = 0;

  constructor(
    db: Database,
    readonly limit = 100_000,
  ) {
    this.upsert = db.prepare<[string, number, number]>(
      `INSERT INTO session_seq (jid, seq, touched) VALUES (?, ?, ?)
       ON CONFLICT (jid) DO UPDATE SET seq = max(seq, excluded.seq), touched = excluded.touched`,
    );
    this.selectOne = db.prepare<[string], { seq: number }>(
      "SELECT seq FROM session_seq WHERE jid = ?",
    );
    this.prune = db.prepare<[number]>(
      `DELETE FROM session_seq WHERE touched <=
         (SELECT touched FROM session_seq ORDER BY touched DESC LIMIT 1 OFFSET ?)`,
    );
    this.maxTouched = db.prepare<[], { t: number | null }>(
      "SELECT max(touched) AS t FROM session_seq",
    );
    this.touched = this.maxTouched.get()?.t ?? 0;
    this.prune.run(this.limit);
  }

  /** The last number stored for `jid`, or undefined. */
  get(jid: string): number | undefined {
    return this.selectOne.get(jid)?.seq;
  }

  /** Records `seq` as `jid`'s latest (never lowers it). */
  record(jid: string, seq: number): void {
    this.upsert.run(jid, seq, ++this.touched);
    // Pruned now and then, not on every write: one DELETE per 1,000 numbers.
    if (++this.writes % 1_000 === 0) this.prune.run(this.limit);
  }
}
