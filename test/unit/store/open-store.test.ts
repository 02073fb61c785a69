import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isStoreError, type StoreError } from "../../../src/store/errors.js";
import { openStore } from "../../../src/store/open.js";
import { SCHEMA_VERSION } from "../../../src/store/schema.js";
import { rawDatabase, tempDir } from "./temp-store.js";

function openError(path: string, options = {}): StoreError {
  try {
    openStore(path, options).close();
  } catch (err) {
    if (isStoreError(err)) return err;
    throw err;
  }
  throw new Error(`openStore(${path}) did not fail`);
}

describe("openStore", () => {
  const tmp = tempDir();
  afterAll(() => tmp.remove());

  it("creates missing parent directories and a WAL-mode file at the current schema version", () => {
    const path = join(tmp.dir, "var", "lib", "presence-notify", "state.db");
    const store = openStore(path);
    expect(existsSync(path)).toBe(true);
    store.close();
    const db = rawDatabase(path, { readOnly: true });
    expect(db.prepare("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
    expect(db.prepare("PRAGMA user_version").get()).toEqual({ user_version: SCHEMA_VERSION });
    db.close();
  });

  it("runs in WAL mode with synchronous NORMAL and an exclusive lock", () => {
    const path = tmp.file();
    const store = openStore(path);
    store.sessions.available("u@example.com/r");
    expect(store.info()).toEqual({
      path,
      journalMode: "wal",
      synchronous: 1,
      lockingMode: "exclusive",
      schemaVersion: SCHEMA_VERSION,
      queued: 0,
      sessions: 1,
    });
    expect(existsSync(`${path}-wal`)).toBe(true);
    store.close();
    // A clean close checkpoints the WAL into the database and removes it.
    expect(existsSync(`${path}-wal`)).toBe(false);
  });

  it("refuses a file written by a newer schema, naming both versions", () => {
    const path = tmp.file();
    openStore(path).close();
    const db = rawDatabase(path);
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    const err = openError(path);
    expect(err._tag).toBe("StoreError");
    expect(err.reason).toBe("schema_too_new");
    expect(err.message).toContain(`schema version ${SCHEMA_VERSION + 1}`);
    expect(err.message).toContain(`up to ${SCHEMA_VERSION}`);
  });

  it("refuses an SQLite database it did not create", () => {
    const path = tmp.file();
    const db = rawDatabase(path);
    db.exec("CREATE TABLE something_else (x)");
    db.close();
    expect(openError(path).reason).toBe("not_a_database");
  });

  it("refuses a file that is not SQLite", () => {
    const path = tmp.file();
    writeFileSync(path, "this is not a database, it is a text file of some length\n".repeat(20));
    const err = openError(path);
    expect(err.reason).toBe("not_a_database");
    expect(err.message).toContain(path);
  });

  it("refuses a second opener while the first holds the file", () => {
    const path = tmp.file();
    const first = openStore(path);
    const err = openError(path, { lockTimeoutMs: 0 });
    expect(err.reason).toBe("locked");
    expect(err.message).toContain("another presence-notify");
    first.close();
    openStore(path, { lockTimeoutMs: 0 }).close();
  });

  it("says which directory it cannot create", () => {
    // A regular file where a directory should be: fails even for root.
    const blocker = join(tmp.dir, "blocker");
    writeFileSync(blocker, "");
    const err = openError(join(blocker, "sub", "state.db"));
    expect(err.reason).toBe("unwritable");
    expect(err.message).toContain(`cannot create the directory ${join(blocker, "sub")}`);
  });
});
