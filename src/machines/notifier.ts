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
 * A wake that comes while a delivery is in flight is remembered: if that
 * delivery then says "wait" (the link broke under it), the wake may have
 * been the link coming back already, so the machine checks again (idle)
 * instead of waiting for a wake that has passed.
 *
 * A delivery that throws is a bug, not an outage: the error is left
 * unhandled so the actor fails and its supervisor restarts it. The mailbox
 * lives outside the actor, so a restart loses nothing.
 */

/** "wait": not sent now (link down, or over the rate); the next wake retries. */
export type DeliveryResult = "delivered" | "wait";

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
    deliver: fromPromise<DeliveryResult>(async () => "wait"),
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
