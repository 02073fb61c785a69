import type { Database, Statement } from "./database.js";

/**
 * The last position given to a notification (`notify.snapshot`, args.pos),
 * on disk in one row, so positions go on increasing across restarts.
 *
 * Written inside the transaction that queues the notification
 * (src/outbox/enqueue.ts), so a position on disk was never handed to a
 * notification a rollback took back, and every position a consumer saw is
 * at most the stored one. No row: the file never queued a positioned
 * notification (new, or written with the snapshot off), so nothing the
 * consumer holds can be vouched for.
 */
export class PositionTable {
  private readonly upsert: Statement<[number]>;
  private readonly selectOne: Statement<[], { pos: number }>;

  constructor(db: Database) {
    this.upsert = db.prepare<[number]>(
      `INSERT INTO position (id, pos) VALUES (1, ?)
       ON CONFLICT (id) DO UPDATE SET pos = max(pos, excluded.pos)`,
    );
    this.selectOne = db.prepare<[], { pos: number }>("SELECT pos FROM position WHERE id = 1");
  }

  /** The last position stored, or undefined. */
  load(): number | undefined {
    return this.selectOne.get()?.pos;
  }

  /** Records `pos` as the last given (never lowers it). */
  save(pos: number): void {
    this.upsert.run(pos);
  }
}
