import { xml } from "@xmpp/component";
import type { Element } from "@xmpp/xml";
import { backoffDelay } from "../otp/backoff.js";
import type { Clock } from "../otp/clock.js";
import { TimerGuard } from "../otp/timer-guard.js";
import { AwaitingReceipts } from "../outbox/awaiting-receipts.js";
import { DurableCommits } from "../outbox/durable-commits.js";
import { FlapDamper } from "../outbox/flap-damper.js";
import { HeldMail } from "../outbox/held-mail.js";
import { Mailbox } from "../outbox/mailbox.js";
import { RecentSends } from "../outbox/recent-sends.js";
import { UserRateLimiter } from "../outbox/user-rate.js";
import { canonicalBare, flatCopy, parseFullJid } from "../protocol/jid.js";
import { type Notification, NS_RECEIPTS } from "../protocol/notification.js";
import {
  hasOutgoingMessagePermission,
  hasPresencePermission,
  type Privileges,
  parsePrivilegeAdvertisement,
} from "../protocol/privilege.js";
import { Liveness } from "../sessions/liveness.js";
import { PresenceRouter, type RoutingPolicy } from "../sessions/presence-router.js";
import { Resync, type ResyncDeps } from "../sessions/resync.js";
import { SequenceNumbers } from "../sessions/sequence-numbers.js";
import { ServedDomains } from "../sessions/served-domains.js";
import { type SessionObserver, SessionRegistry } from "../sessions/session-registry.js";
import type { PresenceSink } from "../sources/presence-source.js";
import type { NotificationQueue } from "../store/notification-queue.js";
import type { DurableStore } from "../store/open.js";
import { WriteBehind } from "../store/write-behind.js";
import { Counters } from "../telemetry/counters.js";
import type { Logger } from "../telemetry/log.js";
import { excerpt } from "../telemetry/log-limiter.js";
import type { Link } from "../xmpp/component-link.js";
import { Pinger } from "../xmpp/ping.js";
import type { SessionList } from "../xmpp/session-list.js";
import type { RefusedStanza } from "../xmpp/stream-guard.js";

/** Bounce conditions that mean "not now" rather than "never" (RFC 6120 8.3.3). */
const RETRIABLE = new Set([
  "service-unavailable",
  "recipient-unavailable",
  "remote-server-timeout",
]);

export interface PipelineOptions {
  link: Link;
  clock: Clock;
  logger: Logger;
  policy: () => RoutingPolicy;
  /** Whether notifications should be sent from the user (needs message=outgoing). */
  fromUser: () => boolean;
  mailboxCapacity: number;
  pingTimeoutMs: number;
  /** How long the server's presence replay may stay quiet before it counts as over. */
  resyncSettleMs: number;
  /** Periodic checks of quiet sessions (XEP-0199); `maxRate` 0 turns them off. */
  liveness: { intervalMs: number; timeoutMs: number; maxRate: number };
  /** The server's own list of live sessions, if it has one (ejabberd's HTTP API). */
  sessionList?: SessionList;
  /** Durable mode: the outbox and session table of an open store. */
  store?: DurableStore;
  /** Opt-in flap damping window (ms); 0 or absent: off. */
  flapWindowMs?: number;
  /** Opt-in per-session sequence numbers in the payload. */
  sequence?: boolean;
  /** Opt-in notifications per second per user; 0 or absent: no limit. */
  userRate?: number;
  /** Opt-in XEP-0184 receipts: how long to wait for one before sending again; 0 or absent: off. */
  receiptTimeoutMs?: number;
  /** `start --inspect`: told of every event each session's machine takes. */
  observeSessions?: SessionObserver;
  /** `start --inspect`: where the resync machine's actor reports, as the supervised ones do. */
  inspect?: ResyncDeps["inspect"];
  /** Presences also come from a broker (MongooseIM, `src/sources/`): XEP-0356 is optional. */
  brokerSource?: boolean;
  /**
   * Fault injection for tests (never set by the configuration or the CLI):
   * called before each timer callback of the named mechanism; a throw
   * stands for a bug there (src/otp/timer-guard.ts).
   */
  timerFault?: (mechanism: string) => void;
}

/**
 * Everything between the component link and the notifier's mailbox, without
 * the supervisor: stanzas in, session machines advanced, notifications
 * queued. The daemon adds the supervised actors around it; unit tests drive
 * it with an in-memory server.
 */
export function createPipeline(options: PipelineOptions) {
  const { link, clock, logger } = options;
  const counters = new Counters();
  // Every mechanism's timers have an owner that reports a failed callback
  // and runs it again: none can end a mechanism or take the process down.
  const timers = new TimerGuard({
    clock,
    counters,
    logger,
    ...(options.timerFault ? { fault: options.timerFault } : {}),
  });
  const registry = new SessionRegistry(options.observeSessions);
  const { store } = options;
  const mailbox: NotificationQueue<Notification> =
    store?.outbox ?? new Mailbox<Notification>(options.mailboxCapacity);
  const recent = new RecentSends();
  // Durable mode: a side-table write the state file refuses is kept and made
  // again, never thrown into the mechanism (src/store/write-behind.ts).
  const sideWrites = store
    ? new WriteBehind({ counters, logger, limit: options.mailboxCapacity })
    : undefined;
  const held = new HeldMail({
    clock: timers.clock("held_mail"),
    backoff: (attempt) =>
      backoffDelay(attempt, { initial: 1_000, max: 60_000, factor: 2, jitter: 0.2 }, Math.random),
    capacity: options.mailboxCapacity,
    counters,
    logger,
    ...(store && sideWrites ? { table: sideWrites.notifications(store.held) } : {}),
  });
  const unackedTable = store && sideWrites ? sideWrites.notifications(store.unacked) : undefined;
  // Sent again through held mail: in order, ahead of anything newer for the
  // same server user, released when it is seen online or on a backoff timer.
  const awaiting = options.receiptTimeoutMs
    ? new AwaitingReceipts({
        clock: timers.clock("receipts"),
        timeoutMs: options.receiptTimeoutMs,
        capacity: options.mailboxCapacity,
        resend: (notifications) => {
          for (const n of notifications) held.hold(n);
        },
        counters,
        logger,
        ...(unackedTable ? { table: unackedTable } : {}),
      })
    : undefined;
  // Sent before a restart and never acknowledged (durable mode): sent again,
  // also when receipts have been turned off since.
  const unacknowledged = store?.unacked.load() ?? [];
  if (unacknowledged.length > 0) {
    logger.info(
      { notifications: unacknowledged.length },
      "notifications sent before the restart without a receipt: sending them again",
    );
    for (const n of unacknowledged) {
      held.hold(n);
      unackedTable?.remove(n.trace);
    }
  }
  // Always there, passing straight through while off (0), so a reload can
  // turn either on or off without rebuilding the router.
  const damper = new FlapDamper(timers.clock("flap_damper"), options.flapWindowMs ?? 0, counters);
  const userRate = new UserRateLimiter(timers.clock("user_rate"), options.userRate ?? 0, counters);
  const served = new ServedDomains({
    configured: () => options.policy().domains,
    component: () => link.domain,
    now: () => clock.now(),
    quietMs: options.resyncSettleMs,
  });
  // Durable mode: a commit the state file refused is kept and committed
  // again, never lost (src/outbox/durable-commits.ts).
  const commits = store
    ? new DurableCommits({
        transaction: (fn) => store.transaction(fn),
        sessions: store.sessions,
        clock: timers.clock("store_retry"),
        counters,
        logger,
        capacity: options.mailboxCapacity,
        available: () => registry.sessionsInState({ presence: "available" }),
        announce: (jid, presence) => router.announce(jid, presence),
        writable: () => sideWrites?.flush(),
      })
    : undefined;
  const router = new PresenceRouter({
    registry,
    mailbox,
    policy: options.policy,
    serves: (domain) => served.serves(domain),
    counters,
    logger,
    now: () => clock.now(),
    damper,
    ...(options.sequence ? { sequence: new SequenceNumbers(undefined, store?.sequences) } : {}),
    userRate,
    ...(commits ? { durable: commits } : {}),
    replayOpen: () => resyncOnConnect && resync.replayOpen(),
    onReplay: (jid, served) => {
      partOfReplay = true;
      resync.replayed(jid, served);
    },
    onServerUserOnline: (bare) => held.release(bare, "online"),
    // Liveness keeps the JID as a Map key: a flat copy, not a slice of the
    // network chunk the presence came in (which it would keep alive).
    onSession: (jid, available) =>
      available ? liveness.touch(flatCopy(jid)) : liveness.forget(jid),
  });
  const pinger = new Pinger({
    clock: timers.clock("pings"),
    from: () => link.domain,
    send: (el) => link.send(el),
    timeoutMs: options.pingTimeoutMs,
  });
  let livenessTimeoutMs = options.liveness.timeoutMs;
  const liveness = new Liveness({
    clock: timers.clock("liveness"),
    ping: (jid) => pinger.ping(jid, livenessTimeoutMs),
    drive: (jid, event) => router.driveTracked(jid, event),
    online: () => link.online,
    canPing: (jid) => registry.stateOf(jid).confirmed === true,
    counters,
    logger,
    intervalMs: options.liveness.intervalMs,
    maxRate: options.liveness.maxRate,
  });
  liveness.start();
  const resync = new Resync({
    registry,
    drive: (jid, event) => router.driveTracked(jid, event),
    admit: ({ jid, show }) => {
      const parsed = parseFullJid(jid);
      if (!parsed.ok) return counters.inc("presence_rejected");
      const event = {
        type: "presence.available" as const,
        delay: new Date(clock.now()).toISOString(),
      };
      router.accept(parsed.jid, show === undefined ? event : { ...event, show });
    },
    ...(options.sessionList ? { sessionList: options.sessionList } : {}),
    pinger,
    liveness,
    clock: timers.clock("resync"),
    counters,
    logger,
    settleMs: options.resyncSettleMs,
    concurrency: 64,
    ...(options.inspect ? { inspect: options.inspect } : {}),
  });
  // Sessions available when the daemon last stopped (durable mode) are
  // known again, silently; the first connect's resync settles each of them.
  // The file is checked like the wire (an older version, or a hand, wrote
  // it): keyed canonically, and a JID the daemon would now refuse forgotten.
  if (store) {
    for (const stored of store.sessions.load()) {
      const parsed = parseFullJid(stored);
      if (!parsed.ok || parsed.jid.full !== stored) store.sessions.gone(stored);
      if (!parsed.ok) {
        counters.inc("sessions_refused_restore");
        continue;
      }
      if (parsed.jid.full !== stored) store.sessions.available(parsed.jid.full);
      registry.apply(parsed.jid.full, { type: "presence.available" });
    }
    const restored = { sessions: registry.size, queued: mailbox.size };
    if (restored.sessions + restored.queued > 0) logger.info(restored, "state restored");
  }
  let privileges: Privileges | undefined;
  let closed = false;

  const onPrivileges = (granted: Privileges) => {
    privileges = granted;
    logger.info(
      { namespace: granted.ns, perms: granted.perms },
      "privileges granted by the server",
    );
    if (!hasPresencePermission(granted) && !options.brokerSource) {
      logger.warn(
        { perms: granted.perms },
        "the server did not grant presence=managed_entity (XEP-0356): no presence will arrive; grant it in the server's privileged_entities / mod_privilege",
      );
    }
    // The notifier's decision per send is sendsFromUser (src/protocol/privilege.ts).
    if (options.fromUser() && !hasOutgoingMessagePermission(granted)) {
      logger.warn(
        { perms: granted.perms },
        'notify.from = "user" needs message=outgoing (XEP-0356); sending from the component domain instead',
      );
    }
  };

  // Every stanza but a (possible) replayed presence or an advertisement ends
  // the server's replay, which it writes in one go (src/sessions/resync.ts).
  let partOfReplay = false;
  const dispatch = (el: Element) => {
    partOfReplay = false;
    handle(el);
    if (!partOfReplay && resyncOnConnect) resync.interrupted();
  };

  const handle = (el: Element) => {
    try {
      const granted = el.name === "message" ? parsePrivilegeAdvertisement(el) : undefined;
      if (granted) {
        if (served.advertisement(el.attrs.from ?? "", granted)) {
          partOfReplay = true;
          if (resyncOnConnect) resync.advertised();
          return onPrivileges(granted);
        }
        return router.refuse(
          "privileges_refused",
          "advertised by a domain not served",
          el.attrs.from,
        );
      }
      served.stanza(el.name, el.attrs.from);
      if (el.name === "presence") return router.presence(el);
      if (el.name === "iq") {
        if (el.attrs.type === "result" || el.attrs.type === "error") pinger.handleReply(el);
        return;
      }
      if (el.name === "message") {
        if (el.attrs.type === "error") return bounced(el);
        const receipt = el.getChild("received", NS_RECEIPTS);
        if (receipt) return received(el, receipt);
      }
      counters.inc("stanzas_ignored");
    } catch (err) {
      // A stanza must never take the daemon down: count it, log it, go on.
      counters.inc("stanza_handler_errors");
      router.failure("stanza handler failed", {
        err: excerpt((err as Error).message),
        stanza: excerpt(el.toString(), 500),
      });
    }
  };

  // RFC 6120 8.3: the server returns an undeliverable message as type="error".
  // service-unavailable (and its kin) means the server user is offline and
  // there is no offline storage: hold the notification and send it again
  // when the server user is back. Anything else is a failure, logged.
  // Only the server user it went to or its server can return a notification:
  // from anyone else who learned a trace, a bounce would stall that server
  // user's mail with backoff (or, not retriable, end the wait for its receipt).
  const bounced = (el: Element) => {
    const first = recent.peek(el.attrs.id)[0];
    // Anyone can send the component an error with a made-up id: it changes
    // nothing, so it is counted and rate-logged like any refused input.
    if (!first) {
      return router.refuse("bounces_unknown", "a bounce for no notification sent", el.attrs.from);
    }
    if (!bounceConcerns(el.attrs.from, first.to)) {
      return router.refuse(
        "bounces_refused",
        "a bounce not from the server user or its server",
        el.attrs.from,
      );
    }
    counters.inc("notifications_bounced");
    if (el.attrs.id !== undefined) awaiting?.forget(el.attrs.id);
    const condition = el.getChild("error")?.getChildElements()[0]?.name;
    const sent = recent.take(el.attrs.id);
    const context = {
      user: first.user,
      presence: first.presence,
      to: first.to,
      trace: first.trace,
      count: sent.length,
    };
    if (condition !== undefined && RETRIABLE.has(condition)) {
      for (const n of sent) held.hold(n);
      logger.warn(
        { id: el.attrs.id, from: el.attrs.from, condition, held: held.size, ...context },
        "notification bounced: held until the server user is back",
      );
      return;
    }
    logger.error(
      {
        event: "presence_notify_error",
        id: el.attrs.id,
        from: el.attrs.from,
        condition,
        ...context,
      },
      "presence_notify_error: the server returned a notification",
    );
  };

  // XEP-0184 section 5: the receipt echoes the message id in <received id>
  // (early clients echoed it in the message's own id instead).
  const received = (el: Element, receipt: Element) => {
    const id = receipt.attrs.id ?? el.attrs.id;
    if (!awaiting || typeof id !== "string" || typeof el.attrs.from !== "string") {
      counters.inc("receipts_unmatched");
      return;
    }
    awaiting.acknowledge(id, el.attrs.from);
  };

  link.on("stanza", dispatch);
  // Too large or too deep to parse (src/xmpp/stream-guard.ts): not built, never notified.
  link.on("refused", (refused: RefusedStanza) => {
    // The guard's reasons are fixed sentences, but the library's own error
    // follows a colon, and the element name is the sender's: both are detail.
    const colon = refused.reason.indexOf(":");
    const reason = colon < 0 ? refused.reason : refused.reason.slice(0, colon);
    const detail = colon < 0 ? refused.name : `${refused.name}:${refused.reason.slice(colon + 1)}`;
    router.refuse("stanzas_refused", `stanza ${reason}`, refused.from, detail);
    // The server broadcast it, so the session's availability changed all the
    // same: a user must not hide its arrival (or departure) from the server
    // user by making its presence too big or too deep to read. What the
    // availability needs is in the start tag; the children are dropped.
    if (refused.name === "presence") {
      const { from, to, type, xmlns } = refused;
      router.presence(xml("presence", { from, to, type, xmlns }));
    }
  });
  // With presences from a broker (MongooseIM), a component link outage loses
  // none of them (they wait in the daemon's queue), so nothing the daemon
  // believes is in doubt after a reconnect: no replay to wait for, no pings.
  // A server session list (GraphQL), if configured, is still taken as the
  // truth on every connect.
  const resyncOnConnect = !options.brokerSource || options.sessionList !== undefined;
  link.on("connecting", () => {
    // Privileges are per connection (XEP-0356 section 4): the new one brings its own.
    privileges = undefined;
    served.connecting();
    if (resyncOnConnect) resync.connecting();
  });
  link.on("online", () => {
    served.online();
    if (resyncOnConnect) resync.online();
  });
  link.on("offline", () => {
    if (resyncOnConnect) resync.offline();
    awaiting?.linkLost();
  });

  // What every presence source feeds (src/sources/presence-source.ts); the
  // XMPP stream reaches it through router.presence.
  const sink: PresenceSink = {
    hasRoom: () => mailbox.size < mailbox.capacity,
    writable: () => commits?.fault() === undefined,
    // Not taken while the state file refuses commits: a broker keeps it
    // unacknowledged. Handed in again, it changes no machine (already advanced).
    accept: (jid, event) => {
      router.accept(jid, event);
      return commits?.fault() === undefined;
    },
    refuse: (counter, reason, from) => router.refuse(counter, reason, from),
  };

  return {
    counters,
    registry,
    mailbox,
    sink,
    recent,
    held,
    awaiting,
    router,
    liveness,
    privileges: () => privileges,
    /** Durable mode: why the state file cannot be written now, if it cannot (for /readyz). */
    storeFault: () => commits?.fault(),
    /** Durable mode: transitions kept in memory while the state file refuses commits. */
    uncommitted: commits
      ? {
          get size() {
            return commits.kept;
          },
        }
      : undefined,
    /** Durable mode: the dead-letter table, behind the same kept writes. */
    deadLetterTable: store && sideWrites ? sideWrites.deadLetters(store.deadLetters) : undefined,
    /** The owner of the mechanisms' timers; the daemon's send rate takes a clock from it too. */
    timers,
    /** Queues what flap damping still holds back, so a drain can send it. */
    flush() {
      damper.flush();
      userRate.flush();
    },
    /** A reload's new flap window, per-user rate (0: off) and liveness checks, applied in place. */
    retune(limits: {
      flapWindowMs: number;
      userRate: number;
      liveness: { intervalMs: number; timeoutMs: number; maxRate: number };
    }) {
      // After close(): the daemon is stopping; no timer may start again.
      if (closed) return;
      damper.setWindow(limits.flapWindowMs);
      userRate.setRate(limits.userRate);
      livenessTimeoutMs = limits.liveness.timeoutMs;
      liveness.retune(limits.liveness);
    },
    /** Stops the pipeline's own timers (liveness ticks, resync, held-mail retries). */
    close() {
      closed = true;
      liveness.stop();
      resync.offline();
      held.close();
      awaiting?.close();
      commits?.close();
    },
  };
}

export type Pipeline = ReturnType<typeof createPipeline>;

/** Whether `from` is the server user `to` (bare or full JID) or its server, in canonical form. */
function bounceConcerns(from: string | undefined, to: string): boolean {
  const origin = from === undefined ? undefined : canonicalBare(from);
  const serverUser = canonicalBare(to);
  if (origin === undefined || serverUser === undefined) return false;
  return origin === serverUser || origin === serverUser.slice(serverUser.indexOf("@") + 1);
}
