import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { openStore } from "../../../src/store/open.js";
import { tempDir } from "./temp-store.js";

const CHILD = fileURLToPath(new URL("./crash-child.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

interface ChildReport {
  offered: number[];
  shifted: Set<string>;
  signal: NodeJS.Signals | null;
}

/** Runs the child until it has reported `atLeast` commits, then SIGKILLs it. */
function runAndKill(path: string, atLeast: number): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, path], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const report: ChildReport = { offered: [], shifted: new Set(), signal: null };
    let pending = "";
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout.on("data", (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split("\n");
      pending = lines.pop() ?? ""; // a line cut by the kill is not a report
      for (const line of lines) {
        const [what, arg = ""] = line.split(" ");
        if (what === "offered") report.offered.push(Number(arg));
        if (what === "shifted") report.shifted.add(arg);
      }
      if (report.offered.length >= atLeast && child.exitCode === null) child.kill("SIGKILL");
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      report.signal = signal;
      if (signal === "SIGKILL") resolve(report);
      else reject(new Error(`child exited ${code} ${signal} before the kill: ${stderr}`));
    });
  });
}

describe("kill -9 of a process writing to the store", () => {
  const tmp = tempDir();
  afterAll(() => tmp.remove());

  it("loses no committed notification, duplicates none, and keeps order and sessions in step", async () => {
    const path = tmp.file();
    const report = await runAndKill(path, 2000);
    expect(report.signal).toBe("SIGKILL");
    // Killed, not closed: the commits are still in the write-ahead log.
    expect(existsSync(`${path}-wal`)).toBe(true);

    const store = openStore(path, { outboxCapacity: 10_000_000 });
    const left: number[] = [];
    for (let n = store.outbox.shift(); n !== undefined; n = store.outbox.shift()) {
      left.push(Number(n.trace.slice("trace-".length)));
    }
    const sessions = store.sessions.load();
    store.close();

    // Order, no duplicates: strictly increasing; only the head is ever shifted,
    // so what is left is one contiguous run ending at the last commit.
    const first = left[0] ?? -1;
    const last = left.at(-1) ?? -1;
    expect(left).toEqual(Array.from({ length: left.length }, (_, k) => first + k));
    // No loss: every commit the child reported is there, unless it was shifted.
    // The child reports each shift before going on, so at most one shift (the
    // one the kill interrupted) is unreported, and it took the head: first - 1.
    const lastReported = report.offered.at(-1) ?? -1;
    expect(last).toBeGreaterThanOrEqual(lastReported);
    const present = new Set(left);
    const missing = report.offered.filter(
      (i) => !present.has(i) && !report.shifted.has(`trace-${i}`),
    );
    expect(missing.length === 0 || (missing.length === 1 && missing[0] === first - 1)).toBe(true);
    for (const trace of report.shifted) {
      expect(present.has(Number(trace.slice("trace-".length)))).toBe(false);
    }
    // Each presence's session was committed with its notification, never apart.
    expect(sessions.length).toBe(last + 1);
    expect(new Set(sessions)).toEqual(
      new Set(Array.from({ length: last + 1 }, (_, i) => `user${i}@example.com/res`)),
    );
  }, 15_000);
});
