import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import {
  isSqliteExperimentalWarning,
  nodeSqlite,
  unsupportedRuntime,
} from "../../../src/store/node-sqlite.js";
import { tempDir } from "./temp-store.js";

const CHILD = fileURLToPath(new URL("./warning-child.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const SQLITE_WARNING = /ExperimentalWarning: SQLite is an experimental feature/;
const [MAJOR = 0, MINOR = 0] = process.versions.node.split(".").map(Number);
/** Where Node prints the warning when node:sqlite loads (seen on 22.x and 24.0-24.14). */
const NODE_WARNS = MAJOR === 22 || (MAJOR === 24 && MINOR < 15);

/** Runs warning-child.ts in a Node process of its own; its stderr, where Node prints warnings. */
function childStderr(...args: string[]): string {
  const run = spawnSync(process.execPath, ["--import", "tsx", CHILD, ...args], {
    cwd: ROOT,
    encoding: "utf8",
  });
  if (run.status !== 0) throw new Error(`warning-child.ts ${args.join(" ")}: ${run.stderr}`);
  return run.stderr;
}

describe("loading node:sqlite", () => {
  const tmp = tempDir();
  afterAll(() => tmp.remove());

  it("prints no SQLite ExperimentalWarning when the store opens, and still prints the others", () => {
    const stderr = childStderr("store", tmp.file());
    expect(stderr).not.toMatch(SQLITE_WARNING);
    expect(stderr).toContain("ExperimentalWarning: another feature is experimental");
  });

  // The control: what the filter takes away, where this Node prints it.
  it.runIf(NODE_WARNS)("this Node prints the warning when node:sqlite loads unfiltered", () => {
    expect(childStderr("plain")).toMatch(SQLITE_WARNING);
  });

  it("recognises exactly the SQLite warning", () => {
    const text = "SQLite is an experimental feature and might change at any time";
    expect(isSqliteExperimentalWarning(text, "ExperimentalWarning")).toBe(true);
    const error = Object.assign(new Error(text), { name: "ExperimentalWarning" });
    expect(isSqliteExperimentalWarning(error, undefined)).toBe(true);
    expect(isSqliteExperimentalWarning(text, "DeprecationWarning")).toBe(false);
    expect(
      isSqliteExperimentalWarning("WASI is an experimental feature", "ExperimentalWarning"),
    ).toBe(false);
  });

  it("names the Node.js to run when this one has no usable node:sqlite", () => {
    expect(unsupportedRuntime(nodeSqlite(), process.version)).toBeUndefined();
    const tooOld = unsupportedRuntime(undefined, "v20.20.2");
    expect(tooOld).toContain("this is Node.js v20.20.2");
    expect(tooOld).toContain("22.16 or later");
    // Node 22.13-22.15 and 23 have node:sqlite without DatabaseSync.isTransaction.
    const withoutFlag = {
      DatabaseSync: class {
        close() {}
      },
    };
    expect(
      unsupportedRuntime(withoutFlag as unknown as typeof import("node:sqlite"), "v22.13.0"),
    ).toContain("this is Node.js v22.13.0");
  });
});
