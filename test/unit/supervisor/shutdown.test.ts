import { describe, expect, it } from "vitest";
import { SimulatedClock } from "xstate";
import { supervisorLogic } from "../../../src/otp/supervisor.js";
import { startSupervisor } from "../../../src/otp/supervisor-root.js";
import { logSink } from "../../support/log-sink.js";
import { stubborn, workers } from "./children.js";

const stubbornSpec = (
  id: string,
  journal: string[],
  shutdown: number | "brutal_kill" | "infinity",
) => ({
  id,
  logic: stubborn,
  input: { name: id, journal },
  shutdown,
});

describe("shutdown", () => {
  it("stops children in reverse start order and ends normally", async () => {
    const journal: string[] = [];
    const sup = startSupervisor({
      flags: { strategy: "one_for_one" },
      children: workers(["a", "b", "c"], journal),
      clock: new SimulatedClock(),
    });
    journal.length = 0;

    await sup.shutdown();

    expect(journal).toEqual(["stop:c", "stop:b", "stop:a"]);
    expect(await sup.done).toEqual({ exit: "normal" });
    expect(sup.tree().status).toBe("stopped");
  });

  it("forces a child that ignores the request after exactly its timeout", () => {
    const journal: string[] = [];
    const clock = new SimulatedClock();
    const sup = startSupervisor({
      flags: { strategy: "one_for_one" },
      children: [...workers(["a"], journal), stubbornSpec("s", journal, 3000)],
      clock,
    });
    journal.length = 0;

    sup.actor.send({ type: "shutdown" });
    clock.increment(2999);
    expect(journal).toEqual([]);
    expect(sup.actor.getSnapshot().status).toBe("active");

    clock.increment(1);
    expect(journal).toEqual(["killed:s", "stop:a"]);
    expect(sup.actor.getSnapshot().status).toBe("done");
  });

  it("reports a child forced down after its timeout as a shutdown error, reason killed", async () => {
    const { logger, records } = logSink();
    const clock = new SimulatedClock();
    const sup = startSupervisor({
      flags: { strategy: "one_for_one" },
      children: [stubbornSpec("s", [], 3000), stubbornSpec("quick", [], "brutal_kill")],
      clock,
      logger,
    });
    sup.actor.send({ type: "shutdown" });
    clock.increment(3000);
    await sup.done;

    // OTP: `exit(Child, kill)` after the timeout is a shutdown_error; brutal_kill is expected.
    expect(records.filter((r) => (r.level as number) >= 40)).toEqual([
      expect.objectContaining({
        msg: "child shutdown error",
        supervisor: "root",
        child: "s",
        reason: "killed",
        restarts: 0,
      }),
    ]);
  });

  it("does not wait for the timeout when the child stops on request", () => {
    const journal: string[] = [];
    const sup = startSupervisor({
      flags: { strategy: "one_for_one" },
      children: workers(["a"], journal, { shutdown: 60_000 }),
      clock: new SimulatedClock(),
    });
    sup.actor.send({ type: "shutdown" });

    expect(journal).toEqual(["start:a", "stop:a"]);
    expect(sup.actor.getSnapshot().status).toBe("done");
  });

  it("stops a brutal_kill child at once", () => {
    const journal: string[] = [];
    const sup = startSupervisor({
      flags: { strategy: "one_for_one" },
      children: [stubbornSpec("s", journal, "brutal_kill")],
      clock: new SimulatedClock(),
    });
    sup.actor.send({ type: "shutdown" });

    expect(journal).toEqual(["start:s", "killed:s"]);
    expect(sup.actor.getSnapshot().status).toBe("done");
  });

  it("waits for a child supervisor (shutdown infinity) while it honours its own timeouts", () => {
    const journal: string[] = [];
    const clock = new SimulatedClock();
    const inner = supervisorLogic({ strategy: "one_for_one" }, [
      stubbornSpec("deep", journal, 10_000),
    ]);
    const sup = startSupervisor({
      flags: { strategy: "one_for_one" },
      children: [...workers(["a"], journal), { id: "inner", logic: inner }],
      clock,
    });
    sup.actor.send({ type: "shutdown" });

    clock.increment(9_999);
    expect(journal).toEqual(["start:a", "start:deep"]);
    clock.increment(1);
    expect(journal).toEqual(["start:a", "start:deep", "killed:deep", "stop:a"]);
    expect(sup.actor.getSnapshot().status).toBe("done");
  });

  it("never forces an infinity child; XState's stop does", () => {
    const journal: string[] = [];
    const clock = new SimulatedClock();
    const sup = startSupervisor({
      flags: { strategy: "one_for_one" },
      children: [stubbornSpec("s", journal, "infinity")],
      clock,
    });
    sup.actor.send({ type: "shutdown" });
    clock.increment(1e9);
    expect(journal).toEqual(["start:s"]);

    sup.actor.stop();
    expect(journal).toEqual(["start:s", "killed:s"]);
    expect(sup.tree().status).toBe("stopped");
  });

  it("on XState's stop, stops every child at once, youngest first", () => {
    const journal: string[] = [];
    const sup = startSupervisor({
      flags: { strategy: "one_for_one" },
      children: [stubbornSpec("s1", journal, 5000), stubbornSpec("s2", journal, 5000)],
      clock: new SimulatedClock(),
    });
    sup.actor.stop();
    expect(journal).toEqual(["start:s1", "start:s2", "killed:s2", "killed:s1"]);
  });

  it("on a shutdown during a group restart, finishes the stop in progress and restarts nobody", async () => {
    const journal: string[] = [];
    const clock = new SimulatedClock();
    const sup = startSupervisor({
      flags: { strategy: "one_for_all", intensity: 5 },
      children: [
        ...workers(["a"], journal),
        stubbornSpec("b", journal, 1000),
        ...workers(["c"], journal),
      ],
      clock,
    });
    journal.length = 0;
    sup.send("c", { type: "crash" });
    sup.actor.send({ type: "shutdown" });
    expect(journal).toEqual([]);

    clock.increment(1000);
    expect(journal).toEqual(["killed:b", "stop:a"]);
    expect(await sup.done).toEqual({ exit: "normal" });
  });
});
