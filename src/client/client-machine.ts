import { assign, fromPromise, setup } from "xstate";
import type { SnapshotOutcome } from "./snapshot-pager.js";

/**
 * The consumer's lifecycle: log in, ask what the daemon supports, page a
 * snapshot, stay live; again after every reconnect and resync signal.
 *
 *     idle --start--> connecting --ok--> online --closed--> backoff --delay--> connecting
 *                                                 online: probing -> paging -> live
 *                                                                 \-> unspliced (no snapshot feature)
 *     connecting --refused credentials--> failed;  any --stop--> closing -> stopped
 *
 * The machine decides when; src/client/runtime.ts provides the actors (the
 * I/O) and the actions (the view, src/client/view-splice.ts). Delays run on
 * the actor's injected clock.
 */

export interface ClientMachineInput {
  /** Delay in ms before retry number `attempt` (1-based), of a login or of a snapshot. */
  readonly delayFor: (attempt: number) => number;
}

/** Why the snapshot being paged was asked for (reported with it). */
export interface SnapshotTrigger {
  readonly trigger: "connect" | "resync" | "restart";
  readonly reason?: string;
}

interface Context {
  readonly delayFor: (attempt: number) => number;
  readonly attempt: number;
  readonly pageFailures: number;
  readonly lastError: string | undefined;
  readonly why: SnapshotTrigger;
}

export type ClientEvent =
  | { type: "start" }
  | { type: "stop" }
  | { type: "closed"; reason: string }
  /** The daemon's resync signal, when the view needs a new snapshot now. */
  | { type: "resync"; reason: string }
  /** The paging buffer overflowed: start the snapshot over. */
  | { type: "overflow" };

const errorText = (error: unknown) => String((error as Error)?.message ?? error);
const isRefusal = (error: unknown) =>
  (error as { _tag?: string } | null)?._tag === "CredentialsRefused";

export const clientMachine = setup({
  types: {
    context: {} as Context,
    input: {} as ClientMachineInput,
    events: {} as ClientEvent,
  },
  actors: {
    connect: fromPromise<void>(async () => {
      throw new Error("provided by src/client/runtime.ts");
    }),
    probe: fromPromise<boolean>(async () => false),
    page: fromPromise<SnapshotOutcome>(async () => ({ _tag: "failed", reason: "not provided" })),
    close: fromPromise<void>(async () => undefined),
  },
  actions: {
    beginPaging: () => undefined,
    completed: (_, _params: { outcome: SnapshotOutcome; why: SnapshotTrigger }) => undefined,
    abandon: () => undefined,
    dropSession: () => undefined,
    warn: (_, _params: { message: string }) => undefined,
  },
  guards: {
    supported: (_, params: { output: boolean }) => params.output,
    complete: (_, params: { outcome: SnapshotOutcome }) => params.outcome._tag === "complete",
    fruitless: (_, params: { outcome: SnapshotOutcome }) =>
      params.outcome._tag === "unsupported" || params.outcome._tag === "refused",
  },
  delays: {
    backoff: ({ context }) => context.delayFor(context.attempt),
    pageRetry: ({ context }) => context.delayFor(context.pageFailures),
  },
}).createMachine({
  id: "presence-client",
  context: ({ input }) => ({
    delayFor: input.delayFor,
    attempt: 0,
    pageFailures: 0,
    lastError: undefined,
    why: { trigger: "connect" },
  }),
  initial: "idle",
  on: { stop: ".closing" },
  states: {
    idle: { on: { start: "connecting" } },
    connecting: {
      invoke: {
        src: "connect",
        onDone: "online",
        onError: [
          {
            guard: ({ event }) => isRefusal(event.error),
            target: "failed",
            actions: assign({ lastError: ({ event }) => errorText(event.error) }),
          },
          {
            target: "backoff",
            actions: assign({ lastError: ({ event }) => errorText(event.error) }),
          },
        ],
      },
    },
    online: {
      entry: assign({ attempt: 0, pageFailures: 0, why: { trigger: "connect" } }),
      exit: "dropSession",
      on: {
        closed: { target: "backoff", actions: assign({ lastError: ({ event }) => event.reason }) },
      },
      initial: "probing",
      states: {
        probing: {
          invoke: {
            src: "probe",
            onDone: [
              { guard: { type: "supported", params: ({ event }) => event }, target: "paging" },
              { target: "unspliced", actions: "abandon" },
            ],
            // No answer is not "no feature": ask again after a while.
            onError: {
              target: "reprobing",
              actions: {
                type: "warn",
                params: ({ event }) => ({ message: `disco#info: ${errorText(event.error)}` }),
              },
            },
          },
        },
        reprobing: {
          entry: assign({ pageFailures: ({ context }) => context.pageFailures + 1 }),
          after: { pageRetry: "probing" },
        },
        paging: {
          entry: "beginPaging",
          on: {
            overflow: {
              target: "paging",
              reenter: true,
              actions: assign({ why: { trigger: "restart", reason: "buffer-overflow" } }),
            },
          },
          invoke: {
            src: "page",
            onDone: [
              {
                guard: { type: "complete", params: ({ event }) => ({ outcome: event.output }) },
                target: "live",
                actions: [
                  {
                    type: "completed",
                    params: ({ event, context }) => ({ outcome: event.output, why: context.why }),
                  },
                  assign({ pageFailures: 0 }),
                ],
              },
              {
                guard: { type: "fruitless", params: ({ event }) => ({ outcome: event.output }) },
                target: "unspliced",
                actions: [
                  {
                    type: "warn",
                    params: ({ event }) => ({
                      message: `the daemon answered the snapshot request with ${(event.output as { condition: string }).condition}: notifications only on this connection`,
                    }),
                  },
                  "abandon",
                ],
              },
              {
                target: "retrying",
                actions: [
                  {
                    type: "warn",
                    params: ({ event }) => ({
                      message: `snapshot: ${(event.output as { reason: string }).reason}`,
                    }),
                  },
                ],
              },
            ],
            onError: {
              target: "retrying",
              actions: {
                type: "warn",
                params: ({ event }) => ({ message: `snapshot: ${errorText(event.error)}` }),
              },
            },
          },
        },
        retrying: {
          entry: assign({
            pageFailures: ({ context }) => context.pageFailures + 1,
            why: { trigger: "restart", reason: "retry" },
          }),
          after: { pageRetry: "paging" },
        },
        live: {
          on: {
            resync: {
              target: "paging",
              actions: assign({
                why: ({ event }) => ({ trigger: "resync", reason: event.reason }),
              }),
            },
          },
        },
        unspliced: { on: { resync: "probing" } },
      },
    },
    backoff: {
      entry: assign({ attempt: ({ context }) => context.attempt + 1 }),
      after: { backoff: "connecting" },
    },
    closing: { invoke: { src: "close", onDone: "stopped", onError: "stopped" } },
    stopped: { type: "final" },
    failed: { type: "final" },
  },
});
