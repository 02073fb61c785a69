import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { guardFlood, judgeFlood, SMOKE_FLOOR, SMOKE_PAIRS } from "../../bench/smoke-guard.js";

// `npm run bench -- --smoke`: tiny sizes, a correctness check of the benchmarks
// (every notification back, in order, to the right user; every session
// tracked) and one regression guard: the daemon's flood throughput over the
// baseline's in the same run must clear a floor of half today's ratio
// (bench/smoke-guard.ts). No absolute figure is asserted.
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
    expect(stderr).toMatch(/smoke guard: daemon \/ baseline flood ratio \d\.\d{3} /);
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

describe("the smoke run's regression guard", () => {
  // One side of a flood pair: notifications a second and CPU per notification.
  const side = (eventsPerSecond: number, cpuUsPerEvent: number) => ({
    eventsPerSecond,
    cpuUsPerEvent,
  });

  it("fails a daemon that needs twice the CPU per notification, and prints the ratio", () => {
    // Today: about 33 us a notification against the baseline's 7 (0.21).
    const today = judgeFlood([{ subject: side(30_000, 33), baseline: side(140_000, 7) }]);
    expect(today.ok).toBe(true);
    expect(today.text).toContain("flood ratio 0.212");
    const doubled = judgeFlood([{ subject: side(15_000, 66), baseline: side(140_000, 7) }]);
    expect(doubled.ok).toBe(false);
    expect(doubled.ratio).toBeCloseTo(7 / 66, 6);
    expect(doubled.text).toContain("0.106 at best");
    expect(doubled.text).toContain(`under the floor ${SMOKE_FLOOR}`);
    // A measurement without CPU figures cannot make a pass.
    expect(judgeFlood([{ subject: { eventsPerSecond: 1 }, baseline: side(1, 7) }]).ok).toBe(false);
  });

  it("measures a pair under the floor again, and judges the best", () => {
    const noisy = [{ subject: side(10_000, 80), baseline: side(140_000, 7) }];
    let measured = 0;
    const recovered = guardFlood(noisy, () => {
      measured++;
      return { subject: side(30_000, 35), baseline: side(140_000, 7) };
    });
    expect(recovered).toMatchObject({ ok: true, ratio: 0.2 });
    expect(measured).toBe(1);
    measured = 0;
    const slow = guardFlood(noisy, () => {
      measured++;
      return { subject: side(15_000, 70), baseline: side(140_000, 7) };
    });
    expect(slow.ok).toBe(false);
    expect(measured).toBe(SMOKE_PAIRS - 1);
  });
});
