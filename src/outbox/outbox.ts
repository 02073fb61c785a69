import type { DaemonConfig } from "../config/schema.js";
import { backoffDelay } from "../otp/backoff.js";
import type { TimerGuard } from "../otp/timer-guard.js";
import type { Notification } from "../protocol/notification.js";
import { asGiven, payloadPseudonym } from "../protocol/pseudonym.js";
import type { NotificationQueue } from "../store/notification-queue.js";
import type { DurableStore } from "../store/open.js";
import { WriteBehind } from "../store/write-behind.js";
import type { Counters } from "../telemetry/counters.js";
import type { Logger } from "../telemetry/log.js";
import { AwaitingReceipts } from "./awaiting-receipts.js";
import { DeadLetters } from "./dead-letters.js";
import { DurableCommits } from "./durable-commits.js";
import { Enqueue } from "./enqueue.js";
import { FlapDamper } from "./flap-damper.js";
import { HeldMail } from "./held-mail.js";
import { Mailbox } from "./mailbox.js";
import type { Transition } from "./outbound.js";
import { RecentSends } from "./recent-sends.js";
import { SendRate } from "./send-rate.js";
import { Snapshot, type SnapshotOptions } from "./snapshot.js";
import { UserRateLimiter } from "./user-rate.js";

/** What a reconcile reads of the sessions (durable mode, src/outbox/durable-commits.ts). */
export interface SessionTruth {
  /** The sessions the machines hold available now. */
  available(): Iterable<string>;
  /** The transition telling the server user that `full` is now `presence` (a reconcile's). */
  announce(full: string, presence: "available" | "unavailable"): Transition | undefined;
  /** Told, before a reconcile announces anything, which sessions the server user was told of. */
  reconciling?(told: readonly string[]): void;
}

export interface OutboxOptions {
  /** The daemon's live configuration: `notify` limits are read again on `retune`. */
  config: () => DaemonConfig;
  /** The owner of the mechanisms' timers (src/otp/timer-guard.ts). */
  timers: TimerGuard;
  counters: Counters;
  logger: Logger;
  /** Durable mode: the outbox, side tables and session table of an open store. */
  store?: DurableStore;
  /** Durable mode: the truth a reconcile compares the sessions table with (intake). */
  truth: SessionTruth;
  /** `notify.snapshot`: the user domains served (intake's), for the resync signals. */
  domains: SnapshotOptions["domains"];
}

/** Delivery: everything between a notifying transition and the notifier's send. */
export interface Outbox {
  /** The mailbox the notifier drains: in memory, or the store's durable outbox. */
  readonly mailbox: NotificationQueue<Notification>;
  /** What was sent lately, by message id: for bounces. */
  readonly recent: RecentSends;
  /** Bounced mail, held for its server user's return. */
  readonly held: HeldMail;
  /** With `notify.receipt_timeout`: sent, awaiting a XEP-0184 receipt. */
  readonly awaiting: AwaitingReceipts | undefined;
  /** `notify.max_rate`: the global cap on sends. */
  readonly rate: SendRate;
  /** Poison notifications the notifier set aside. */
  readonly deadLetters: DeadLetters;
  /** `notify.flap_window`, an outbound stage (off: passes straight through). */
  readonly damper: FlapDamper;
  /** `notify.user_rate`, an outbound stage (off: passes straight through). */
  readonly userRate: UserRateLimiter;
  /** `notify.snapshot`: the notified view, its positions and pages, the resync signals. */
  readonly snapshot: Snapshot | undefined;
  /** Durable mode: transitions kept in memory while the state file refuses commits. */
  readonly uncommitted: { readonly size: number } | undefined;
  /** The end of the way out: into the mailbox now (memory), or with its session's change (durable). */
  enter(t: Transition): void;
  /** Durable mode: why the state file cannot be written now, if it cannot (for /readyz). */
  storeFault(): string | undefined;
  /** Whether a notifying transition would be queued now. */
  hasRoom(): boolean;
  /** Durable mode: whether the state file takes commits now (always, in memory mode). */
  writable(): boolean;
  /** Durable mode, at start: held mail and mail sent without a receipt, to send again. */
  restore(): void;
  /** A reload's flap window, per-user rate and send rate (0: off), applied in place. */
  retune(): void;
  /** Stops the outbox's timers (held-mail retries, receipts, commit retries, send rate). */
  close(): void;
}

export function createOutbox(options: OutboxOptions): Outbox {
  const { config, timers, counters, logger, store, truth } = options;
  const capacity = config().mailbox.capacity;
  const notify = config().notify;
  const mailbox: NotificationQueue<Notification> =
    store?.outbox ?? new Mailbox<Notification>(capacity);
  const snapshot = notify.snapshot ? snapshotOf(options, mailbox) : undefined;
  // Durable mode: a side-table write the state file refuses is kept and made
  // again, never thrown into the mechanism (src/store/write-behind.ts).
  const sideWrites = store ? new WriteBehind({ counters, logger, limit: capacity }) : undefined;
  const held = new HeldMail({
    clock: timers.clock("held_mail"),
    backoff: (attempt) =>
      backoffDelay(attempt, { initial: 1_000, max: 60_000, factor: 2, jitter: 0.2 }, Math.random),
    capacity,
    counters,
    logger,
    ...(store && sideWrites ? { table: sideWrites.notifications(store.held) } : {}),
  });
  const unackedTable = store && sideWrites ? sideWrites.notifications(store.unacked) : undefined;
  // Sent again through held mail: in order, ahead of anything newer for the
  // same server user, released when it is seen online or on a backoff timer.
  const awaiting = notify.receiptTimeoutMs
    ? new AwaitingReceipts({
        clock: timers.clock("receipts"),
        timeoutMs: notify.receiptTimeoutMs,
        capacity,
        resend: (notifications) => {
          for (const n of notifications) held.hold(n);
        },
        counters,
        logger,
        ...(unackedTable ? { table: unackedTable } : {}),
      })
    : undefined;
  const enqueue = new Enqueue({ mailbox, counters, logger, ...(snapshot ? { snapshot } : {}) });
  // Durable mode: a commit the state file refused is kept and committed
  // again, never lost (src/outbox/durable-commits.ts).
  const commits = store
    ? new DurableCommits({
        transaction: (fn) => store.transaction(fn),
        sessions: store.sessions,
        clock: timers.clock("store_retry"),
        counters,
        logger,
        capacity,
        available: () => truth.available(),
        announce: (jid, presence) => {
          const t = truth.announce(jid, presence);
          return t && enqueue.commitOf(t);
        },
        writable: (reconciled) => {
          sideWrites?.flush();
          // What the overflow dropped was never told: every server user starts over.
          if (reconciled) snapshot?.resync("overflow");
        },
        reconciling: (told) => truth.reconciling?.(told),
      })
    : undefined;
  const rate = new SendRate(timers.clock("send_rate"), notify.maxRate);
  // Always there, passing straight through while off (0), so a reload can
  // turn either on or off without rebuilding the way out.
  const damper = new FlapDamper(timers.clock("flap_damper"), notify.flapWindowMs, counters);
  const deadLetterTable =
    store && sideWrites ? sideWrites.deadLetters(store.deadLetters) : undefined;
  const userRate = new UserRateLimiter(timers.clock("user_rate"), notify.userRate, counters);
  return {
    mailbox,
    recent: new RecentSends(),
    held,
    awaiting,
    rate,
    deadLetters: snapshot
      ? snapshot.deadLetters(deadLetterTable)
      : new DeadLetters(deadLetterTable),
    damper,
    userRate,
    snapshot,
    uncommitted: commits
      ? {
          get size() {
            return commits.kept;
          },
        }
      : undefined,
    enter: commits ? (t) => commits.commit(enqueue.commitOf(t)) : (t) => enqueue.offer(t),
    storeFault: () => commits?.fault(),
    hasRoom: () => mailbox.size < mailbox.capacity,
    writable: () => commits?.fault() === undefined,
    restore: () => restoreOutbox({ store, held, unackedTable, logger }),
    retune() {
      const { flapWindowMs, userRate: perUser, maxRate } = config().notify;
      damper.setWindow(flapWindowMs);
      userRate.setRate(perUser);
      rate.setRate(maxRate);
    },
    close() {
      held.close();
      awaiting?.close();
      commits?.close();
      rate.close();
      snapshot?.close();
    },
  };
}

/** `notify.snapshot`: built once; a session shows in a snapshot as in `args.user`. */
function snapshotOf(options: OutboxOptions, mailbox: NotificationQueue<Notification>): Snapshot {
  const { config, store, timers, counters, logger, domains } = options;
  const key = config().pseudonyms.key;
  return new Snapshot({
    mailbox,
    ...(store ? { store } : {}),
    timers,
    counters,
    logger,
    serverUser: () => config().notify.serverUser,
    domains,
    show: key ? payloadPseudonym(key.value()) : asGiven,
  });
}

/**
 * Durable mode: held mail comes back on its retry timers; notifications sent
 * before a restart and never acknowledged are sent again, also when receipts
 * have been turned off since.
 */
function restoreOutbox(parts: {
  store: DurableStore | undefined;
  held: HeldMail;
  unackedTable: { remove(trace: string): void } | undefined;
  logger: Logger;
}): void {
  const { store, held, unackedTable, logger } = parts;
  held.restore();
  const unacknowledged = store?.unacked.load() ?? [];
  if (unacknowledged.length === 0) return;
  logger.info(
    { notifications: unacknowledged.length },
    "notifications sent before the restart without a receipt: sending them again",
  );
  for (const n of unacknowledged) {
    held.hold(n);
    unackedTable?.remove(n.trace);
  }
}
