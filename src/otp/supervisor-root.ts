import type { Logger } from "pino";
import { type Actor, type AnyActorRef, type AnyEventObject, createActor } from "xstate";
import type { Clock } from "./clock.js";
import { type DynamicPool, poolOf } from "./dynamic-supervisor.js";
import { type SupervisionTree, viewOf } from "./supervised-child.js";
import { type SupervisorLogic, type SupervisorOptions, supervisorLogic } from "./supervisor.js";
import type { ChildSpec, SupervisorFlags } from "./supervisor-spec.js";

/**
 * The top of a supervision tree, as the daemon holds it. At the root,
 * escalation means the daemon must end: `done` resolves with `exit: "failed"`
 * and the caller sets a non-zero exit code (`exitCodeOf`). A give-up or a
 * failed start is a shutdown exit to a parent (OTP), but the root has none:
 * for the process it is a failure, exit 70. The root's own "supervisor gave
 * up" (or "child failed to start") record is the one report; nothing here
 * logs again.
 */

export type RootExit = { exit: "normal" } | { exit: "failed"; reason: unknown };

export interface SupervisorHandle {
  readonly name: string;
  readonly actor: Actor<SupervisorLogic>;
  /** The current actor of child `id` anywhere in the tree (after a restart, the new one); nearest level first. */
  whereis(id: string): AnyActorRef | undefined;
  /** Sends `event` to child `id`; false when it is not running. */
  send(id: string, event: AnyEventObject): boolean;
  /** The pool API of dynamic supervisor `id`, if it is running. */
  pool(id: string): DynamicPool | undefined;
  /** A plain-data snapshot of the live tree. */
  tree(): SupervisionTree;
  /** Stops every child in reverse start order, honouring their shutdown timeouts. */
  shutdown(): Promise<void>;
  readonly done: Promise<RootExit>;
}

export interface StartSupervisorOptions
  extends Omit<SupervisorOptions, "name" | "clock" | "logger"> {
  flags: SupervisorFlags;
  children: readonly ChildSpec[];
  clock?: Clock;
  logger?: Logger;
  /** Default "root". */
  name?: string;
}

/** EX_SOFTWARE from sysexits.h: the process exits with it when its root supervisor gave up. */
export const exitCodeOf = (result: RootExit): number => (result.exit === "failed" ? 70 : 0);

export function startSupervisor(options: StartSupervisorOptions): SupervisorHandle {
  const { flags, children, name = "root", ...rest } = options;
  const logic = supervisorLogic(flags, children, { ...rest, name });
  const actor = createActor(logic, {
    id: name,
    ...(rest.clock ? { clock: rest.clock } : {}),
    ...(rest.inspect ? { inspect: rest.inspect } : {}),
  });
  const done = new Promise<RootExit>((resolve) => {
    actor.subscribe({
      next: (snapshot) => {
        if (snapshot.status === "done") resolve({ exit: "normal" });
      },
      error: (reason) => resolve({ exit: "failed", reason }),
      complete: () => resolve({ exit: "normal" }),
    });
  });
  actor.start();
  const view = () => viewOf(actor);
  const whereis = (id: string) => view()?.whereis(id);
  return {
    name,
    actor,
    whereis,
    send(id, event) {
      const ref = whereis(id);
      ref?.send(event);
      return ref !== undefined;
    },
    pool: (id) => poolOf(whereis(id)),
    tree: () => ({
      id: name,
      type: "supervisor",
      status: view()?.status() ?? "stopped",
      restarts: 0,
      children: view()?.children() ?? [],
    }),
    async shutdown() {
      actor.send({ type: "shutdown" });
      await done;
    },
    done,
  };
}
