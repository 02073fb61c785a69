import type { Element } from "@xmpp/xml";
import type { DeliveryResult } from "../machines/notifier.js";
import { type Notification, unwritable } from "../protocol/notification.js";
import type { NotificationQueue } from "../store/notification-queue.js";
import type { Counters } from "../telemetry/counters.js";
import type { Logger } from "../telemetry/log.js";
import type { Link } from "../xmpp/component-link.js";
import type { AwaitingReceipts } from "./awaiting-receipts.js";
import { DeadLetters, POISON_LIMIT } from "./dead-letters.js";
import type { HeldMail } from "./held-mail.js";
import type { RecentSends } from "./recent-sends.js";
import type { SendRate } from "./send-rate.js";
import { batchFrom, runTextFor, type StanzaOptions, stanzaFor } from "./stanzas.js";

/** What a delivery step reads; what it builds stanzas with is `StanzaOptions` (src/outbox/stanzas.ts). */
export interface DeliveryDeps extends StanzaOptions {
  mailbox: NotificationQueue<Notification>;
  link: Link;
  counters: Counters;
  logger: Logger;
  /** Where delivered notifications are remembered for bounce reports; optional. */
  recent?: RecentSends;
  /** Bounced notifications to send again, first; optional. */
  held?: HeldMail;
  /** A global cap on sends per second; optional. */
  rate?: SendRate;
  /** Opt-in XEP-0184: sent notifications are kept here until their receipt. */
  awaiting?: AwaitingReceipts;
  /**
   * Fault injection for tests (never set by the configuration or the CLI):
   * called before each stanza is built (with the head it is for); a throw is a bug in the notifier.
   */
  beforeSend?: (n: Notification) => void;
  /** Where poison notifications are set aside (durable: the `dead_letters` table); optional. */
  deadLetters?: DeadLetters;
  /** Told of what the link accepted, right after (the admin listener: latency, latest sends). */
  onSent?: (sent: readonly Notification[]) => void;
}

/**
 * The notifier's delivery step: the head of the mailbox (or of the mail
 * released after a bounce) through every check, in order, then to the link,
 * and out of the mailbox only once the link took it. One instance serves
 * every incarnation of the notifier, so what it counts (poison) survives a
 * restart.
 */
export class Delivery {
  private readonly deadLetters: DeadLetters;
  // Consecutive failures to build one notification's stanza, across
  // incarnations (a failure restarts the notifier).
  private poison: { trace: string; failures: number } | undefined;

  constructor(private readonly deps: DeliveryDeps) {
    this.deadLetters = deps.deadLetters ?? new DeadLetters();
  }

  /** Mail released after a bounce, waiting to go first. */
  private get released(): number {
    return this.deps.held?.releasedCount ?? 0;
  }

  /** There is mail, and a link to send it on. */
  canSend(): boolean {
    const { mailbox, link } = this.deps;
    return (mailbox.size > 0 || this.released > 0) && link.online;
  }

  /** Nothing is left to deliver, nor awaits a receipt. */
  isEmpty(): boolean {
    const { mailbox, awaiting } = this.deps;
    return mailbox.size === 0 && this.released === 0 && (awaiting?.size ?? 0) === 0;
  }

  /** One step: a run of plain notifications in one write, else the head alone. */
  async step(): Promise<DeliveryResult> {
    return (await this.run()) ?? (await this.one());
  }

  /**
   * The plain case, several at once: queued notifications at the head that
   * pass every check (not stale, their server user has no held mail) go out
   * in one write (`link.sendAll`), each its own stanza, and leave the mailbox
   * once that write is done. Only without receipts, rate cap or batching,
   * and with no released mail first; `undefined` when it does not apply or
   * fewer than two qualify: `one` then takes the head.
   */
  private async run(): Promise<DeliveryResult | undefined> {
    const { deps } = this;
    const { mailbox, link, counters, logger, held } = deps;
    const sendAll = link.sendAll?.bind(link);
    const rateCapped = deps.rate?.capped === true;
    if (!sendAll || deps.awaiting || rateCapped || (deps.batch?.() ?? 1) > 1 || this.released > 0) {
      return undefined;
    }
    const now = deps.now?.();
    const maxAgeMs = deps.maxAgeMs?.();
    const candidates: Notification[] = [];
    for (const n of mailbox.peekMany(RUN)) {
      if (maxAgeMs !== undefined && now !== undefined && now - n.queuedAt > maxAgeMs) break;
      if (held?.isHeld(n.to) || unwritable(n)) break;
      candidates.push(n);
    }
    // Built only when there is a run to send: a stanza built here and then
    // again by `one` would count twice (and a fault hook would fire twice).
    if (candidates.length < 2) return undefined;
    const takenAt = link.stages?.now() ?? 0;
    const run: { n: Notification; id: string; text: string }[] = [];
    // A stanza that cannot be built is a bug that fails the actor, as in
    // `one`; the ones built before it go out first.
    let fault: { err: unknown } | undefined;
    for (const n of candidates) {
      try {
        deps.beforeSend?.(n);
        run.push({ n, ...runTextFor(n, deps) });
      } catch (err) {
        // Counted now; set aside only as the head (with nothing sent before it).
        if (run.length === 0 && this.setAsideIfPoison(n, err, false)) return "delivered";
        if (run.length > 0) this.poison = nextFailure(this.poison, n);
        fault = { err };
        break;
      }
    }
    if (run.length === 0 && fault) throw fault.err;
    for (const { n, id } of run) deps.recent?.add(id, [n]);
    try {
      await sendAll(run.map((r) => r.text));
    } catch (err) {
      const first = run[0]?.n;
      counters.inc("notifications_failed", run.length);
      logger.error(
        {
          event: "presence_notify_error",
          trace: first?.trace,
          user: first?.user,
          to: first?.to,
          presence: first?.presence,
          count: run.length,
          err: (err as Error).message,
          queued: mailbox.size,
        },
        "presence_notify_error: send failed, kept for retry",
      );
      return "wait";
    }
    const sent = run.map((r) => r.n);
    this.timed(sent, takenAt);
    removeSent(mailbox, sent, logger);
    counters.inc("notifications_sent", run.length);
    if (deps.onSent) for (const { n } of run) deps.onSent([n]);
    if (fault) throw fault.err;
    if (logger.isLevelEnabled("debug")) {
      for (const { n } of run) {
        logger.debug(
          { trace: n.trace, user: n.user, presence: n.presence, to: n.to, count: 1 },
          "notification sent",
        );
      }
    }
    return "delivered";
  }

  /** The head alone: released mail first, else the mailbox's, or a batch from it. */
  private async one(): Promise<DeliveryResult> {
    const { deps } = this;
    const { mailbox, link, counters, logger, held } = deps;
    // Mail the server bounced and now sends again goes first, in order.
    const again = held?.peekReleased();
    const n = again ?? mailbox.peek();
    if (n === undefined) return "delivered";
    if (this.dropped(n, again !== undefined)) return "delivered";
    if (again === undefined && held?.isHeld(n.to)) {
      // Its server user has bounced mail waiting: queue behind it.
      held.hold(n);
      mailbox.shift();
      counters.inc("notifications_held_behind");
      return "delivered";
    }
    // Too many awaiting a receipt: wait for one (or for their resend).
    if (deps.awaiting?.full) return "wait";
    // Over the global rate: wait (in the queue) for the next token.
    if (deps.rate && !deps.rate.tryTake()) return "wait";
    // Mail released after a bounce goes one by one; queued mail may be
    // batched (opt-in) with the mail right behind it for the same server user.
    const batch = again ? [n] : batchFrom(mailbox, n, deps);
    const takenAt = link.stages?.now() ?? 0;
    // Building the stanza is our own code: if it throws, that is a bug and
    // the actor fails (its supervisor restarts it). Only the send is I/O.
    let built: { id: string; stanza: Element };
    try {
      deps.beforeSend?.(n);
      built = stanzaFor(batch, deps, deps.awaiting !== undefined);
    } catch (err) {
      if (this.setAsideIfPoison(n, err, again !== undefined)) return "delivered";
      throw err;
    }
    const { id, stanza } = built;
    // Remembered before the send: a bounce can come back at any time after.
    deps.recent?.add(id, batch);
    try {
      await link.send(stanza);
    } catch (err) {
      counters.inc("notifications_failed", batch.length);
      logger.error(
        {
          event: "presence_notify_error",
          trace: n.trace,
          user: n.user,
          to: n.to,
          presence: n.presence,
          count: batch.length,
          err: (err as Error).message,
          queued: mailbox.size,
        },
        "presence_notify_error: send failed, kept for retry",
      );
      return "wait";
    }
    this.timed(batch, takenAt);
    // Kept awaiting its receipt before it leaves the queue: a crash in
    // between sends it twice (same trace), never zero times.
    deps.awaiting?.add(id, batch);
    if (again) {
      if (held?.peekReleased()?.trace === n.trace) held.shiftReleased();
      else logger.error({ trace: n.trace }, "sent released mail was no longer first: not removed");
    } else removeSent(mailbox, batch, logger);
    counters.inc("notifications_sent", batch.length);
    deps.onSent?.(batch);
    logger.debug(
      { trace: n.trace, user: n.user, presence: n.presence, to: n.to, count: batch.length },
      "notification sent",
    );
    return "delivered";
  }

  /** The queue wait and write time of what the link just accepted (src/telemetry/presence-stages.ts). */
  private timed(sent: readonly Notification[], takenAt: number): void {
    const stages = this.deps.link.stages;
    if (!stages) return;
    const now = this.deps.now?.();
    for (const n of sent) stages.take(n, takenAt, now === undefined ? 0 : now - n.queuedAt);
    stages.written(sent.length, takenAt, stages.now());
  }

  /**
   * A head that can never go: older than `mailbox.max_age`, or holding a
   * JID XML 1.0 cannot carry. Removed from where it waited, counted, logged.
   */
  private dropped(n: Notification, again: boolean): boolean {
    const { deps } = this;
    const { mailbox, counters, logger, held } = deps;
    const age = (deps.now?.() ?? n.queuedAt) - n.queuedAt;
    const maxAgeMs = deps.maxAgeMs?.();
    if (maxAgeMs !== undefined && age > maxAgeMs) {
      if (again) held?.shiftReleased();
      else mailbox.shift();
      counters.inc("notifications_expired");
      logger.error(
        {
          event: "presence_notify_error",
          trace: n.trace,
          user: n.user,
          presence: n.presence,
          to: n.to,
          ageMs: age,
        },
        "presence_notify_error: notification dropped, older than mailbox.max_age",
      );
      return true;
    }
    // A JID XML 1.0 cannot carry (restored from an older state file: the
    // wire's are refused at entry): no stanza can be built for it, ever.
    const cannot = unwritable(n);
    if (cannot) {
      if (again) held?.shiftReleased();
      else mailbox.shift();
      counters.inc("notifications_unwritable");
      logger.error(
        { event: "presence_notify_error", trace: n.trace, to: n.to, err: cannot.message },
        "presence_notify_error: notification dropped, XML cannot carry it",
      );
      return true;
    }
    return false;
  }

  /**
   * Counts a failure to build `n`'s stanza; true once it reached
   * POISON_LIMIT and was set aside (removed from where it waited), false
   * when the error should fail the actor as before.
   */
  private setAsideIfPoison(n: Notification, err: unknown, released: boolean): boolean {
    const { mailbox, held, counters, logger } = this.deps;
    const poison = nextFailure(this.poison, n);
    this.poison = poison;
    if (poison.failures < POISON_LIMIT) return false;
    const reason = err instanceof Error ? err.message : String(err);
    this.deadLetters.add(n, reason, poison.failures, this.deps.now?.() ?? Date.now());
    if (released) {
      if (held?.peekReleased()?.trace === n.trace) held.shiftReleased();
    } else if (mailbox.peek()?.trace === n.trace) mailbox.shift();
    counters.inc("notifications_dead_lettered");
    logger.error(
      {
        event: "presence_notify_error",
        trace: n.trace,
        user: n.user,
        presence: n.presence,
        to: n.to,
        failures: poison.failures,
        err: reason,
      },
      "presence_notify_error: notification set aside, its stanza failed to build every time",
    );
    this.poison = undefined;
    return true;
  }
}

function nextFailure(
  poison: { trace: string; failures: number } | undefined,
  n: Notification,
): { trace: string; failures: number } {
  return poison?.trace === n.trace
    ? { trace: n.trace, failures: poison.failures + 1 }
    : { trace: n.trace, failures: 1 };
}

/**
 * Removes what was sent from the head, each only if the head is that very
 * notification (same trace): a removal by count after the head moved would
 * drop mail never sent. A mismatch is a bug, logged, and the rest is kept.
 */
function removeSent(
  mailbox: NotificationQueue<Notification>,
  sent: readonly Notification[],
  logger: Logger,
): void {
  for (const n of sent) {
    const head = mailbox.peek();
    if (head?.trace !== n.trace) {
      logger.error(
        { event: "presence_notify_error", trace: n.trace, head: head?.trace },
        "presence_notify_error: a sent notification was no longer at the head: kept the rest",
      );
      return;
    }
    mailbox.shift();
  }
}

/** Notifications one write of `run` carries at most. */
const RUN = 64;
