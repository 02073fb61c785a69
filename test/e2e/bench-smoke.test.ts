import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

// `npm run bench -- --smoke`: tiny sizes, a correctness check of the benchmarks
// only (every notification back, in order, to the right user; every session
// tracked). No figure is asserted: they mean nothing at this size.
describe("benchmarks, smoke mode", () => {
  const out = mkdtempSync(join(tmpdir(), "bench-smoke-"));
  afterAll(() => rmSync(out, { recursive: true, force: true }));
  const bench = (only: string, timeout: number) =>
    promisify(execFile)(
      process.execPath,
      ["--import", "tsx", "bench/run.ts", "--smoke", "--only", only, "--out", out],
      { encoding: "utf8", timeout },
    );

  it("runs the pipeline and memory benchmarks and writes their report and plot", async () => {
    const { stderr } = await bench("pipeline,memory", 110_000);
    expect(stderr).not.toContain("FAILED");
    const report = readFileSync(join(out, "BENCHMARKS.md"), "utf8");
    expect(report).toContain("<!-- bench:pipeline -->");
    expect(report).toContain("<!-- bench:memory -->");
    expect(existsSync(join(out, "results", "pipeline.svg"))).toBe(true);
  }, 120_000);

  // A real Prosody, 20 real sessions at 200 presences/s, the daemon and the
  // forwarder: every notification arrives, for the right change of the right user.
  it("runs the end-to-end benchmark on Prosody and keeps the other sections", async () => {
    const path = join(out, "BENCHMARKS.md");
    const before = existsSync(path) ? readFileSync(path, "utf8") : "";
    const { stderr } = await bench("e2e", 55_000);
    expect(stderr).not.toContain("FAILED");
    const report = readFileSync(path, "utf8");
    expect(report).toContain("<!-- bench:e2e -->");
    if (before.includes("<!-- bench:pipeline -->"))
      expect(report).toContain("<!-- bench:pipeline -->");
    expect(existsSync(join(out, "results", "e2e.svg"))).toBe(true);
  }, 60_000);
});
