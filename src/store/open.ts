import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { Database } from "./database.js";
import { DeadLetterTable } from "./dead-letter-table.js";
import { StoreError, sqliteCode } from "./errors.js";
import { nodeSqlite } from "./node-sqlite.js";
import { NotificationTable } from "./notification-table.js";
import { PositionTable } from "./position-table.js";
import { primaryCodeName } from "./result-codes.js";
import { migrate } from "./schema.js";
import { SequenceTable } from "./sequence-table.js";
import { SessionTable } from "./session-table.js";
import { SqliteOutbox } from "./sqlite-outbox.js";

export interface StoreOptions {
  /** The outbox's bound, as `mailbox.capacity` for the in-memory queue. */
  outboxCapacity?: number;
  /** How long to wait for a previous daemon to let go of the file; default 2000 ms. */
  lockTimeoutMs?: number;
  /** `durability.synchronous`: "full" fsyncs the WAL at every commit; default "normal". */
  synchronous?: "normal" | "full";
  /**
   * Fault injection for tests (never set by the configuration or the CLI):
   * called inside every `transaction` after its function ran, before the
   * commit; a throw (an error with `code` "SQLITE_FULL", say) stands for a
   * commit the disk refused, and rolls the transaction back.
   */
  commitFault?: () => void;
}

export interface StoreInfo {
  path: string;
  journalMode: string;
  /** SQLite's number: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA. */
  synchronous: number;
  lockingMode: string;
  schemaVersion: number;
  queued: number;
  sessions: number;
}

/** The daemon's durable state: one SQLite file, one connection, one owner. */
export interface DurableStore {
  readonly path: string;
  readonly outbox: SqliteOutbox;
  readonly sessions: SessionTable;
  /** Bounced notifications waiting for their server user. */
  readonly held: NotificationTable;
  /** Sent, awaiting a XEP-0184 receipt (`notify.receipt_timeout`). */
  readonly unacked: NotificationTable;
  /** Notifications set aside after repeated failures to build their stanza. */
  readonly deadLetters: DeadLetterTable;
  /** Each session's last sequence number (`notify.sequence = "session"`). */
  readonly sequences: SequenceTable;
  /** The last notification position given (`notify.snapshot`). */
  readonly positions: PositionTable;
  /**
   * Runs `fn` in one transaction (nested calls become savepoints), so one
   * presence's outbox insert and session change commit together or not at
   * all. `fn` must be synchronous. Offer listeners run after the commit.
   */
  transaction<R>(fn: () => R): R;
  /** The connection's settings and counts, as read back from SQLite: for the startup log. */
  info(): StoreInfo;
  /** Closes the file; idempotent. The WAL is checkpointed and removed. */
  close(): void;
}

const DEFAULT_CAPACITY = 100_000;

/**
 * Opens (or creates) the store at `path`; throws a StoreError with a sentence
 * an operator can act on.
 *
 * Durability: WAL with `synchronous = NORMAL` by default. A commit has been
 * written to the WAL file (write(2), in the OS page cache) before `offer`
 * returns, so it survives the death of this process, `kill -9` included.
 * What NORMAL does not promise is the last commits surviving a power loss or
 * kernel crash (the database stays consistent; it rolls back to an earlier
 * commit). `synchronous: "full"` adds that by fsync-ing the WAL on every
 * commit, at the price of one fsync per commit.
 *
 * `locking_mode = EXCLUSIVE`: the file is held for the daemon's lifetime, so
 * a second daemon pointed at it fails at start (`locked`) instead of both
 * draining one outbox, and the outbox may cache its size and head. The OS
 * releases the lock when the process dies, however it dies. Inspect the file
 * with the daemon stopped.
 */
export function openStore(path: string, options: StoreOptions = {}): DurableStore {
  const capacity = options.outboxCapacity ?? DEFAULT_CAPACITY;
  if (!Number.isInteger(capacity) || capacity < 1) {
    throw new RangeError(`outbox capacity must be a positive integer, got ${capacity}`);
  }
  try {
    nodeSqlite();
  } catch (err) {
    throw new StoreError({ reason: "unsupported_node", path, message: (err as Error).message });
  }
  const dir = dirname(path);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new StoreError({
      reason: "unwritable",
      path,
      message:
        `cannot create the directory ${dir} for durability.path ${path}: ` +
        `${(err as Error).message}; create it, writable by the daemon's user, or choose another path.`,
    });
  }
  let db: Database;
  try {
    db = new Database(path, { timeout: options.lockTimeoutMs ?? 2000 });
  } catch (err) {
    throw new StoreError({
      reason: "unwritable",
      path,
      message: `cannot open durability.path ${path}: ${(err as Error).message}; check that it is a file the daemon's user can write.`,
    });
  }
  try {
    db.pragma("locking_mode = EXCLUSIVE");
    const mode = db.pragma("journal_mode = WAL", { simple: true });
    if (mode !== "wal") throw new Error(`journal_mode is ${String(mode)}, expected wal`);
    db.pragma(options.synchronous === "full" ? "synchronous = FULL" : "synchronous = NORMAL");
    migrate(db, path);
  } catch (err) {
    db.close();
    throw asStoreError(err, path);
  }
  return storeOn(db, path, capacity, options.commitFault);
}

function storeOn(
  db: Database,
  path: string,
  capacity: number,
  fault: (() => void) | undefined,
): DurableStore {
  const sequences = new SequenceTable(db);
  const outbox = new SqliteOutbox(db, capacity, sequences);
  const sessions = new SessionTable(db);
  const held = new NotificationTable(db, "held");
  const unacked = new NotificationTable(db, "unacked");
  const run = db.transaction((fn: () => unknown) => {
    const result = fn();
    fault?.();
    return result;
  });
  return {
    path,
    outbox,
    sessions,
    held,
    unacked,
    deadLetters: new DeadLetterTable(db),
    sequences,
    positions: new PositionTable(db),
    transaction<R>(fn: () => R): R {
      let result: R;
      try {
        result = run(fn) as R;
      } catch (err) {
        outbox.afterRollback();
        throw err;
      }
      outbox.afterCommit();
      return result;
    },
    info() {
      return {
        path,
        journalMode: String(db.pragma("journal_mode", { simple: true })),
        synchronous: Number(db.pragma("synchronous", { simple: true })),
        lockingMode: String(db.pragma("locking_mode", { simple: true })),
        schemaVersion: Number(db.pragma("user_version", { simple: true })),
        queued: outbox.size,
        sessions: sessions.size,
      };
    },
    close() {
      if (db.open) db.close();
    },
  };
}

function asStoreError(err: unknown, path: string): StoreError {
  if (err instanceof StoreError) return err;
  const code = primaryCodeName(sqliteCode(err) ?? "");
  const detail = (err as Error).message;
  if (code === "SQLITE_BUSY" || code === "SQLITE_LOCKED") {
    return new StoreError({
      reason: "locked",
      path,
      message: `${path} is locked by another process (${detail}); is another presence-notify running with the same durability.path?`,
    });
  }
  if (code === "SQLITE_NOTADB" || code === "SQLITE_CORRUPT") {
    return new StoreError({
      reason: "not_a_database",
      path,
      message: `${path} is not a presence-notify state file (${detail}); move it away or point durability.path at a new file.`,
    });
  }
  return new StoreError({
    reason: "unwritable",
    path,
    message: `cannot use durability.path ${path}: ${detail}; check the file and its directory are writable by the daemon's user.`,
  });
}
