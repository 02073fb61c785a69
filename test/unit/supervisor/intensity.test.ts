import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SimulatedClock } from "xstate";
import { recordRestart } from "../../../src/otp/restart-intensity.js";
import { supervisorLogic } from "../../../src/otp/supervisor.js";
import { SupervisorGaveUp } from "../../../src/otp/supervisor-reports.js";
import { exitCodeOf, startSupervisor } from "../../../src/otp/supervisor-root.js";
import { logSink } from "../../support/log-sink.js";
import { workers } from "./children.js";

/** Non-decreasing restart times, as a clock produces them. */
const restartTimes = fc.array(fc.integer({ min: 0, max: 2000 }), { maxLength: 40 }).map((gaps) => {
  let now = 0;
  return gaps.map((gap) => {
    now += gap;
    return now;
  });
});
const limits = fc.record({
  intensity: fc.integer({ min: 0, max: 6 }),
  period: fc.integer({ min: 1, max: 10_000 }),
});

describe("restart intensity (pure)", () => {
  it("gives up on the restart that makes more than `intensity` within `period`", () => {
    const limits = { intensity: 2, period: 1000 };
    let history: readonly number[] = [];
    const verdicts = [0, 400, 900, 1400, 1401].map((now) => {
      const decision = recordRestart(history, now, limits);
      history = decision.history;
      return decision.exceeded;
    });
    expect(verdicts).toEqual([false, false, true, true, true]);
  });

  it("still counts a restart exactly `period` ago, as OTP does", () => {
    expect(recordRestart([0], 1000, { intensity: 1, period: 1000 }).exceeded).toBe(true);
    expect(recordRestart([0], 1001, { intensity: 1, period: 1000 }).exceeded).toBe(false);
  });

  it("agrees with counting the window directly, restart by restart", () => {
    fc.assert(
      fc.property(restartTimes, limits, (times, { intensity, period }) => {
        let history: readonly number[] = [];
        times.forEach((now, i) => {
          const decision = recordRestart(history, now, { intensity, period });
          history = decision.history;
          const inWindow = times.slice(0, i + 1).filter((t) => t >= now - period).length;
          expect(decision.exceeded).toBe(inWindow > intensity);
        });
      }),
    );
  });

  it("keeps only restarts inside the window, ending with now", () => {
    fc.assert(
      fc.property(restartTimes, limits, (times, { intensity, period }) => {
        const now = (times.at(-1) ?? 0) + 1;
        const { history } = recordRestart(times, now, { intensity, period });
        expect(history.at(-1)).toBe(now);
        expect(history.every((t) => t >= now - period && t <= now)).toBe(true);
      }),
    );
  });
});

describe("intensity escalation", () => {
  it("gives up, stops the others youngest first and fails the root", async () => {
    const journal: string[] = [];
    const clock = new SimulatedClock();
    const sup = startSupervisor({
      flags: { strategy: "one_for_one", intensity: 1, period: 5000 },
      children: workers(["a", "b", "c"], journal),
      clock,
    });
    sup.send("a", { type: "crash" });
    clock.increment(5000);
    journal.length = 0;

    sup.send("a", { type: "crash" });

    expect(journal).toEqual(["stop:c", "stop:b"]);
    const result = await sup.done;
    expect(result.exit).toBe("failed");
    expect(exitCodeOf(result)).toBe(70);
    expect(result.exit === "failed" && result.reason).toBeInstanceOf(SupervisorGaveUp);
    expect(sup.tree()).toMatchObject({ status: "failed" });
    expect(sup.tree().children?.map((c) => c.status)).toEqual(["failed", "stopped", "stopped"]);
  });

  it("forgives restarts older than the period", () => {
    const clock = new SimulatedClock();
    const sup = startSupervisor({
      flags: { strategy: "one_for_one", intensity: 1, period: 5000 },
      children: workers(["a"], []),
      clock,
    });
    for (let i = 0; i < 5; i++) {
      sup.send("a", { type: "crash" });
      clock.increment(5001);
    }
    expect(sup.tree()).toMatchObject({ status: "running", children: [{ restarts: 5 }] });
  });

  it("with intensity 0, gives up on the first crash", () => {
    const sup = startSupervisor({
      flags: { strategy: "one_for_one", intensity: 0 },
      children: workers(["a"], []),
      clock: new SimulatedClock(),
    });
    sup.send("a", { type: "crash" });
    expect(sup.tree().status).toBe("failed");
  });

  it("exits shutdown when it gives up, so a transient parent does not restart it", () => {
    const journal: string[] = [];
    const { logger, records } = logSink();
    const inner = supervisorLogic(
      { strategy: "one_for_one", intensity: 0 },
      workers(["w"], journal),
    );
    const sup = startSupervisor({
      flags: { strategy: "one_for_one", intensity: 5 },
      children: [...workers(["x"], journal), { id: "inner", logic: inner, restart: "transient" }],
      clock: new SimulatedClock(),
      logger,
    });

    sup.send("w", { type: "crash" });

    expect(sup.tree()).toMatchObject({
      status: "running",
      children: [
        { id: "x", status: "running", restarts: 0 },
        { id: "inner", status: "stopped", restarts: 0 },
      ],
    });
    expect(journal).toEqual(["start:x", "start:w"]);
    // The give-up is reported once, by the supervisor that gave up; the parent adds no crash.
    expect(records.filter((r) => (r.level as number) >= 40).map((r) => r.msg)).toEqual([
      "child crashed",
      "supervisor gave up",
    ]);
  });

  it("escalates from a child supervisor to its parent, and intensities multiply", async () => {
    const journal: string[] = [];
    const { logger, records } = logSink();
    const inner = supervisorLogic(
      { strategy: "one_for_one", intensity: 1, period: 5000 },
      workers(["w"], journal),
    );
    const sup = startSupervisor({
      flags: { strategy: "one_for_one", intensity: 1, period: 5000 },
      children: [...workers(["x"], journal), { id: "inner", logic: inner }],
      clock: new SimulatedClock(),
      logger,
    });

    // Two crashes of w: inner gives up, root restarts inner (and so w) afresh.
    sup.send("w", { type: "crash" });
    sup.send("w", { type: "crash" });
    expect(sup.tree().children?.[1]).toEqual({
      id: "inner",
      type: "supervisor",
      status: "running",
      restarts: 1,
      children: [{ id: "w", type: "worker", status: "running", restarts: 0 }],
    });
    expect(records.filter((r) => r.msg === "supervisor gave up")).toMatchObject([
      { supervisor: "root/inner", restarts: 2, intensity: 1, period: 5000 },
    ]);
    // A give-up is a shutdown: the permanent parent restarts it and says so, but not as a crash.
    expect(records.filter((r) => r.child === "inner")).toMatchObject([
      {
        msg: "child terminated",
        supervisor: "root",
        restarts: 0,
        reason: { name: "SupervisorGaveUp" },
      },
    ]);

    // Two more: inner gives up again, which is one restart too many for root.
    sup.send("w", { type: "crash" });
    sup.send("w", { type: "crash" });

    const result = await sup.done;
    expect(result.exit).toBe("failed");
    const rootReports = records.filter(
      (r) => r.msg === "supervisor gave up" && r.supervisor === "root",
    );
    expect(rootReports).toHaveLength(1);
    expect(rootReports[0]?.reason).toMatchObject({
      name: "SupervisorGaveUp",
      message: expect.stringContaining('child "inner" shut down: supervisor "root/inner" gave up'),
    });
    // one_for_one: x never restarted; the root's give-up stops it last.
    expect(journal.filter((line) => line.endsWith(":x"))).toEqual(["start:x", "stop:x"]);
    expect(journal.at(-1)).toBe("stop:x");
  });
});
