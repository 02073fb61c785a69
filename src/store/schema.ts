import type { Database } from "./database.js";
import { StoreError } from "./errors.js";

/**
 * The on-disk schema and its version, kept in SQLite's `user_version` pragma
 * (0 = a new, empty file). A file written by a newer presence-notify is
 * refused rather than guessed at: downgrading the daemon must not silently
 * drop or misread queued notifications.
 *
 * To change the schema: bump SCHEMA_VERSION and add the step from the
 * previous version to MIGRATIONS; never edit a step that has shipped.
 */
export const SCHEMA_VERSION = 5;

const MIGRATIONS: Record<number, string> = {
  // 0 -> 1. AUTOINCREMENT: a sequence number is never reused, even after the
  // outbox was emptied, so `seq` orders rows across every run of the daemon.
  1: `
    CREATE TABLE outbox (
      seq       INTEGER PRIMARY KEY AUTOINCREMENT,
      trace     TEXT NOT NULL,
      user      TEXT NOT NULL,
      presence  TEXT NOT NULL CHECK (presence IN ('available', 'unavailable')),
      to_jid    TEXT NOT NULL,
      user_bare TEXT NOT NULL,
      queued_at INTEGER NOT NULL,
      session_seq INTEGER
    ) STRICT;
    CREATE TABLE held (
      trace       TEXT PRIMARY KEY,
      user        TEXT NOT NULL,
      presence    TEXT NOT NULL CHECK (presence IN ('available', 'unavailable')),
      to_jid      TEXT NOT NULL,
      user_bare   TEXT NOT NULL,
      queued_at   INTEGER NOT NULL,
      session_seq INTEGER
    ) STRICT;
    CREATE TABLE sessions (
      jid TEXT PRIMARY KEY
    ) STRICT, WITHOUT ROWID;
  `,
  // 1 -> 2. Notifications sent and awaiting a XEP-0184 receipt.
  2: `
    CREATE TABLE unacked (
      trace       TEXT PRIMARY KEY,
      user        TEXT NOT NULL,
      presence    TEXT NOT NULL CHECK (presence IN ('available', 'unavailable')),
      to_jid      TEXT NOT NULL,
      user_bare   TEXT NOT NULL,
      queued_at   INTEGER NOT NULL,
      session_seq INTEGER
    ) STRICT;
  `,
  // 2 -> 3. Notifications set aside after repeated failures to build their
  // stanza (a poison notification), and the last sequence number of each
  // session (notify.sequence = "session"), so numbering survives a restart.
  3: `
    CREATE TABLE dead_letters (
      trace       TEXT PRIMARY KEY,
      user        TEXT NOT NULL,
      presence    TEXT NOT NULL CHECK (presence IN ('available', 'unavailable')),
      to_jid      TEXT NOT NULL,
      user_bare   TEXT NOT NULL,
      queued_at   INTEGER NOT NULL,
      session_seq INTEGER,
      reason      TEXT NOT NULL,
      failures    INTEGER NOT NULL,
      set_aside_at INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE session_seq (
      jid     TEXT PRIMARY KEY,
      seq     INTEGER NOT NULL,
      touched INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX session_seq_touched ON session_seq (touched);
  `,
  // 3 -> 4. The opt-in payload fields a notification carries beyond the
  // columns above (`ts`, `reason`, `resources`), as a JSON object; NULL when
  // none. One column for every such field, so the next one needs no step.
  4: `
    ALTER TABLE outbox ADD COLUMN extra TEXT;
    ALTER TABLE held ADD COLUMN extra TEXT;
    ALTER TABLE unacked ADD COLUMN extra TEXT;
    ALTER TABLE dead_letters ADD COLUMN extra TEXT;
  `,
  // 4 -> 5. notify.snapshot: each queued, held, unacknowledged or set-aside
  // notification keeps its position (args.pos) and, for a resync signal,
  // its reason (src/outbox/snapshot-signal.ts); the last position given,
  // so positions go on across restarts (src/store/position-table.ts).
  5: `
    ALTER TABLE outbox ADD COLUMN pos INTEGER;
    ALTER TABLE outbox ADD COLUMN resync TEXT;
    ALTER TABLE held ADD COLUMN pos INTEGER;
    ALTER TABLE held ADD COLUMN resync TEXT;
    ALTER TABLE unacked ADD COLUMN pos INTEGER;
    ALTER TABLE unacked ADD COLUMN resync TEXT;
    ALTER TABLE dead_letters ADD COLUMN pos INTEGER;
    ALTER TABLE dead_letters ADD COLUMN resync TEXT;
    CREATE TABLE position (
      id  INTEGER PRIMARY KEY CHECK (id = 1),
      pos INTEGER NOT NULL
    ) STRICT;
  `,
};

/** Brings the file to SCHEMA_VERSION in one transaction, or throws a StoreError. */
export function migrate(db: Database, path: string): void {
  db.transaction(() => {
    const version = db.pragma("user_version", { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new StoreError({
        reason: "schema_too_new",
        path,
        message:
          `${path} has schema version ${version}, written by a newer presence-notify; ` +
          `this one knows versions up to ${SCHEMA_VERSION}. Run the newer version, ` +
          `or move the file away to start with an empty state.`,
      });
    }
    if (version === 0) assertEmpty(db, path);
    for (let v = version + 1; v <= SCHEMA_VERSION; v++) {
      const step = MIGRATIONS[v];
      if (step === undefined) throw new Error(`schema migration to version ${v} is missing`);
      db.exec(step);
    }
    if (version !== SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

/** Version 0 must mean "new": a foreign database is not ours to add tables to. */
function assertEmpty(db: Database, path: string): void {
  const row = db.prepare("SELECT count(*) AS n FROM sqlite_schema").get() as { n: number };
  if (row.n > 0) {
    throw new StoreError({
      reason: "not_a_database",
      path,
      message:
        `${path} is an SQLite database that presence-notify did not create ` +
        `(user_version 0 but ${row.n} schema objects); point durability.path at a new file.`,
    });
  }
}
