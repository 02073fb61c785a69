import type { Element } from "@xmpp/xml";
import type { SessionEvent } from "../machines/session.js";
import type { Commit } from "../outbox/durable-commits.js";
import type { FlapDamper } from "../outbox/flap-damper.js";
import type { UserRateLimiter } from "../outbox/user-rate.js";
import { type FullJid, parseFullJid } from "../protocol/jid.js";
import { type Notification, newNotification } from "../protocol/notification.js";
import { parsePresence } from "../protocol/presence.js";
import type { NotificationQueue } from "../store/notification-queue.js";
import type { Counters } from "../telemetry/counters.js";
import type { Logger } from "../telemetry/log.js";
import { excerpt, LogLimiter } from "../telemetry/log-limiter.js";
import type { SequenceNumbers } from "./sequence-numbers.js";
import type { SessionRegistry } from "./session-registry.js";

/** Who is served, from the configuration; read on every presence so a reload applies at once. */
export interface RoutingPolicy {
  serverUser: string;
  /** localpart -> whether its sessions are notified (include/exclude globs). */
  accepts: (localpart: string) => boolean;
  /** `notify.domains`; empty: the server's own hosts (src/sessions/served-domains.ts). */
  domains: readonly string[];
}

/**
 * Turns each inbound presence into session-machine events and each
 * notifying transition into a queued notification.
 *
 * Nothing from the wire is trusted: a presence that is not from a session
 * of a served user is counted by reason and logged (rarely, so a flood
 * cannot flood the log), and never reaches a machine.
 */
export class PresenceRouter {
  // Every refusal and failure caused by input is logged through it: a flood
  // of any mix of reasons writes a few lines per reason, with a count.
  private readonly limiter = new LogLimiter();

  constructor(
    private readonly deps: {
      registry: SessionRegistry;
      mailbox: NotificationQueue<Notification>;
      /**
       * Durable mode: each notification commits with its session's change to
       * the set of available sessions, or is kept until it can
       * (src/outbox/durable-commits.ts).
       */
      durable?: { commit: (c: Commit) => boolean };
      policy: () => RoutingPolicy;
      /** Whether a user domain is served (src/sessions/served-domains.ts). */
      serves: (domain: string) => boolean;
      counters: Counters;
      logger: Logger;
      /** The daemon's clock, for the time a notification was queued. */
      now: () => number;
      /** Opt-in flap damping: notifications go through it before the queue. */
      damper?: FlapDamper;
      /** Opt-in per-session sequence numbers in the payload. */
      sequence?: SequenceNumbers;
      /** Opt-in per-user rate limit, after flap damping. */
      userRate?: UserRateLimiter;
      /** Whether a presence stamped by its server (XEP-0203) may still be the server's replay. */
      replayOpen?: () => boolean;
      /** Told of each stamped presence while the replay may run, and whether it was served. */
      onReplay?: (fullJid: string, served: boolean) => void;
      /** Told when a server user's session comes online (bare JID): its held mail can go. */
      onServerUserOnline?: (bareJid: string) => void;
      /** Told, after every event a session's machine took, whether it is available. */
      onSession?: (fullJid: string, available: boolean) => void;
    },
  ) {}

  /** One inbound presence stanza. */
  presence(stanza: Element): void {
    const parsed = parsePresence(stanza);
    if (parsed.kind !== "session") {
      this.refuse(
        parsed.kind === "ignored" ? "presence_ignored" : "presence_rejected",
        parsed.reason,
        parsed.from,
        parsed.detail,
      );
      return;
    }
    const { jid, event } = parsed;
    if (event.type === "presence.available" && event.delay !== undefined) {
      if (this.deps.replayOpen?.()) {
        this.deps.onReplay?.(jid.full, this.accept(jid, event));
        return;
      }
      // Outside the replay, a delay is only the user's word: a live presence.
      const { delay: _, ...live } = event;
      this.accept(jid, live);
      return;
    }
    this.accept(jid, event);
  }

  /**
   * A session presence of known shape, from the wire or from the server's
   * session list: filtered by the routing policy, then fed to its machine.
   * Returns whether it was fed (served).
   */
  accept(jid: FullJid, event: SessionEvent): boolean {
    const policy = this.deps.policy();
    // A session already tracked is followed to its end even if a reload
    // (SIGHUP) has since narrowed the filters: the server user was told it
    // is available, so it must hear when it is not.
    const tracked = this.deps.registry.stateOf(jid.full).presence === "available";
    if (!tracked && !this.deps.serves(jid.domain)) {
      this.refuse("presence_rejected", "domain not served", jid.full);
      return false;
    }
    // The server user's own sessions never notify the server user (PROTOCOL.md, Filters).
    if (jid.local === policy.serverUser && event.type === "presence.available") {
      this.deps.onServerUserOnline?.(jid.bare);
    }
    if (jid.local === policy.serverUser || (!tracked && !policy.accepts(jid.local))) {
      this.deps.counters.inc("presence_filtered");
      return false;
    }
    this.deps.counters.inc("presence_accepted");
    this.drive(jid, event);
    return true;
  }

  /** Feeds one event to a session's machine; queues a notification if the transition notifies. */
  drive(jid: Pick<FullJid, "full" | "bare" | "domain">, event: SessionEvent): void {
    const { registry, onSession } = this.deps;
    const applied = registry.apply(jid.full, event);
    onSession?.(jid.full, registry.stateOf(jid.full).presence === "available");
    if (!applied?.session.notify) return;
    const presence = applied.session.to === "available" ? "available" : "unavailable";
    const n = newNotification(
      jid,
      presence,
      this.deps.policy().serverUser,
      this.deps.now(),
      this.deps.sequence?.next(jid.full),
    );
    const { durable, damper } = this.deps;
    const commit = () => {
      if (durable) durable.commit(this.commitOf(n, jid.full, presence, applied.session.cause));
      else this.enqueue(n, applied.session.cause);
    };
    const { userRate } = this.deps;
    const limited = userRate ? () => userRate.offer(jid.bare, jid.full, commit) : commit;
    if (damper) damper.offer(jid.full, limited);
    else limited();
  }

  /** The same, for a session known only by the full JID it is tracked under. */
  driveTracked(full: string, event: SessionEvent): void {
    const parsed = parseFullJid(full);
    if (parsed.ok) this.drive(parsed.jid, event);
  }

  /**
   * Durable mode, for a reconcile after the state file could not be written:
   * a notification telling the server user that `full` is now `presence`.
   */
  announce(full: string, presence: "available" | "unavailable"): Commit | undefined {
    // Every JID the registry or the sessions table holds was checked on entry.
    const parsed = parseFullJid(full);
    if (!parsed.ok) return undefined;
    const n = newNotification(
      parsed.jid,
      presence,
      this.deps.policy().serverUser,
      this.deps.now(),
      this.deps.sequence?.next(full),
    );
    return this.commitOf(n, full, presence, "store_recovered");
  }

  private commitOf(
    n: Notification,
    full: string,
    presence: "available" | "unavailable",
    cause: string,
  ): Commit {
    return {
      jid: full,
      presence,
      offer: () => this.deps.mailbox.offer(n),
      committed: (offered) => this.queued(n, cause, offered),
    };
  }

  private enqueue(n: Notification, cause: string): void {
    this.queued(n, cause, this.deps.mailbox.offer(n));
  }

  /** Counts and logs a notification the queue took (or, full, refused). */
  private queued(n: Notification, cause: string, offered: boolean): void {
    const { mailbox, counters, logger } = this.deps;
    if (offered) {
      counters.inc("notifications_queued");
      logger.info(
        { user: n.user, presence: n.presence, cause, trace: n.trace, to: n.to },
        "session transition",
      );
      return;
    }
    counters.inc("notifications_refused_full");
    // A full mailbox refuses every notification of a storm: logged like any refusal.
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

  /**
   * Counts every refusal; logs the 1st, 2nd, 4th, 8th... of each reason, so
   * a flood of bad input cannot flood the log. `reason` is a fixed sentence
   * chosen by the code (it is the limiter's key); the input that caused it
   * goes in `detail` and `from`, logged only as bounded excerpts.
   */
  refuse(counter: string, reason: string, from: string | undefined, detail?: string): void {
    this.deps.counters.inc(counter);
    const hit = this.limiter.hit(`${counter}:${reason}`);
    if (!hit.log) return;
    this.deps.logger.warn(
      {
        reason: excerpt(reason),
        from: excerpt(from),
        ...(detail === undefined ? {} : { excerpt: excerpt(detail) }),
        count: hit.count,
        ...(hit.shared ? { shared: true } : {}),
      },
      `${counter.replace("_", " ")}`,
    );
  }

  /**
   * A failure caused by input (a handler that threw, say): logged through
   * the same limiter, under a fixed `what`.
   */
  failure(what: string, fields: Record<string, unknown>): void {
    const hit = this.limiter.hit(`failure:${what}`);
    if (hit.log) this.deps.logger.error({ ...fields, count: hit.count }, what);
  }
}
