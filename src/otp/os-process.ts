import { spawn } from "node:child_process";
import type { ActorLogic, AnyActorRef, Snapshot } from "xstate";

/**
 * An OS child process as an XState actor, for a supervisor to own.
 *
 * - The process exiting on its own is a failure: the snapshot goes to
 *   status "error" with an `OsProcessExited`, and the parent receives
 *   `xstate.error.actor.<id>` (so it can restart the child).
 * - `{ type: "shutdown" }` stops the process; once it has exited the actor is
 *   "done" with the exit as output (the parent receives `xstate.done.actor.<id>`).
 * - Stopping the actor (parent leaves the state, `actor.stop()`) also stops the
 *   process, without waiting for it.
 *
 * `fromCallback` cannot fail after it has started, hence custom logic.
 */

export interface OsProcessExit {
  code: number | null;
  signal: string | null;
}

/**
 * What `start` resolves to. `startProsody`'s server already has this shape.
 * `stop()` must be safe to call after the process has exited: the actor calls
 * it then too, so the handle can clean up.
 */
export interface OsProcessHandle {
  readonly pid: number;
  readonly exited: Promise<OsProcessExit>;
  stop(): Promise<void>;
}

export interface OsProcessInput {
  /** Short name for errors and logs, e.g. "prosody". */
  name?: string;
  start: () => Promise<OsProcessHandle>;
}

export type OsProcessEvent = { type: "shutdown" };

type InternalEvent =
  | { type: "os-process.started"; pid: number }
  | { type: "os-process.start-failed"; error: unknown }
  | { type: "os-process.exited"; exit: OsProcessExit };

export type OsProcessPhase = "starting" | "running" | "stopping";

export type OsProcessSnapshot = Snapshot<OsProcessExit> & {
  input: OsProcessInput;
  phase: OsProcessPhase;
  pid: number | undefined;
};

/** The process went away without being asked to. */
export class OsProcessExited extends Error {
  readonly _tag = "OsProcessExited";
  constructor(
    readonly processName: string,
    readonly exit: OsProcessExit,
  ) {
    super(
      `${processName} exited unexpectedly (code ${exit.code}, signal ${exit.signal ?? "none"})`,
    );
    this.name = "OsProcessExited";
  }
}

/** `start()` rejected. */
export class OsProcessStartFailed extends Error {
  readonly _tag = "OsProcessStartFailed";
  constructor(
    readonly processName: string,
    override readonly cause: unknown,
  ) {
    super(`${processName} failed to start: ${cause instanceof Error ? cause.message : cause}`);
    this.name = "OsProcessStartFailed";
  }
}

interface Instance {
  handle: OsProcessHandle | undefined;
  stopRequested: boolean;
}

const instances = new WeakMap<AnyActorRef, Instance>();

function stopQuietly(handle: OsProcessHandle | undefined): void {
  // Nobody awaits this: a failing stop must not become an unhandled rejection.
  handle?.stop().catch(() => {});
}

/** The fields every status shares. */
const keep = ({ input, phase, pid }: OsProcessSnapshot) => ({ input, phase, pid });

export const osProcessLogic: ActorLogic<OsProcessSnapshot, OsProcessEvent, OsProcessInput> = {
  getInitialSnapshot: (_scope, input) => ({
    status: "active",
    output: undefined,
    error: undefined,
    input,
    phase: "starting",
    pid: undefined,
  }),

  start: (snapshot, { self }) => {
    const instance: Instance = { handle: undefined, stopRequested: false };
    instances.set(self, instance);
    const deliver = (event: InternalEvent) => {
      // Events to a finished actor would only produce dev-mode warnings.
      if (self.getSnapshot().status === "active") {
        (self.send as unknown as (e: InternalEvent) => void)(event);
      }
    };
    snapshot.input.start().then(
      (handle) => {
        instance.handle = handle;
        handle.exited.then((exit) => deliver({ type: "os-process.exited", exit }));
        if (instance.stopRequested) stopQuietly(handle);
        deliver({ type: "os-process.started", pid: handle.pid });
      },
      (error: unknown) => deliver({ type: "os-process.start-failed", error }),
    );
  },

  transition: (snapshot, event, { self }) => {
    const instance = instances.get(self);
    const e = event as OsProcessEvent | InternalEvent | { type: "xstate.stop" };
    const name = snapshot.input.name ?? "process";
    switch (e.type) {
      case "os-process.started":
        return snapshot.phase === "starting"
          ? { ...snapshot, phase: "running", pid: e.pid }
          : { ...snapshot, pid: e.pid };
      case "os-process.start-failed":
        return {
          ...keep(snapshot),
          status: "error",
          output: undefined,
          error: new OsProcessStartFailed(name, e.error),
        };
      case "os-process.exited":
        if (snapshot.phase === "stopping") {
          return { ...keep(snapshot), status: "done", output: e.exit, error: undefined };
        }
        // Let the handle release what it holds (temp dirs, listeners); the process is gone.
        stopQuietly(instance?.handle);
        return {
          ...keep(snapshot),
          status: "error",
          output: undefined,
          error: new OsProcessExited(name, e.exit),
        };
      case "shutdown":
        if (snapshot.phase === "stopping" || !instance) return snapshot;
        instance.stopRequested = true;
        stopQuietly(instance.handle);
        return { ...snapshot, phase: "stopping" };
      case "xstate.stop":
        if (instance) {
          instance.stopRequested = true;
          stopQuietly(instance.handle);
          instances.delete(self);
        }
        return { ...keep(snapshot), status: "stopped", output: undefined, error: undefined };
      default:
        return snapshot;
    }
  },

  getPersistedSnapshot: (snapshot) => snapshot,
};

/**
 * A plain command as an `OsProcessHandle`: resolves once spawned; `stop()`
 * sends SIGTERM, then SIGKILL after `stopTimeoutMs`, and waits for the exit.
 */
export function spawnProcess(
  command: string,
  args: readonly string[] = [],
  options: { stopTimeoutMs?: number } = {},
): Promise<OsProcessHandle> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: "ignore" });
    const exited = new Promise<OsProcessExit>((r) =>
      child.once("exit", (code, signal) => r({ code, signal })),
    );
    child.once("error", reject);
    child.once("spawn", () =>
      resolve({
        pid: child.pid ?? -1,
        exited,
        async stop() {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill("SIGTERM");
          const timer = setTimeout(() => child.kill("SIGKILL"), options.stopTimeoutMs ?? 5_000);
          await exited;
          clearTimeout(timer);
        },
      }),
    );
  });
}
