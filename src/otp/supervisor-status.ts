import type { NodeStatus, Outcome } from "./supervised-child.js";
import type { SupervisorGaveUp } from "./supervisor-reports.js";

/**
 * A static supervisor's own lifecycle, as one value (each child has its own
 * status): `starting` while its children start in spec order, `running`,
 * `stopping` while every child is stopped youngest first (for a shutdown, or
 * because restarts exceeded the intensity), then `stopped` or `failed`. A
 * start whose child fails its init goes straight to `failed`; XState's stop
 * goes straight to `stopped`. A group restart is an operation of a running
 * supervisor, not a status of its own (its tree node says "restarting").
 */
export type SupervisorStatus =
  | { kind: "starting" }
  | { kind: "running" }
  | { kind: "stopping"; cause: "shutdown" | SupervisorGaveUp }
  | { kind: "stopped" }
  | { kind: "failed"; error: unknown };

/** How the supervisor's actor ends in `status`, if it ends. */
export function outcomeOf(status: SupervisorStatus): Outcome | undefined {
  if (status.kind === "stopped") return { status: "done" };
  if (status.kind === "failed") return { status: "error", error: status.error };
  return undefined;
}

/**
 * The supervisor's node in `tree()`. Starting and stopping show as running
 * (the children say what is starting or stopping); `operating`: stops or a
 * backoff of a group restart are under way.
 */
export function nodeStatusOf(status: SupervisorStatus, operating: boolean): NodeStatus {
  if (status.kind === "stopped" || status.kind === "failed") return status.kind;
  return status.kind === "running" && operating ? "restarting" : "running";
}
