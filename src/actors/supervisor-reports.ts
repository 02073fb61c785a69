import type { Logger } from "../log.js";

/**
 * What a supervisor tells the operator. Each crash is logged once, by the
 * supervisor that saw it, with fixed keys; each escalation once, by the
 * supervisor that gave up. Reasons are reduced to plain data first.
 */

/** The reason a supervisor fails with when its children restart too often (OTP's `reached_max_restart_intensity`). */
export class SupervisorGaveUp extends Error {
  readonly _tag = "SupervisorGaveUp";
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

const exitPhrase = (cause: unknown): string => {
  const described = describeReason(cause);
  if (typeof described === "object" && described !== null && "message" in described) {
    return `crashed: ${String(described.message)}`;
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

export function reportCrash(logger: Logger, report: CrashReport): void {
  logger.error({ ...report, reason: describeReason(report.reason) }, "child crashed");
}

export function reportGiveUp(logger: Logger, failure: SupervisorGaveUp): void {
  const { supervisor, restarts, intensity, period } = failure;
  logger.error(
    { supervisor, reason: describeReason(failure), restarts, intensity, period },
    "supervisor gave up",
  );
}
