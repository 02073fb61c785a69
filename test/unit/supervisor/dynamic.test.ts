import { describe, expect, it } from "vitest";
import { createActor, SimulatedClock } from "xstate";
import {
  type ChildTemplate,
  type DynamicPool,
  dynamicSupervisorLogic,
  poolOf,
  SupervisorNotRunning,
} from "../../../src/otp/dynamic-supervisor.js";
import { startSupervisor } from "../../../src/otp/supervisor-root.js";
import { DuplicateChildId } from "../../../src/otp/supervisor-spec.js";
import { logSink } from "../../support/log-sink.js";
import { stubborn, worker, workers } from "./children.js";

function startPool(template: ChildTemplate, flags = { intensity: 5 }) {
  const clock = new SimulatedClock();
  const actor = createActor(dynamicSupervisorLogic(flags, template, { clock, name: "pool" }), {
    clock,
  });
  actor.subscribe({ error: () => {} });
  actor.start();
  return { actor, clock, pool: poolOf(actor) as DynamicPool };
}

describe("dynamic supervisor", () => {
  it("starts children of one kind on demand, each with its own input", () => {
    const journal: string[] = [];
    const { pool } = startPool({ logic: worker });
    pool.startChild("alice", { name: "alice", journal });
    pool.startChild("bob", { name: "bob", journal });

    expect(journal).toEqual(["start:alice", "start:bob"]);
    expect(pool.count()).toBe(2);
    expect(pool.whereis("bob")?.getSnapshot().context.name).toBe("bob");
  });

  it("holds 5000 children and stops them all on shutdown", () => {
    const { actor, pool } = startPool({ logic: worker });
    for (let i = 0; i < 5000; i++) pool.startChild(`s${i}`, { name: `s${i}` });
    expect(pool.count()).toBe(5000);

    actor.send({ type: "shutdown" });

    expect(pool.count()).toBe(0);
    expect(actor.getSnapshot().status).toBe("done");
    // About 4 s on two loaded cores: the point is the count, not the speed.
  }, 30_000);

  it("terminates one child gracefully and forgets it", () => {
    const journal: string[] = [];
    const { clock, pool } = startPool({ logic: stubborn, shutdown: 2000 });
    pool.startChild("a", { name: "a", journal });
    pool.startChild("b", { name: "b", journal });

    expect(pool.terminateChild("a")).toBe(true);
    expect(pool.terminateChild("nobody")).toBe(false);
    clock.increment(2000);

    expect(journal).toEqual(["start:a", "start:b", "killed:a"]);
    expect(pool.count()).toBe(1);
  });

  it("reports a child forced down after its timeout as a shutdown error, reason killed", () => {
    const { logger, records } = logSink();
    const clock = new SimulatedClock();
    const actor = createActor(
      dynamicSupervisorLogic(
        {},
        { logic: stubborn, shutdown: 2000 },
        { clock, logger, name: "pool" },
      ),
      { clock },
    );
    actor.start();
    const pool = poolOf(actor) as DynamicPool;
    pool.startChild("a", { name: "a" });
    pool.startChild("b", { name: "b" });

    pool.terminateChild("a");
    clock.increment(2000);
    actor.send({ type: "shutdown" });
    clock.increment(2000);

    expect(actor.getSnapshot().status).toBe("done");
    expect(records.filter((r) => (r.level as number) >= 40)).toMatchObject([
      { msg: "child shutdown error", supervisor: "pool", child: "a", reason: "killed" },
      { msg: "child shutdown error", supervisor: "pool", child: "b", reason: "killed" },
    ]);
  });

  it("restarts per restart type, with the same input", () => {
    const journal: string[] = [];
    const { pool } = startPool({ logic: worker, restart: "transient" });
    pool.startChild("a", { name: "a", journal });
    pool.startChild("b", { name: "b", journal });

    pool.whereis("a")?.send({ type: "crash" });
    pool.whereis("b")?.send({ type: "finish" });

    expect(journal).toEqual(["start:a", "start:b", "start:a", "exit:b"]);
    expect(pool.count()).toBe(1);
  });

  it("refuses a duplicate id and, once stopping, any new child", () => {
    const { actor, pool } = startPool({ logic: stubborn, shutdown: "infinity" });
    pool.startChild("a", { name: "a" });
    expect(() => pool.startChild("a", { name: "a" })).toThrow(DuplicateChildId);

    actor.send({ type: "shutdown" });
    expect(() => pool.startChild("b", { name: "b" })).toThrow(SupervisorNotRunning);
  });

  it("gives up past its intensity, like any supervisor", () => {
    const { logger, records } = logSink();
    const clock = new SimulatedClock();
    const actor = createActor(
      dynamicSupervisorLogic({ intensity: 1 }, { logic: worker }, { clock, logger, name: "pool" }),
    );
    let failure: unknown;
    actor.subscribe({ error: (reason) => (failure = reason) });
    actor.start();
    const pool = poolOf(actor) as DynamicPool;
    pool.startChild("a", { name: "a" });
    pool.startChild("b", { name: "b" });

    pool.whereis("a")?.send({ type: "crash" });
    pool.whereis("b")?.send({ type: "crash" });

    expect(actor.getSnapshot().status).toBe("error");
    expect(failure).toMatchObject({
      _tag: "SupervisorGaveUp",
      supervisor: "pool",
      exit: "shutdown",
    });
    expect(records.filter((r) => r.msg === "supervisor gave up")).toHaveLength(1);
  });

  it("runs as a child of a static supervisor, reachable through the root handle", () => {
    const journal: string[] = [];
    const sup = startSupervisor({
      flags: { strategy: "rest_for_one", intensity: 5 },
      children: [
        { id: "sessions", logic: dynamicSupervisorLogic({ intensity: 5 }, { logic: worker }) },
        ...workers(["notifier"], journal),
      ],
      clock: new SimulatedClock(),
    });
    sup.pool("sessions")?.startChild("alice", { name: "alice", journal });
    sup.send("alice", { type: "crash" });

    expect(sup.tree().children?.[0]).toEqual({
      id: "sessions",
      type: "supervisor",
      status: "running",
      restarts: 0,
      children: [{ id: "alice", type: "worker", status: "running", restarts: 1 }],
    });
    expect(journal).toEqual(["start:notifier", "start:alice", "start:alice"]);
  });
});
