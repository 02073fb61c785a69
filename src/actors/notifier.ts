import { fromCallback, fromPromise } from "xstate";
import { type DeliverInput, type DeliveryResult, notifierMachine } from "../machines/notifier.js";
import { type Clock, systemClock } from "../otp/clock.js";
import { Delivery, type DeliveryDeps } from "../outbox/delivery.js";
import { Linger } from "../outbox/linger.js";

/** What the notifier reads: its delivery step's (src/outbox/delivery.ts), and a clock. */
export interface NotifierDeps extends DeliveryDeps {
  /** Times how long a live delivery loop waits for more mail; the daemon's clock. Default: real time. */
  clock?: Pick<Clock, "setTimeout" | "clearTimeout">;
}

/**
 * The notifier actor: the notifier machine with its I/O. Each incarnation
 * reads the same mailbox, so a crash and restart by the supervisor drops
 * nothing; a notification leaves the mailbox only once the link took it.
 */
export function notifierLogic(deps: NotifierDeps) {
  const { mailbox, link, held } = deps;
  const clock = deps.clock ?? systemClock;
  const delivery = new Delivery(deps);
  // The delivery step (one send and its removal) in flight, if any.
  let inFlight: Promise<DeliveryResult> | undefined;
  // The `deliver` invocation running now, if any: wakes go to it, not to the machine.
  let live: Linger | undefined;
  // One step at a time across states and incarnations: a shutdown or a
  // restart stops an invocation but not the write it awaits, so the step in
  // flight is kept here, outside the machine, and the next invocation
  // (draining, or a restarted notifier) awaits it before reading the head;
  // two steps on one head would send it twice.
  const step = async (): Promise<DeliveryResult> => {
    const s = delivery.step();
    inFlight = s;
    try {
      return await s;
    } finally {
      if (inFlight === s) inFlight = undefined;
    }
  };
  return notifierMachine.provide({
    guards: {
      canSend: () => delivery.canSend(),
      isEmpty: () => delivery.isEmpty(),
    },
    actors: {
      // One invocation delivers while there is mail, each notification
      // through every check of the step, in order, and then waits up to
      // `lingerMs` for more (src/outbox/linger.ts): at a steady rate it
      // stays alive, and a socket read's mail costs no XState transition and
      // no new actor (bench/pipeline.ts measured each at more than the
      // notification itself). A stopped invocation (shutdown, crash of the
      // machine) stops before its next step.
      deliver: fromPromise<DeliveryResult, DeliverInput>(async ({ input, signal }) => {
        const loop = new Linger(clock, input.lingerMs, signal);
        live = loop;
        loop.onClose(() => {
          if (live === loop) live = undefined;
        });
        try {
          for (;;) {
            while (inFlight !== undefined) await inFlight.catch(() => undefined);
            if (signal.aborted) return "delivered";
            if (delivery.canSend()) {
              loop.woken = false;
              const result = await step();
              if (signal.aborted) return "delivered";
              // The link refused (down, or over the rate): the machine waits
              // for a wake, unless one came meanwhile (the link back, maybe).
              if (result === "wait" && !loop.woken) return "wait";
              continue;
            }
            // Nothing to send: wait for a wake; none for `lingerMs`, and idle.
            if (!(await loop.more()) && !delivery.canSend()) return "delivered";
          }
        } finally {
          loop.close();
        }
      }),
      watch: fromCallback(({ sendBack }) => {
        // Wakes within one synchronous burst (every presence of one socket
        // read queues a notification) are one event for the machine: sent
        // once, in a microtask, so none is lost and none waits for I/O.
        // While a `deliver` invocation is live, they go to it directly.
        let pending = false;
        let stopped = false;
        const wake = () => {
          if (live !== undefined) {
            live.wake();
            return;
          }
          if (pending) return;
          pending = true;
          queueMicrotask(() => {
            pending = false;
            if (stopped) return;
            if (live !== undefined) live.wake();
            else sendBack({ type: "wake" });
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
