import { afterAll, describe, expect, it } from "vitest";
import { resyncSignal } from "../../../src/outbox/snapshot-signal.js";
import { openStore } from "../../../src/store/open.js";
import { SCHEMA_VERSION } from "../../../src/store/schema.js";
import { notification, rawDatabase, tempDir } from "./temp-store.js";

// Schema version 5 (notify.snapshot): a notification's position and a
// resync signal's reason are kept wherever a notification is kept, and the
// last position given survives a restart.

describe("positions in the state file", () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it("keep the last position given, never lowered, across a reopen", () => {
    const path = dir.file();
    const store = openStore(path);
    expect(store.positions.load()).toBeUndefined();
    store.positions.save(7);
    store.positions.save(5);
    store.close();
    const reopened = openStore(path);
    expect(reopened.positions.load()).toBe(7);
    reopened.close();
  });

  it("keep each row's position and a resync signal's reason in the outbox, held, unacked and dead-letter tables", () => {
    const store = openStore(dir.file());
    const n = { ...notification(2), pos: 41 };
    const signal = { ...resyncSignal("world@example.com", "dead-letter", 5), pos: 42 };
    store.outbox.offer(n);
    store.outbox.offer(signal);
    expect(store.outbox.peekMany(2)).toEqual([n, signal]);
    for (const table of [store.held, store.unacked]) {
      table.add(n);
      table.add(signal);
      expect(table.load()).toEqual([n, signal]);
    }
    store.deadLetters.add({ notification: signal, reason: "r", failures: 3, at: 1 });
    expect(store.deadLetters.load()[0]?.notification).toEqual(signal);
    // Without a position (the snapshot off), a row reads back without one: the default bytes.
    store.outbox.shift();
    store.outbox.shift();
    store.outbox.offer(notification(4));
    expect(store.outbox.peek()).toEqual(notification(4));
    store.close();
  });

  it("come to a version 4 file as empty columns, its rows kept", () => {
    const path = dir.file();
    const store = openStore(path);
    store.outbox.offer(notification(1));
    store.close();
    // What a version 4 file looks like: no position table, no pos or resync columns.
    const db = rawDatabase(path);
    db.exec("DROP TABLE position");
    for (const table of ["outbox", "held", "unacked", "dead_letters"]) {
      db.exec(`ALTER TABLE ${table} DROP COLUMN pos; ALTER TABLE ${table} DROP COLUMN resync`);
    }
    db.exec("PRAGMA user_version = 4");
    db.close();
    const reopened = openStore(path);
    expect(reopened.info().schemaVersion).toBe(SCHEMA_VERSION);
    expect(reopened.outbox.peek()).toEqual(notification(1));
    expect(reopened.positions.load()).toBeUndefined();
    reopened.close();
  });
});
