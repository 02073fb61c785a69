import type { Notification } from "../protocol/notification.js";
import type { NotificationQueue } from "../store/notification-queue.js";
import type { Counters } from "../telemetry/counters.js";
import { infoLine } from "../telemetry/line-writer.js";
import type { Logger } from "../telemetry/log.js";
import { excerpt, LogLimiter } from "../telemetry/log-limiter.js";
import type { Commit } from "./durable-commits.js";
import type { Transition } from "./outbound.js";
import type { Snapshot } from "./snapshot.js";

/**
 * The end of the way out (src/outbox/outbound.ts): a transition's
 * notification enters the mailbox. In memory mode it is offered at once
 * (`offer`); in durable mode it becomes a `Commit` with its session's
 * change (`commitOf`, src/outbox/durable-commits.ts), counted once the
 * commit is done. Either way a full mailbox refuses it, counted and
 * logged like any refusal.
 *
 * With `notify.snapshot` this is where a notification gets its position
 * (durable mode: inside the commit's transaction, stored with it) and
 * where the notified view follows it (src/outbox/snapshot-view.ts).
 */
export class Enqueue {
  // A full mailbox refuses every notification of a storm: a few lines, with a count.
  private readonly limiter = new LogLimiter();

  constructor(
    private readonly deps: {
      mailbox: NotificationQueue<Notification>;
      counters: Counters;
      logger: Logger;
      snapshot?: Pick<Snapshot, "stamp" | "entered">;
    },
  ) {}

  /** Memory mode: into the mailbox now (a change the server user is not told of: nothing). */
  offer(t: Transition): void {
    if (t.notification === undefined) return; // user level: nothing told for this session
    const { mailbox, snapshot } = this.deps;
    const n = snapshot ? snapshot.stamp(t.notification) : t.notification;
    const offered = mailbox.offer(n);
    snapshot?.entered(n, offered);
    this.queued(n, t.cause, offered);
  }

  /** Durable mode: the commit of `t`, its notification offered inside the transaction. */
  commitOf(t: Transition): Commit {
    const first = t.notification;
    // Not told (user level): only the session's row changes.
    if (first === undefined)
      return { jid: t.full, presence: t.presence, offer: () => true, committed: () => {} };
    const { mailbox, snapshot } = this.deps;
    let n = first;
    return {
      jid: t.full,
      presence: t.presence,
      offer: () => {
        // Each attempt its own position: one a rolled-back attempt took is never used.
        if (snapshot) n = snapshot.stamp(first);
        return mailbox.offer(n);
      },
      committed: (offered) => {
        snapshot?.entered(n, offered);
        this.queued(n, t.cause, offered);
      },
    };
  }

  /** Counts and logs a notification the queue took (or, full, refused). */
  private queued(n: Notification, cause: string, offered: boolean): void {
    const { mailbox, counters, logger } = this.deps;
    if (offered) {
      counters.inc("notifications_queued");
      infoLine(
        logger,
        { user: n.user, presence: n.presence, cause, trace: n.trace, to: n.to },
        "session transition",
      );
      return;
    }
    counters.inc("notifications_refused_full");
    const hit = this.limiter.hit("notifications_refused_full");
    if (!hit.log) return;
    logger.error(
      {
        event: "presence_notify_error",
        user: excerpt(n.user),
        presence: n.presence,
        trace: n.trace,
        capacity: mailbox.capacity,
        count: hit.count,
      },
      "presence_notify_error: mailbox full, notification refused",
    );
  }
}
