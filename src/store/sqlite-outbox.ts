import type Database from "better-sqlite3";
import type { Notification } from "../protocol/notification.js";
import type { NotificationQueue } from "./notification-queue.js";
import {
  NOTIFICATION_COLUMNS,
  NOTIFICATION_VALUES,
  type NotificationRow,
  rowValues,
  toNotification,
} from "./notification-row.js";
import type { SequenceTable } from "./sequence-table.js";

type Row = NotificationRow & { seq: number };

/**
 * The notifier's queue on disk: one `outbox` row per accepted notification,
 * in `seq` order. Same contract as `Mailbox<Notification>`, so the notifier
 * peeks, sends and shifts either one unchanged.
 *
 * Rows left by a previous run are the queue: after a crash, everything
 * accepted is delivered at least once. A notification sent just before the
 * crash but not yet shifted is sent again, with the same `trace`, which is
 * how a consumer recognises the duplicate.
 *
 * `size` and the head are cached in memory, so `peek` and `size` cost no I/O.
 * That is sound because the store holds the file's lock exclusively (one
 * writer: this process), and because `DurableStore.transaction` re-reads them
 * after a rollback.
 *
 * Unlike `Mailbox.offer`, `offer` can throw: on an I/O error (disk full) the
 * notification is not accepted, and the caller (src/outbox/durable-commits.ts)
 * keeps it. It still returns false, never throws, for "full".
 *
 * `shift` never throws for a delete the file refuses (a full disk refuses a
 * DELETE too): the row is delivered, so it leaves the queue in memory (rows
 * up to `delivered` are skipped by every read) and is deleted with the next
 * delete that succeeds. A crash before that sends it once more, same trace.
 */
export class SqliteOutbox implements NotificationQueue<Notification> {
  private count = 0;
  /** The highest seq delivered: rows up to it are gone from the queue, deleted or not yet. */
  private delivered = 0;
  private head: { seq: number; n: Notification } | undefined;
  private readonly listeners = new Set<() => void>();
  private wakeAfterCommit = false;
  private readonly insertRow: Database.Statement;
  private readonly selectHead: Database.Statement<[number], Row>;
  private readonly deleteRow: Database.Statement;
  private readonly selectFirst: Database.Statement<[number, number], Row>;
  private readonly countRows: Database.Statement<[number], { n: number }>;

  private readonly insert: (n: Notification) => number;

  constructor(
    private readonly db: Database.Database,
    readonly capacity: number,
    sequences?: SequenceTable,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`outbox capacity must be a positive integer, got ${capacity}`);
    }
    this.insertRow = db.prepare(
      `INSERT INTO outbox (${NOTIFICATION_COLUMNS}) VALUES (${NOTIFICATION_VALUES})`,
    );
    this.selectHead = db.prepare<[number], Row>(
      "SELECT * FROM outbox WHERE seq > ? ORDER BY seq LIMIT 1",
    );
    this.selectFirst = db.prepare<[number, number], Row>(
      "SELECT * FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
    );
    this.deleteRow = db.prepare("DELETE FROM outbox WHERE seq <= ?");
    this.countRows = db.prepare<[number], { n: number }>(
      "SELECT count(*) AS n FROM outbox WHERE seq > ?",
    );
    // A numbered notification and its session's number commit together.
    this.insert = db.transaction((n: Notification) => {
      const info = this.insertRow.run(...rowValues(n));
      if (n.seq !== undefined) sequences?.record(n.user, n.seq);
      return Number(info.lastInsertRowid);
    });
    this.reload();
  }

  get size(): number {
    return this.count;
  }

  /** Deletes the file refused since the start (each row is deleted by a later one). */
  undeleted = 0;

  /**
   * Inserts, or returns false when full. Inside `DurableStore.transaction`
   * the listeners are called after the commit, so the notifier never peeks
   * a row that a rollback could take back.
   */
  offer(n: Notification): boolean {
    if (this.count >= this.capacity) return false;
    const seq = this.insert(n);
    this.count++;
    if (this.head === undefined) this.head = { seq, n };
    if (this.db.inTransaction) this.wakeAfterCommit = true;
    else this.wake();
    return true;
  }

  peek(): Notification | undefined {
    return this.head?.n;
  }

  peekMany(max: number): Notification[] {
    if (max <= 1 || this.count <= 1) return this.head && max >= 1 ? [this.head.n] : [];
    return this.selectFirst.all(this.delivered, max).map((row) => toNotification(row));
  }

  /** Deletes the head, once it has been delivered. */
  shift(): Notification | undefined {
    const head = this.head;
    if (head === undefined) return undefined;
    if (this.db.inTransaction) {
      // Taken back with the rest if the transaction rolls back.
      this.deleteRow.run(head.seq);
    } else {
      this.delivered = head.seq;
      try {
        this.deleteRow.run(head.seq);
      } catch {
        // Left on disk, skipped by every read; the next delete that succeeds takes it.
        this.undeleted++;
      }
    }
    this.count--;
    this.head = this.count > 0 ? this.readHead() : undefined;
    return head.n;
  }

  onOffer(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** @internal Called by `DurableStore.transaction` after its function returned. */
  afterCommit(): void {
    if (this.db.inTransaction || !this.wakeAfterCommit) return;
    this.wakeAfterCommit = false;
    this.wake();
  }

  /** @internal Called by `DurableStore.transaction` when its function threw. */
  afterRollback(): void {
    this.reload();
    if (!this.db.inTransaction) this.wakeAfterCommit = false;
  }

  private reload(): void {
    this.count = this.countRows.get(this.delivered)?.n ?? 0;
    this.head = this.count > 0 ? this.readHead() : undefined;
  }

  private readHead(): { seq: number; n: Notification } | undefined {
    const row = this.selectHead.get(this.delivered);
    return row === undefined ? undefined : { seq: row.seq, n: toNotification(row) };
  }

  private wake(): void {
    for (const listener of this.listeners) listener();
  }
}
