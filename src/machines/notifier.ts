import { assign, fromCallback, fromPromise, setup } from "xstate";

/**
 * The notifier's lifecycle: deliver the mailbox's head, one at a time, in
 * order, while the connection is up.
 *
 * idle --wake [work and online]--> sending --delivered--> idle
 * sending --wait--> waiting --wake--> sending
 *   (wait: link down or over the rate; a wake: link online, new or released
 *   mail, or the next rate token)
 * any --shutdown--> draining: keeps delivering, then done (final)
 *
 * In `running.sending` the `deliver` invocation stays alive while mail keeps
 * coming: it delivers, then waits up to `LINGER_MS` for the next wake, and
 * is done ("delivered") only after that long without one. So the machine
 * shows `sending` while notifications flow and `idle` once they stopped,
 * and a steady rate costs one invocation, not one per socket read. In
 * `draining` it does not wait: the drain ends as soon as nothing is left.
 *
 * A wake that comes while a delivery is in flight is remembered: if that
 * delivery then says "wait" (the link broke under it), the wake may have
 * been the link coming back already, so it checks again instead of waiting
 * for a wake that has passed. A live invocation hears wakes itself and does
 * so inside; the machine's `woken` covers a wake between its end and its
 * done event (then idle, which checks).
 *
 * A delivery that throws is a bug, not an outage: the error is left
 * unhandled so the actor fails and its supervisor restarts it. The mailbox
 * lives outside the actor, so a restart loses nothing.
 */

/** "wait": not sent now (link down, or over the rate); the next wake retries. */
export type DeliveryResult = "delivered" | "wait";

/** How long a `deliver` invocation waits for more mail before it is done. */
export interface DeliverInput {
  lingerMs: number;
}

/** A running notifier's wait for more mail; the inspector shows `sending` meanwhile. */
export const LINGER_MS = 1_000;

export const notifierMachine = setup({
  types: {
    context: {} as { woken: boolean },
    events: {} as { type: "wake" } | { type: "shutdown" },
  },
  actions: {
    remember: assign({ woken: true }),
    forget: assign({ woken: false }),
  },
  actors: {
    deliver: fromPromise<DeliveryResult, DeliverInput>(async () => "wait"),
    watch: fromCallback(() => undefined),
  },
  // Provided by src/actors/notifier.ts: "there is mail and a link to send it
  // on", and "nothing is left to deliver".
  guards: {
    canSend: () => false,
    isEmpty: () => true,
  },
}).createMachine({
  id: "notifier",
  context: { woken: false },
  invoke: { src: "watch" },
  initial: "running",
  states: {
    running: {
      initial: "idle",
      on: { shutdown: "draining" },
      states: {
        idle: {
          always: { guard: "canSend", target: "sending" },
          on: { wake: { guard: "canSend", target: "sending" } },
        },
        sending: {
          entry: "forget",
          on: { wake: { actions: "remember" } },
          invoke: {
            src: "deliver",
            input: { lingerMs: LINGER_MS },
            onDone: [
              { guard: ({ event }) => event.output === "delivered", target: "idle" },
              { guard: ({ context }) => context.woken, target: "idle" },
              { target: "waiting" },
            ],
          },
        },
        // The link refused a send: wait for it to come back instead of spinning.
        waiting: {
          on: { wake: { guard: "canSend", target: "sending" } },
        },
      },
    },
    draining: {
      initial: "check",
      states: {
        check: {
          always: [
            { guard: "isEmpty", target: "#notifier.done" },
            { guard: "canSend", target: "sending" },
          ],
          on: { wake: "check" },
        },
        sending: {
          entry: "forget",
          on: { wake: { actions: "remember" } },
          invoke: {
            src: "deliver",
            input: { lingerMs: 0 },
            onDone: [
              { guard: ({ event }) => event.output === "delivered", target: "check" },
              { guard: ({ context }) => context.woken, target: "check" },
              { target: "waiting" },
            ],
          },
        },
        waiting: { on: { wake: "check" } },
      },
    },
    done: { type: "final" },
  },
});
