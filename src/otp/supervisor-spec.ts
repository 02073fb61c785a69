import type { AnyActorLogic } from "xstate";
import { isSupervisionLogic } from "./supervised-child.js";

/**
 * Supervisor flags and child specs are plain data, as in OTP's `supervisor`
 * (https://www.erlang.org/doc/apps/stdlib/supervisor.html). They are checked
 * once, when the supervisor logic is built, into tagged errors whose message
 * says which field is wrong and what would be right.
 */

export type RestartType = "permanent" | "transient" | "temporary";
export type Shutdown = number | "brutal_kill" | "infinity";
export type ChildType = "worker" | "supervisor";
export type Strategy = "one_for_one" | "one_for_all" | "rest_for_one";

export interface ChildSpec {
  id: string;
  logic: AnyActorLogic;
  input?: unknown;
  /** Default "permanent". */
  restart?: RestartType;
  /** Milliseconds, "brutal_kill" or "infinity". Default 5000 for workers, "infinity" for supervisors (as OTP). */
  shutdown?: Shutdown;
  /** Default "supervisor" when `logic` is supervisor logic, else "worker". */
  type?: ChildType;
}

export interface BackoffOptions {
  /** Delay before the first restart of a child, in ms. */
  initial: number;
  /** Upper bound of any delay, in ms. */
  max: number;
  /** Growth per consecutive restart. Default 2. */
  factor?: number;
  /** Fraction 0..1 by which a delay is randomly shortened. Default 0. */
  jitter?: number;
  /** A child that ran this long without exiting starts again from `initial`. Default (initial + max) / 2, as Akka. */
  resetAfter?: number;
}

export interface SupervisorFlags {
  strategy: Strategy;
  /** Restarts tolerated within `period`. Default 1. */
  intensity?: number;
  /** Window for `intensity`, in ms. Default 5000. */
  period?: number;
  backoff?: BackoffOptions;
}

export type ResolvedChildSpec = Required<Omit<ChildSpec, "input">> & { input: unknown };
export type ResolvedBackoff = Required<BackoffOptions>;
export interface ResolvedFlags {
  strategy: Strategy;
  intensity: number;
  period: number;
  backoff: ResolvedBackoff | undefined;
}

export class InvalidChildSpec extends Error {
  readonly _tag = "InvalidChildSpec";
  constructor(
    readonly supervisor: string,
    readonly child: string,
    readonly field: string,
    problem: string,
  ) {
    super(`Supervisor "${supervisor}": child "${child}" ${field} ${problem}.`);
    this.name = "InvalidChildSpec";
  }
}

export class DuplicateChildId extends Error {
  readonly _tag = "DuplicateChildId";
  constructor(
    readonly supervisor: string,
    readonly child: string,
  ) {
    super(
      `Supervisor "${supervisor}": child id "${child}" is used twice; give every child its own id.`,
    );
    this.name = "DuplicateChildId";
  }
}

export class InvalidSupervisorFlags extends Error {
  readonly _tag = "InvalidSupervisorFlags";
  constructor(
    readonly supervisor: string,
    readonly field: string,
    problem: string,
  ) {
    super(`Supervisor "${supervisor}": flag ${field} ${problem}.`);
    this.name = "InvalidSupervisorFlags";
  }
}

const strategies: readonly string[] = ["one_for_one", "one_for_all", "rest_for_one"];
const restartTypes: readonly string[] = ["permanent", "transient", "temporary"];
const childTypes: readonly string[] = ["worker", "supervisor"];

const isCount = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 0;
const isPositive = (n: unknown): n is number =>
  typeof n === "number" && Number.isFinite(n) && n > 0;
const show = (value: unknown): string => (typeof value === "string" ? `"${value}"` : String(value));

export function resolveFlags(flags: SupervisorFlags, supervisor: string): ResolvedFlags {
  const fail = (field: string, problem: string) =>
    new InvalidSupervisorFlags(supervisor, field, problem);
  if (!strategies.includes(flags.strategy)) {
    throw fail("strategy", `is ${show(flags.strategy)}; use "${strategies.join('", "')}"`);
  }
  const intensity = flags.intensity ?? 1;
  if (!isCount(intensity)) {
    throw fail("intensity", `is ${show(intensity)}; use a whole number of restarts, 0 or more`);
  }
  const period = flags.period ?? 5000;
  if (!isPositive(period)) {
    throw fail("period", `is ${show(period)}; use a number of milliseconds above 0`);
  }
  return { strategy: flags.strategy, intensity, period, backoff: resolveBackoff(flags, fail) };
}

function resolveBackoff(
  flags: SupervisorFlags,
  fail: (field: string, problem: string) => Error,
): ResolvedBackoff | undefined {
  const backoff = flags.backoff;
  if (backoff === undefined) return undefined;
  const { initial, max, factor = 2, jitter = 0 } = backoff;
  if (!isPositive(initial)) throw fail("backoff.initial", `is ${show(initial)}; use ms above 0`);
  if (!isPositive(max) || max < initial) {
    throw fail("backoff.max", `is ${show(max)}; use ms at least backoff.initial (${initial})`);
  }
  if (!(Number.isFinite(factor) && factor >= 1)) {
    throw fail("backoff.factor", `is ${show(factor)}; use a number of 1 or more`);
  }
  if (!(Number.isFinite(jitter) && jitter >= 0 && jitter <= 1)) {
    throw fail("backoff.jitter", `is ${show(jitter)}; use a fraction from 0 to 1`);
  }
  const resetAfter = backoff.resetAfter ?? (initial + max) / 2;
  if (!isPositive(resetAfter)) {
    throw fail("backoff.resetAfter", `is ${show(resetAfter)}; use ms above 0`);
  }
  return { initial, max, factor, jitter, resetAfter };
}

export function resolveChildSpecs(
  specs: readonly ChildSpec[],
  supervisor: string,
): ResolvedChildSpec[] {
  const seen = new Set<string>();
  return specs.map((spec, index) => {
    const resolved = resolveChildSpec(spec, supervisor, `#${index + 1}`);
    if (seen.has(resolved.id)) throw new DuplicateChildId(supervisor, resolved.id);
    seen.add(resolved.id);
    return resolved;
  });
}

/** `position` names a child that has no usable id yet, e.g. "#2". */
export function resolveChildSpec(
  spec: ChildSpec,
  supervisor: string,
  position = "template",
): ResolvedChildSpec {
  const hasId = typeof spec.id === "string" && spec.id !== "";
  const name = hasId ? spec.id : position;
  const fail = (field: string, problem: string) =>
    new InvalidChildSpec(supervisor, name, field, problem);
  if (!hasId) throw fail("id", `is ${show(spec.id)}; use a non-empty string`);
  const logic = spec.logic as Partial<AnyActorLogic> | undefined;
  if (typeof logic?.transition !== "function" || typeof logic.getInitialSnapshot !== "function") {
    throw fail(
      "logic",
      "is not XState actor logic; pass a machine, fromCallback/fromPromise logic or supervisor logic",
    );
  }
  const restart = spec.restart ?? "permanent";
  if (!restartTypes.includes(restart)) {
    throw fail("restart", `is ${show(restart)}; use "${restartTypes.join('", "')}"`);
  }
  const supervises = isSupervisionLogic(spec.logic);
  const type = spec.type ?? (supervises ? "supervisor" : "worker");
  if (!childTypes.includes(type)) {
    throw fail("type", `is ${show(type)}; use "worker" or "supervisor"`);
  }
  const shutdown = spec.shutdown ?? (type === "supervisor" ? "infinity" : 5000);
  const validShutdown =
    shutdown === "brutal_kill" ||
    shutdown === "infinity" ||
    (Number.isInteger(shutdown) && (shutdown as number) > 0);
  if (!validShutdown) {
    throw fail(
      "shutdown",
      `is ${show(shutdown)}; use whole ms above 0, "brutal_kill" or "infinity"`,
    );
  }
  if (supervises && spec.input !== undefined) {
    throw fail(
      "input",
      "is set, but supervisor logic takes its context from its parent; remove it",
    );
  }
  return { id: spec.id, logic: spec.logic, input: spec.input, restart, shutdown, type };
}
