import { describe, expect, it } from "vitest";
import { createActor, fromCallback, fromPromise, SimulatedClock } from "xstate";
import {
  type DynamicPool,
  dynamicSupervisorLogic,
  poolOf,
} from "../../../src/otp/dynamic-supervisor.js";
import { supervisorLogic } from "../../../src/otp/supervisor.js";
import { exitCodeOf, startSupervisor } from "../../../src/otp/supervisor-root.js";
import { logSink } from "../../support/log-sink.js";
import { failsAtStart, worker, workers } from "./children.js";

/**
 * OTP `start_children`: a child that fails in its init fails the
 * supervisor's start with `{shutdown, {failed_to_start_child, Id, Reason}}`;
 * the children after it are never started and those before it are stopped,
 * youngest first. A failure after the start (a promise that rejects) is an
 * ordinary crash.
 */

const broken = (id: string, journal: string[]) => ({
  id,
  logic: failsAtStart,
  input: { name: id, journal },
});

describe("a child that fails in its init", () => {
  it("fails the start: later children never start, earlier ones stop youngest first", async () => {
    const journal: string[] = [];
    const { logger, records } = logSink();
    const sup = startSupervisor({
      flags: { strategy: "one_for_one", intensity: 5 },
      children: [...workers(["a", "b"], journal), broken("c", journal), ...workers(["d"], journal)],
      clock: new SimulatedClock(),
      logger,
    });

    expect(journal).toEqual(["start:a", "start:b", "init-failed:c", "stop:b", "stop:a"]);
    const result = await sup.done;
    expect(result).toMatchObject({
      exit: "failed",
      reason: { _tag: "FailedToStartChild", supervisor: "root", child: "c", exit: "shutdown" },
    });
    expect(exitCodeOf(result)).toBe(70);
    expect(sup.tree().status).toBe("failed");
    expect(records.filter((r) => (r.level as number) >= 40)).toMatchObject([
      {
        msg: "child failed to start",
        supervisor: "root",
        child: "c",
        restarts: 0,
        reason: { message: "c cannot start" },
      },
    ]);
  });

  it("below a child supervisor fails its parent's start too, as OTP's start_link does", async () => {
    const journal: string[] = [];
    const inner = supervisorLogic({ strategy: "one_for_one" }, [
      ...workers(["i1"], journal),
      broken("i2", journal),
    ]);
    const sup = startSupervisor({
      flags: { strategy: "one_for_one", intensity: 5 },
      children: [
        ...workers(["a"], journal),
        { id: "inner", logic: inner },
        ...workers(["z"], journal),
      ],
      clock: new SimulatedClock(),
    });

    expect(journal).toEqual(["start:a", "start:i1", "init-failed:i2", "stop:i1", "stop:a"]);
    expect(await sup.done).toMatchObject({
      exit: "failed",
      reason: { child: "inner", reason: { _tag: "FailedToStartChild", child: "i2" } },
    });
  });

  it("when restarted is reported as a start error and counts against the intensity", async () => {
    const { logger, records } = logSink();
    let starts = 0;
    const flaky = fromCallback<{ type: "crash" }>(({ receive }) => {
      starts += 1;
      if (starts > 1) throw new Error("cannot start again");
      receive(() => {
        throw new Error("crashed");
      });
    });
    const sup = startSupervisor({
      flags: { strategy: "one_for_one", intensity: 2 },
      children: [{ id: "f", logic: flaky }],
      clock: new SimulatedClock(),
      logger,
    });
    sup.send("f", { type: "crash" });

    expect(await sup.done).toMatchObject({ exit: "failed", reason: { _tag: "SupervisorGaveUp" } });
    expect(starts).toBe(3);
    // OTP reports a restart whose init fails as a start_error, then tries again.
    expect(records.map((r) => r.msg)).toEqual([
      "child crashed",
      "child failed to start",
      "child failed to start",
      "supervisor gave up",
    ]);
  });

  it("in a group restart: the later children wait; the failed start is retried from it", () => {
    const journal: string[] = [];
    const failNextStart = new Set<string>();
    const sup = startSupervisor({
      flags: { strategy: "rest_for_one", intensity: 5 },
      children: workers(["a", "b", "c"], journal, {}, failNextStart),
      clock: new SimulatedClock(),
    });
    journal.length = 0;
    failNextStart.add("b");

    sup.send("a", { type: "crash" });

    // OTP restart_multiple_children: start_children stops at b; try_again restarts b and c.
    expect(journal).toEqual(["stop:c", "stop:b", "start:a", "init-failed:b", "start:b", "start:c"]);
    expect(sup.tree().children?.map((c) => [c.status, c.restarts])).toEqual([
      ["running", 1],
      ["running", 2],
      ["running", 1],
    ]);
  });

  it("that only fails after its start (a rejected connect) is restarted, not a start failure", async () => {
    const journal: string[] = [];
    let attempts = 0;
    const connect = fromPromise(async () => {
      attempts += 1;
      if (attempts === 1) throw new Error("ECONNREFUSED");
      await new Promise(() => {});
    });
    const sup = startSupervisor({
      flags: { strategy: "one_for_one", intensity: 5 },
      children: [{ id: "conn", logic: connect }, ...workers(["after"], journal)],
      clock: new SimulatedClock(),
    });
    for (let i = 0; i < 10; i++) await Promise.resolve();

    expect(attempts).toBe(2);
    expect(journal).toEqual(["start:after"]);
    expect(sup.tree()).toMatchObject({ status: "running", children: [{ restarts: 1 }, {}] });
  });
});

describe("a pool's startChild whose child fails in init", () => {
  it("throws FailedToStartChild and leaves the pool and its other children running", () => {
    const journal: string[] = [];
    const { logger, records } = logSink();
    const clock = new SimulatedClock();
    const actor = createActor(
      dynamicSupervisorLogic(
        { intensity: 5 },
        { logic: failsAtStart },
        { clock, logger, name: "pool" },
      ),
      { clock },
    );
    actor.subscribe({ error: () => {} });
    actor.start();
    const pool = poolOf(actor) as DynamicPool;
    const other = createActor(
      dynamicSupervisorLogic({ intensity: 5 }, { logic: worker }, { clock, name: "ok" }),
    );
    other.start();

    expect(() => pool.startChild("x", { name: "x", journal })).toThrow(
      expect.objectContaining({ _tag: "FailedToStartChild", supervisor: "pool", child: "x" }),
    );
    expect(journal).toEqual(["init-failed:x"]);
    expect(pool.count()).toBe(0);
    expect(actor.getSnapshot().status).toBe("active");
    expect(records.filter((r) => r.msg === "child failed to start")).toMatchObject([
      { supervisor: "pool", child: "x", restarts: 0 },
    ]);
    expect(() => pool.startChild("x", { name: "x", journal })).toThrow(/failed to start/);
    expect(actor.getSnapshot().status).toBe("active");
  });
});
