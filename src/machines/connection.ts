import { assign, fromCallback, fromPromise, setup } from "xstate";

/**
 * The lifecycle of the daemon's XMPP component connection.
 *
 * connecting --ok--> online --link.down--> backoff --after delay--> connecting
 * connecting --failed--> backoff
 * any --shutdown--> stopped (final)
 *
 * The machine decides *when*; the actors it invokes (provided by
 * src/actors/connection.ts) do the I/O. Delays come from `input.delayFor`
 * (jittered, capped exponential) and run on the actor's injected clock.
 */
export interface ConnectionInput {
  /** Delay in ms before reconnect attempt number `attempt` (1-based). */
  delayFor: (attempt: number) => number;
}

export interface ConnectionContext {
  attempt: number;
  lastError: string | undefined;
  delayFor: (attempt: number) => number;
}

export type ConnectionEvent = { type: "link.down"; reason: string } | { type: "shutdown" };

export const connectionMachine = setup({
  types: {
    context: {} as ConnectionContext,
    input: {} as ConnectionInput,
    events: {} as ConnectionEvent,
  },
  actors: {
    connect: fromPromise<void>(async () => {
      throw new Error("connect is provided by src/actors/connection.ts");
    }),
    watch: fromCallback(() => undefined),
    close: fromPromise<void>(async () => undefined),
  },
  delays: {
    backoff: ({ context }) => context.delayFor(context.attempt),
  },
}).createMachine({
  id: "connection",
  context: ({ input }) => ({ attempt: 0, lastError: undefined, delayFor: input.delayFor }),
  initial: "connecting",
  on: { shutdown: ".closing" },
  states: {
    connecting: {
      invoke: {
        src: "connect",
        onDone: { target: "online" },
        onError: {
          target: "backoff",
          actions: assign({
            lastError: ({ event }) => String((event.error as Error)?.message ?? event.error),
          }),
        },
      },
    },
    online: {
      entry: assign({ attempt: 0, lastError: undefined }),
      invoke: { src: "watch" },
      on: {
        "link.down": {
          target: "backoff",
          actions: assign({ lastError: ({ event }) => event.reason }),
        },
      },
    },
    backoff: {
      entry: assign({ attempt: ({ context }) => context.attempt + 1 }),
      after: { backoff: "connecting" },
    },
    closing: {
      invoke: { src: "close", onDone: "stopped", onError: "stopped" },
    },
    stopped: { type: "final" },
  },
});
