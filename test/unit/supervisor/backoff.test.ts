import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SimulatedClock } from "xstate";
import { backoffAttempt, backoffDelay } from "../../../src/otp/backoff.js";
import { startSupervisor } from "../../../src/otp/supervisor-root.js";
import { workers } from "./children.js";

const settings = fc
  .record({
    initial: fc.integer({ min: 1, max: 10_000 }),
    extra: fc.integer({ min: 0, max: 100_000 }),
    factor: fc.double({ min: 1, max: 4, noNaN: true }),
    jitter: fc.double({ min: 0, max: 1, noNaN: true }),
  })
  .map(({ initial, extra, factor, jitter }) => ({ initial, max: initial + extra, factor, jitter }));
const random = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe("backoff delay (pure)", () => {
  it("doubles from `initial` and stops at `max` without jitter", () => {
    const backoff = { initial: 100, max: 1000, factor: 2, jitter: 0 };
    const delays = [1, 2, 3, 4, 5, 50].map((n) => backoffDelay(n, backoff, () => 0.5));
    expect(delays).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it("never exceeds max, never goes below the un-jittered delay shortened by `jitter`", () => {
    fc.assert(
      fc.property(settings, fc.integer({ min: 1, max: 200 }), random, (backoff, attempt, r) => {
        const delay = backoffDelay(attempt, backoff, () => r);
        const base = Math.min(backoff.max, backoff.initial * backoff.factor ** (attempt - 1));
        expect(delay).toBeLessThanOrEqual(backoff.max);
        expect(delay).toBeGreaterThanOrEqual(Math.floor(base * (1 - backoff.jitter)));
      }),
    );
  });

  it("does not shrink from one attempt to the next for the same random draw", () => {
    fc.assert(
      fc.property(settings, fc.integer({ min: 1, max: 200 }), random, (backoff, attempt, r) => {
        const now = backoffDelay(attempt, backoff, () => r);
        expect(backoffDelay(attempt + 1, backoff, () => r)).toBeGreaterThanOrEqual(now);
      }),
    );
  });

  it("starts counting again once a child ran for `resetAfter`", () => {
    expect(backoffAttempt(3, 499, 500)).toBe(4);
    expect(backoffAttempt(3, 500, 500)).toBe(1);
  });
});

describe("restart with backoff", () => {
  it("waits the growing delay on the injected clock before each restart", () => {
    const journal: string[] = [];
    const clock = new SimulatedClock();
    const sup = startSupervisor({
      flags: {
        strategy: "one_for_one",
        intensity: 10,
        period: 60_000,
        backoff: { initial: 100, max: 1000, resetAfter: 5000 },
      },
      children: workers(["a"], journal),
      clock,
    });
    const startsOfA = () => journal.filter((line) => line === "start:a").length;

    sup.send("a", { type: "crash" });
    expect(sup.tree().children?.[0]?.status).toBe("restarting");
    expect(sup.whereis("a")).toBeUndefined();
    clock.increment(99);
    expect(startsOfA()).toBe(1);
    clock.increment(1);
    expect(startsOfA()).toBe(2);

    sup.send("a", { type: "crash" });
    clock.increment(199);
    expect(startsOfA()).toBe(2);
    clock.increment(1);
    expect(startsOfA()).toBe(3);

    // After running 5 s, the next restart is back to the initial delay.
    clock.increment(5000);
    sup.send("a", { type: "crash" });
    clock.increment(100);
    expect(startsOfA()).toBe(4);
  });

  it("cancels a pending restart on shutdown", async () => {
    const journal: string[] = [];
    const clock = new SimulatedClock();
    const sup = startSupervisor({
      flags: { strategy: "one_for_all", intensity: 10, backoff: { initial: 1000, max: 1000 } },
      children: workers(["a", "b"], journal),
      clock,
    });
    sup.send("a", { type: "crash" });
    expect(journal).toEqual(["start:a", "start:b", "stop:b"]);

    await sup.shutdown();
    clock.increment(5000);

    expect(journal).toEqual(["start:a", "start:b", "stop:b"]);
    expect(sup.tree().children?.map((c) => c.status)).toEqual(["stopped", "stopped"]);
  });
});

describe("backoff with rest_for_one", () => {
  it("a group restart overtakes a younger child's pending backoff restart", () => {
    const journal: string[] = [];
    const clock = new SimulatedClock();
    const sup = startSupervisor({
      flags: { strategy: "rest_for_one", intensity: 10, backoff: { initial: 100, max: 100 } },
      children: workers(["a", "b"], journal),
      clock,
    });
    sup.send("b", { type: "crash" });
    clock.increment(50);
    sup.send("a", { type: "crash" });
    clock.increment(1000);

    expect(journal).toEqual(["start:a", "start:b", "start:a", "start:b"]);
    expect(sup.tree().children?.map((c) => [c.status, c.restarts])).toEqual([
      ["running", 1],
      ["running", 1],
    ]);
  });
});
