import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Notification } from "../../../src/protocol/notification.js";
import { nodeSqlite } from "../../../src/store/node-sqlite.js";

/** A fresh temporary directory per test file; `remove()` in afterAll/afterEach. */
export function tempDir(prefix = "presence-notify-store-") {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  let n = 0;
  return {
    dir,
    /** A new, not yet existing database path inside the directory. */
    file: () => join(dir, `state-${n++}.db`),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export function notification(i: number | string): Notification {
  return {
    trace: `trace-${i}`,
    user: `user${i}@example.com/res`,
    presence: typeof i === "number" && i % 2 === 1 ? "unavailable" : "available",
    to: "world@example.com",
    userBare: `user${i}@example.com`,
    queuedAt: 1_700_000_000_000 + (typeof i === "number" ? i : 0),
  };
}

/** A plain node:sqlite connection to look at (or tamper with) a state file the store closed. */
export function rawDatabase(path: string, options: { readOnly?: boolean } = {}) {
  const { DatabaseSync } = nodeSqlite();
  return new DatabaseSync(path, options);
}
