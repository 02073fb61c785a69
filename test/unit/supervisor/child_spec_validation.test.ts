import { describe, expect, it } from "vitest";
import { SimulatedClock } from "xstate";
import { dynamicSupervisorLogic } from "../../../src/otp/dynamic-supervisor.js";
import { supervisorLogic } from "../../../src/otp/supervisor.js";
import { startSupervisor } from "../../../src/otp/supervisor-root.js";
import {
  type ChildSpec,
  DuplicateChildId,
  InvalidChildSpec,
  InvalidSupervisorFlags,
  type SupervisorFlags,
} from "../../../src/otp/supervisor-spec.js";
import { worker, workers } from "./children.js";

const start = (flags: Partial<SupervisorFlags>, children: unknown[]) => () =>
  startSupervisor({
    flags: { strategy: "one_for_one", ...flags } as SupervisorFlags,
    children: children as ChildSpec[],
    clock: new SimulatedClock(),
    name: "app",
  });
const ok = { id: "w", logic: worker };

describe("supervisor flags", () => {
  it.each([
    [
      { strategy: "one_for_some" },
      'Supervisor "app": flag strategy is "one_for_some"; use "one_for_one", "one_for_all", "rest_for_one".',
    ],
    [
      { intensity: -1 },
      'Supervisor "app": flag intensity is -1; use a whole number of restarts, 0 or more.',
    ],
    [
      { intensity: 1.5 },
      'Supervisor "app": flag intensity is 1.5; use a whole number of restarts, 0 or more.',
    ],
    [{ period: 0 }, 'Supervisor "app": flag period is 0; use a number of milliseconds above 0.'],
    [
      { backoff: { initial: 500, max: 100 } },
      'Supervisor "app": flag backoff.max is 100; use ms at least backoff.initial (500).',
    ],
    [
      { backoff: { initial: 100, max: 500, jitter: 2 } },
      'Supervisor "app": flag backoff.jitter is 2; use a fraction from 0 to 1.',
    ],
    [
      { backoff: { initial: 100, max: 500, factor: 0.5 } },
      'Supervisor "app": flag backoff.factor is 0.5; use a number of 1 or more.',
    ],
  ])("rejects %j", (flags, message) => {
    const attempt = start(flags as Partial<SupervisorFlags>, [ok]);
    expect(attempt).toThrow(InvalidSupervisorFlags);
    expect(attempt).toThrow(message);
  });
});

describe("child specs", () => {
  it.each([
    [{ logic: worker }, 'Supervisor "app": child "#1" id is undefined; use a non-empty string.'],
    [
      { id: "w", logic: {} },
      'Supervisor "app": child "w" logic is not XState actor logic; pass a machine, fromCallback/fromPromise logic or supervisor logic.',
    ],
    [
      { ...ok, restart: "sometimes" },
      'Supervisor "app": child "w" restart is "sometimes"; use "permanent", "transient", "temporary".',
    ],
    [
      { ...ok, shutdown: 0 },
      'Supervisor "app": child "w" shutdown is 0; use whole ms above 0, "brutal_kill" or "infinity".',
    ],
    [
      { ...ok, shutdown: "later" },
      'Supervisor "app": child "w" shutdown is "later"; use whole ms above 0, "brutal_kill" or "infinity".',
    ],
    [
      { ...ok, type: "manager" },
      'Supervisor "app": child "w" type is "manager"; use "worker" or "supervisor".',
    ],
    [
      { id: "sub", logic: supervisorLogic({ strategy: "one_for_one" }, []), input: {} },
      'Supervisor "app": child "sub" input is set, but supervisor logic takes its context from its parent; remove it.',
    ],
  ])("rejects %j", (spec, message) => {
    const attempt = start({}, [spec]);
    expect(attempt).toThrow(InvalidChildSpec);
    expect(attempt).toThrow(message);
  });

  it("rejects two children with one id, before starting any child", () => {
    const journal: string[] = [];
    const attempt = start({}, [...workers(["a", "b"], journal), ...workers(["a"], journal)]);
    expect(attempt).toThrow(DuplicateChildId);
    expect(attempt).toThrow(
      'Supervisor "app": child id "a" is used twice; give every child its own id.',
    );
    expect(journal).toEqual([]);
  });

  it("tags every error for matching without instanceof", () => {
    const tags = [
      start({ strategy: "x" as never }, [ok]),
      start({}, [{ id: "" }]),
      start({}, [ok, ok]),
    ].map((attempt) => {
      try {
        attempt();
      } catch (error) {
        return (error as { _tag: string })._tag;
      }
      return "nothing thrown";
    });
    expect(tags).toEqual(["InvalidSupervisorFlags", "InvalidChildSpec", "DuplicateChildId"]);
  });

  it("checks a dynamic supervisor's template the same way", () => {
    expect(() =>
      dynamicSupervisorLogic({}, { logic: worker, restart: "never" as never }, { name: "pool" }),
    ).toThrow(
      'Supervisor "pool": child "template" restart is "never"; use "permanent", "transient", "temporary".',
    );
  });
});
