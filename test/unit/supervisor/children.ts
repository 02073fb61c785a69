import { fromCallback, setup } from "xstate";
import { shutdownExit } from "../../../src/otp/supervised-child.js";
import type { ChildSpec } from "../../../src/otp/supervisor-spec.js";

/**
 * Real XState children for the supervisor tests. Each writes what happens to
 * it into a shared journal, so tests read the actual start/stop order.
 */

export interface WorkerInput {
  name: string;
  journal?: string[];
  /** Names whose next start fails in init (the name is taken out as it fails once). */
  failNextStart?: Set<string>;
}

export type WorkerEvent =
  | { type: "crash" }
  | { type: "finish" }
  | { type: "quit" }
  | { type: "shutdown" }
  | { type: "ping" };

/**
 * Handles `shutdown` by finishing; `crash` throws, `finish` ends normally,
 * `quit` ends with the shutdown reason. Fails in init if its name is in `failNextStart`.
 */
export const worker = setup({
  types: {
    input: {} as WorkerInput,
    context: {} as WorkerInput & { pings: number },
    events: {} as WorkerEvent,
  },
  actions: {
    note: ({ context }, what: string) => context.journal?.push(`${what}:${context.name}`),
    begin: ({ context }) => {
      if (context.failNextStart?.delete(context.name)) {
        context.journal?.push(`init-failed:${context.name}`);
        throw new Error(`${context.name} cannot start`);
      }
      context.journal?.push(`start:${context.name}`);
    },
    crash: ({ context }) => {
      throw new Error(`${context.name} crashed`);
    },
    quit: () => {
      throw shutdownExit;
    },
  },
}).createMachine({
  context: ({ input }) => ({ ...input, pings: 0 }),
  entry: "begin",
  initial: "running",
  states: {
    running: {
      on: {
        crash: { actions: "crash" },
        quit: { actions: "quit" },
        finish: { target: "finished" },
        shutdown: { target: "stopped" },
        ping: { actions: ({ context }) => context.pings++ },
      },
    },
    finished: { type: "final", entry: { type: "note", params: "exit" } },
    stopped: { type: "final", entry: { type: "note", params: "stop" } },
  },
});

/** Ignores `shutdown`: only a forced stop ends it. Its cleanup notes "killed". */
export const stubborn = fromCallback<WorkerEvent, WorkerInput>(({ input }) => {
  input.journal?.push(`start:${input.name}`);
  return () => input.journal?.push(`killed:${input.name}`);
});

/** Worker specs named `ids`, all writing into `journal`. */
export const workers = (
  ids: string[],
  journal: string[],
  extra: Partial<ChildSpec> = {},
  failNextStart?: Set<string>,
): ChildSpec[] =>
  ids.map((id) => ({
    id,
    logic: worker,
    input: { name: id, journal, ...(failNextStart ? { failNextStart } : {}) },
    ...extra,
  }));

/** Fails in its init: its first action throws, so the actor is in error the moment it starts. */
export const failsAtStart = setup({
  types: { input: {} as WorkerInput, context: {} as WorkerInput },
  actions: {
    boom: ({ context }) => {
      context.journal?.push(`init-failed:${context.name}`);
      throw new Error(`${context.name} cannot start`);
    },
  },
}).createMachine({
  context: ({ input }) => input,
  entry: "boom",
});
