import type { DatabaseSync, SQLInputValue, SQLOutputValue } from "node:sqlite";
import { nodeSqlite } from "./node-sqlite.js";

/**
 * A prepared statement with the types of its parameters and of its rows
 * (node:sqlite's own are untyped: a row is `Record<string, SQLOutputValue>`).
 * The types are the caller's word for what the SQL returns; nothing checks
 * them at run time, so each table states them next to its SQL.
 */
export interface Statement<P extends SQLInputValue[] = SQLInputValue[], R = unknown> {
  run(...params: P): { changes: number | bigint; lastInsertRowid: number | bigint };
  get(...params: P): R | undefined;
  all(...params: P): R[];
}

/** A function that runs in a transaction, and its variant that starts with BEGIN IMMEDIATE. */
export type Transaction<A extends unknown[], R> = ((...args: A) => R) & {
  immediate: (...args: A) => R;
};

const SAVEPOINT = "SAVEPOINT store_nested";
const RELEASE = "RELEASE store_nested";
const ROLLBACK_TO = "ROLLBACK TO store_nested";

/**
 * One SQLite connection (node:sqlite's `DatabaseSync`) with what the store's
 * tables use: typed statements, pragmas read back as one value, and
 * transactions that nest as savepoints. Errors are node:sqlite's own
 * (`errcode`, `errstr`); `sqliteCode` in errors.ts names them.
 */
export class Database {
  readonly #db: DatabaseSync;
  #open = true;

  /** `timeout`: how long a statement waits for a lock another connection holds (ms). */
  constructor(path: string, options: { timeout: number }) {
    const { DatabaseSync } = nodeSqlite();
    this.#db = new DatabaseSync(path);
    try {
      this.#db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.trunc(options.timeout))}`);
    } catch (err) {
      this.#db.close();
      throw err;
    }
  }

  get open(): boolean {
    return this.#open;
  }

  /** SQLite's own flag (not a count of ours): false after SQLite rolled back by itself. */
  get inTransaction(): boolean {
    return this.#db.isTransaction;
  }

  prepare<P extends SQLInputValue[] = SQLInputValue[], R = unknown>(sql: string): Statement<P, R> {
    return this.#db.prepare(sql) as unknown as Statement<P, R>;
  }

  exec(sql: string): void {
    this.#db.exec(sql);
  }

  /**
   * Runs `PRAGMA text`: `{ simple: true }` returns the first column of the
   * first row ("wal" for `journal_mode = WAL`), otherwise every row.
   */
  pragma(text: string, options: { simple?: boolean } = {}): unknown {
    const statement = this.#db.prepare(`PRAGMA ${text}`);
    if (!options.simple) return statement.all();
    const row = statement.get() as Record<string, SQLOutputValue> | undefined;
    return row === undefined ? undefined : Object.values(row)[0];
  }

  /**
   * `fn` wrapped in BEGIN/COMMIT, or in a savepoint when a transaction is
   * already open. A throw rolls back what `fn` did and is rethrown; so does a
   * COMMIT the file refuses (disk full, busy). SQLite may already have
   * rolled back by itself after such an error: then there is nothing to undo.
   */
  transaction<A extends unknown[], R>(fn: (...args: A) => R): Transaction<A, R> {
    const wrap =
      (begin: string) =>
      (...args: A): R => {
        const nested = this.#db.isTransaction;
        this.#db.exec(nested ? SAVEPOINT : begin);
        try {
          const result = fn(...args);
          this.#db.exec(nested ? RELEASE : "COMMIT");
          return result;
        } catch (err) {
          if (this.#db.isTransaction) {
            this.#db.exec(nested ? ROLLBACK_TO : "ROLLBACK");
            if (nested) this.#db.exec(RELEASE);
          }
          throw err;
        }
      };
    return Object.assign(wrap("BEGIN"), { immediate: wrap("BEGIN IMMEDIATE") });
  }

  /** Closes the connection; the last one to close checkpoints the WAL and removes it. */
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#db.close();
  }
}
