import { fromCallback, fromPromise } from "xstate";
import { type DeliveryResult, notifierMachine } from "../machines/notifier.js";
import { Delivery, type DeliveryDeps } from "../outbox/delivery.js";

/** What the notifier reads: its delivery step's (src/outbox/delivery.ts). */
export type NotifierDeps = DeliveryDeps;

/**
 * The notifier actor: the notifier machine with its I/O. Each incarnation
 * reads the same mailbox, so a crash and restart by the supervisor drops
 * nothing; a notification leaves the mailbox only once the link took it.
 */
export function notifierLogic(deps: NotifierDeps) {
  const { mailbox, link, held } = deps;
  const delivery = new Delivery(deps);
  // The delivery step (one send and its removal) in flight, if any.
  let inFlight: Promise<DeliveryResult> | undefined;
  return notifierMachine.provide({
    guards: {
      canSend: () => delivery.canSend(),
      isEmpty: () => delivery.isEmpty(),
    },
    actors: {
      // Up to DRAIN notifications per invocation: an actor per notification
      // cost more than the notification itself (bench/pipeline.ts). Each one
      // still goes through every check of the step, in order; a stopped
      // invocation (shutdown, crash of the machine) stops before its next one.
      //
      // One step at a time across states and incarnations: a shutdown or a
      // restart stops this invocation but not the write it awaits, so the
      // step in flight is kept here, outside the machine, and the next
      // invocation (draining, or a restarted notifier) awaits it before
      // reading the head; two steps on one head would send it twice.
      deliver: fromPromise<DeliveryResult>(async ({ signal }) => {
        for (let i = 0; i < DRAIN; i++) {
          while (inFlight !== undefined) await inFlight.catch(() => undefined);
          if (signal.aborted || !delivery.canSend()) break;
          const step = delivery.step();
          inFlight = step;
          let result: DeliveryResult;
          try {
            result = await step;
          } finally {
            if (inFlight === step) inFlight = undefined;
          }
          if (signal.aborted) break;
          if (result === "wait") return "wait";
        }
        return "delivered";
      }),
      watch: fromCallback(({ sendBack }) => {
        // Wakes within one synchronous burst (every presence of one socket
        // read queues a notification) are one event for the machine: sent
        // once, in a microtask, so none is lost and none waits for I/O.
        let pending = false;
        let stopped = false;
        const wake = () => {
          if (pending) return;
          pending = true;
          queueMicrotask(() => {
            pending = false;
            if (!stopped) sendBack({ type: "wake" });
          });
        };
        const offMail = mailbox.onOffer(wake);
        const offHeld = held?.onRelease(wake);
        const offRate = deps.rate?.onReady(wake);
        const offAck = deps.awaiting?.onAcknowledge(wake);
        link.on("online", wake);
        return () => {
          stopped = true;
          offMail();
          offHeld?.();
          offRate?.();
          offAck?.();
          link.off("online", wake);
        };
      }),
    },
  });
}

/** Sends (single notifications, batches or runs) one `deliver` invocation makes at most. */
const DRAIN = 256;
