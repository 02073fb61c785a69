import { describe, expect, it } from "vitest";
import { fromPromise, SimulatedClock, setup } from "xstate";
import { startSupervisor } from "../../../src/otp/supervisor-root.js";
import { logSink } from "../../support/log-sink.js";
import { workers } from "./children.js";

const pinoKeys = ["level", "time", "pid", "hostname", "name", "msg"];
const ownKeys = (record: Record<string, unknown>) =>
  Object.keys(record).filter((key) => !pinoKeys.includes(key));

/** Lets promise-based children settle; no timers involved. */
async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

/** Throws whatever value `crash` carries, to see how odd reasons are logged. */
const thrower = setup({ types: { events: {} as { type: "crash"; value: unknown } } }).createMachine(
  {
    on: {
      crash: {
        actions: ({ event }) => {
          throw event.value;
        },
      },
    },
  },
);

describe("crash reports", () => {
  it("logs each crash once, with the fixed keys", () => {
    const { logger, records } = logSink();
    const sup = startSupervisor({
      flags: { strategy: "one_for_all", intensity: 5 },
      children: workers(["a", "b"], []),
      clock: new SimulatedClock(),
      logger,
      name: "app",
    });
    sup.send("b", { type: "crash" });
    sup.send("b", { type: "crash" });

    const crashes = records.filter((r) => r.msg === "child crashed");
    expect(crashes.map(ownKeys)).toEqual([
      ["supervisor", "child", "reason", "restarts"],
      ["supervisor", "child", "reason", "restarts"],
    ]);
    expect(crashes).toMatchObject([
      {
        level: 50,
        supervisor: "app",
        child: "b",
        restarts: 0,
        reason: { name: "Error", message: "b crashed" },
      },
      { supervisor: "app", child: "b", restarts: 1 },
    ]);
  });

  it("does not report normal or shutdown exits as crashes", () => {
    const { logger, records } = logSink();
    const sup = startSupervisor({
      flags: { strategy: "one_for_one", intensity: 5 },
      children: workers(["a", "b"], [], { restart: "transient" }),
      clock: new SimulatedClock(),
      logger,
    });
    sup.send("a", { type: "finish" });
    sup.send("b", { type: "quit" });

    expect(records.filter((r) => (r.level as number) >= 40)).toEqual([]);
  });

  it("reduces any reason to plain data", () => {
    const { logger, records } = logSink();
    const cyclic: Record<string, unknown> = { code: 7 };
    cyclic.self = cyclic;
    const sup = startSupervisor({
      flags: { strategy: "one_for_one", intensity: 5 },
      children: [{ id: "t", logic: thrower }],
      clock: new SimulatedClock(),
      logger,
    });
    for (const value of ["boom", { code: 42 }, cyclic]) sup.send("t", { type: "crash", value });

    expect(records.map((r) => r.reason)).toEqual(["boom", { code: 42 }, "[object Object]"]);
  });

  it("reports a rejected promise child, restarted with the same input", async () => {
    const { logger, records } = logSink();
    let calls = 0;
    const fetcher = fromPromise<string, { url: string }>(async ({ input }) => {
      calls += 1;
      if (calls === 1) throw new TypeError(`cannot fetch ${input.url}`);
      return "ok";
    });
    startSupervisor({
      flags: { strategy: "one_for_one", intensity: 5 },
      children: [{ id: "fetch", logic: fetcher, input: { url: "x:" }, restart: "transient" }],
      clock: new SimulatedClock(),
      logger,
    });
    await flush();

    expect(calls).toBe(2);
    expect(records.filter((r) => r.level === 50)).toMatchObject([
      {
        msg: "child crashed",
        child: "fetch",
        reason: { name: "TypeError", message: "cannot fetch x:" },
      },
    ]);
  });
});

describe("escalation report", () => {
  it("logs the give-up once, with its keys, after the crash that caused it", async () => {
    const { logger, records } = logSink();
    const sup = startSupervisor({
      flags: { strategy: "one_for_one", intensity: 1, period: 3000 },
      children: workers(["a"], []),
      clock: new SimulatedClock(),
      logger,
    });
    sup.send("a", { type: "crash" });
    sup.send("a", { type: "crash" });
    await sup.done;

    expect(records.map((r) => r.msg)).toEqual([
      "child crashed",
      "child crashed",
      "supervisor gave up",
    ]);
    const gaveUp = records[2] ?? {};
    expect(ownKeys(gaveUp)).toEqual(["supervisor", "reason", "restarts", "intensity", "period"]);
    expect(gaveUp).toMatchObject({
      supervisor: "root",
      restarts: 2,
      intensity: 1,
      period: 3000,
      reason: {
        name: "SupervisorGaveUp",
        message:
          'supervisor "root" gave up: 2 restarts within 3000 ms exceed its intensity of 1; last, child "a" crashed: a crashed',
      },
    });
  });
});
