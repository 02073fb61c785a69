import { describe, expect, it } from "vitest";
import { SimulatedClock } from "xstate";
import { TimerGuard } from "../../../src/otp/timer-guard.js";
import { Counters } from "../../../src/telemetry/counters.js";
import { logSink } from "../../support/log-sink.js";

function guard(fault?: (mechanism: string) => void) {
  const clock = new SimulatedClock();
  const counters = new Counters();
  const sink = logSink();
  const timers = new TimerGuard({
    clock,
    counters,
    logger: sink.logger,
    ...(fault ? { fault } : {}),
  });
  return { clock, counters, records: sink.records, timers };
}

describe("TimerGuard", () => {
  it("runs a callback that does not throw once, at its time", () => {
    const { clock, timers } = guard();
    const runs: number[] = [];
    timers.clock("liveness").setTimeout(() => runs.push(clock.now()), 100);
    clock.increment(99);
    expect(runs).toEqual([]);
    clock.increment(1);
    clock.increment(60_000);
    expect(runs).toEqual([100]);
  });

  it("reports a throwing callback like a supervised crash and runs it again after a backoff", () => {
    let throws = 2;
    const { clock, counters, records, timers } = guard();
    let done = 0;
    timers.clock("held_mail").setTimeout(() => {
      if (throws-- > 0) throw new Error("boom");
      done++;
    }, 10);
    clock.increment(10); // first failure, retry in 1 s
    expect(done).toBe(0);
    clock.increment(1_000); // second failure, retry in 2 s
    expect(done).toBe(0);
    clock.increment(2_000);
    expect(done).toBe(1);
    expect(counters.get("timer_failures")).toBe(2);
    expect(timers.failuresOf("held_mail")).toBe(2);
    const crash = records.find(
      (r) => r.msg === "timer callback crashed; it runs again after a backoff",
    );
    expect(crash).toMatchObject({
      supervisor: "timers",
      child: "held_mail",
      reason: { name: "Error", message: "boom" },
      restarts: 1,
    });
  });

  it("catches a rejected promise from an async callback", async () => {
    const { clock, counters, timers } = guard();
    let calls = 0;
    timers.clock("resync").setTimeout(async () => {
      calls++;
      if (calls === 1) throw new Error("settle failed");
    }, 5);
    clock.increment(5);
    await Promise.resolve();
    await Promise.resolve();
    expect(counters.get("timer_failures")).toBe(1);
    clock.increment(1_000);
    expect(calls).toBe(2);
  });

  it("stops retrying once the mechanism clears its timer", () => {
    const { clock, timers } = guard();
    const c = timers.clock("receipts");
    let calls = 0;
    const t = c.setTimeout(() => {
      calls++;
      throw new Error("always");
    }, 1);
    clock.increment(1);
    c.clearTimeout(t);
    clock.increment(120_000);
    expect(calls).toBe(1);
  });

  it("backs off to at most 30 s and logs a permanent failure 1st, 2nd, 4th... time only", () => {
    const { clock, records, timers } = guard((m) => {
      if (m === "send_rate") throw new Error("injected");
    });
    timers.clock("send_rate").setTimeout(() => {}, 1);
    clock.increment(1);
    // 1 + 2 + 4 + 8 + 16 s, then every 30 s: 20 more failures in 600 s.
    for (let i = 0; i < 31 + 20 * 30; i++) clock.increment(1_000);
    expect(timers.failuresOf("send_rate")).toBe(26);
    const lines = records.filter((r) => r.child === "send_rate").map((r) => r.restarts);
    expect(lines).toEqual([1, 2, 4, 8, 16]);
  });

  it("injects a fault into one mechanism only", () => {
    const { clock, timers } = guard((m) => {
      if (m === "flap_damper") throw new Error("injected");
    });
    const ran: string[] = [];
    timers.clock("flap_damper").setTimeout(() => ran.push("flap_damper"), 1);
    timers.clock("user_rate").setTimeout(() => ran.push("user_rate"), 1);
    clock.increment(1);
    expect(ran).toEqual(["user_rate"]);
  });
});
