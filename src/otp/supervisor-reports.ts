import type { Logger } from "pino";
import { isShutdownExit, type SupervisedChild } from "./supervised-child.js";

/**
 * What a supervisor tells the operator. Each crash is logged once, by the
 * supervisor that saw it, with fixed keys; each escalation once, by the
 * supervisor that gave up. Reasons are reduced to plain data first.
 *
 * The reports are OTP's error contexts: "child crashed" and "child terminated"
 * (`child_terminated`), "child failed to start" (`start_error`), "child
 * shutdown error" (`shutdown_error`), each with the keys supervisor, child,
 * reason, restarts.
 */

/**
 * The reason a supervisor fails with when its children restart too often.
 * As OTP, it is a shutdown (`exit: "shutdown"`): the supervisor ended on
 * purpose, so a transient parent does not restart it.
 */
export class SupervisorGaveUp extends Error {
  readonly _tag = "SupervisorGaveUp";
  readonly exit = "shutdown";
  constructor(
    readonly supervisor: string,
    readonly child: string,
    readonly lastReason: unknown,
    readonly restarts: number,
    readonly intensity: number,
    readonly period: number,
  ) {
    super(
      `supervisor "${supervisor}" gave up: ${restarts} restarts within ${period} ms exceed its intensity of ${intensity}; last, child "${child}" ${exitPhrase(lastReason)}`,
    );
    this.name = "SupervisorGaveUp";
  }
}

/** OTP's `{shutdown, {failed_to_start_child, Id, Reason}}`: a start that failed because child `child` did. */
export class FailedToStartChild extends Error {
  readonly _tag = "FailedToStartChild";
  readonly exit = "shutdown";
  constructor(
    readonly supervisor: string,
    readonly child: string,
    readonly reason: unknown,
  ) {
    super(`supervisor "${supervisor}": child "${child}" failed to start: ${reasonText(reason)}`);
    this.name = "FailedToStartChild";
  }
}

const reasonText = (reason: unknown): string => {
  const described = describeReason(reason);
  if (typeof described === "object" && described !== null && "message" in described) {
    return String(described.message);
  }
  return JSON.stringify(described);
};

const exitPhrase = (cause: unknown): string => {
  const described = describeReason(cause);
  if (typeof described === "object" && described !== null && "message" in described) {
    return `${isShutdownExit(cause) ? "shut down" : "crashed"}: ${String(described.message)}`;
  }
  return cause === undefined ? "exited" : `crashed: ${JSON.stringify(described)}`;
};

/** A reason as a log line or a test can hold it: never a raw object graph. */
export function describeReason(reason: unknown): unknown {
  if (reason instanceof Error) {
    const tag = Reflect.get(reason, "_tag");
    return typeof tag === "string"
      ? { name: reason.name, message: reason.message, tag }
      : { name: reason.name, message: reason.message };
  }
  if (reason === undefined || reason === null) return null;
  if (typeof reason !== "object") return reason;
  try {
    return JSON.parse(JSON.stringify(reason));
  } catch {
    return String(reason);
  }
}

export interface CrashReport {
  supervisor: string;
  child: string;
  reason: unknown;
  restarts: number;
}

export const crashReport = (
  supervisor: string,
  child: SupervisedChild,
  reason: unknown,
): CrashReport => ({ supervisor, child: child.spec.id, reason, restarts: child.restarts });

export function reportCrash(logger: Logger, report: CrashReport): void {
  logger.error({ ...report, reason: describeReason(report.reason) }, "child crashed");
}

/** A child that ended with `normal` or a shutdown reason and is restarted all the same (a permanent one). */
export function reportTerminated(logger: Logger, report: CrashReport): void {
  logger.warn({ ...report, reason: describeReason(report.reason) }, "child terminated");
}

export function reportStartError(logger: Logger, report: CrashReport): void {
  logger.error({ ...report, reason: describeReason(report.reason) }, "child failed to start");
}

/** A child that did not stop cleanly when asked: it crashed meanwhile, or was forced (`killed`). */
export function reportShutdownError(logger: Logger, report: CrashReport): void {
  logger.error({ ...report, reason: describeReason(report.reason) }, "child shutdown error");
}

export function reportGiveUp(logger: Logger, failure: SupervisorGaveUp): void {
  const { supervisor, restarts, intensity, period } = failure;
  logger.error(
    { supervisor, reason: describeReason(failure), restarts, intensity, period },
    "supervisor gave up",
  );
}
