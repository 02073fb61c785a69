import { compileFilter } from "../config/glob.js";
import type { DaemonConfig } from "../config/schema.js";
import type { Clock } from "../otp/clock.js";
import type { TimerGuard } from "../otp/timer-guard.js";
import type { Transition } from "../outbox/outbound.js";
import type { Outbox, SessionTruth } from "../outbox/outbox.js";
import { parseFullJid } from "../protocol/jid.js";
import type { Privileges } from "../protocol/privilege.js";
import type { PresenceSink } from "../sources/presence-source.js";
import type { DurableStore } from "../store/open.js";
import type { Counters } from "../telemetry/counters.js";
import type { Logger } from "../telemetry/log.js";
import type { Link } from "../xmpp/component-link.js";
import { Pinger } from "../xmpp/ping.js";
import type { SessionList } from "../xmpp/session-list.js";
import { Liveness } from "./liveness.js";
import { PresenceRouter, type RoutingPolicy } from "./presence-router.js";
import { Resync, type ResyncDeps } from "./resync.js";
import { SequenceNumbers } from "./sequence-numbers.js";
import { ServedDomains } from "./served-domains.js";
import { type SessionObserver, SessionRegistry } from "./session-registry.js";

/**
 * How long the server's replay of current presences may stay quiet before it
 * counts as over. Prosody sends it right after the handshake reply, so a
 * second of silence is generous.
 */
const RESYNC_SETTLE_MS = 1_000;
/** Sessions a resync checks (pings) at once. */
const RESYNC_CONCURRENCY = 64;

export interface IntakeOptions {
  /** The daemon's live configuration: filters read on every presence, liveness on `retune`. */
  config: () => DaemonConfig;
  link: Link;
  clock: Clock;
  /** The owner of the mechanisms' timers (src/otp/timer-guard.ts). */
  timers: TimerGuard;
  counters: Counters;
  logger: Logger;
  /** Durable mode: the sessions available when the daemon last stopped, and their sequence numbers. */
  store?: DurableStore;
  /** The server's own list of live sessions, if it has one (ejabberd's HTTP API, MongooseIM's GraphQL). */
  sessionList?: SessionList;
  /** `start --inspect`: told of every event each session's machine takes. */
  observeSessions?: SessionObserver;
  /** `start --inspect`: where the resync machine's actor reports. */
  inspect?: ResyncDeps["inspect"];
  /** Where every notifying transition goes, in order (src/outbox/outbound.ts). */
  outbound: { offer(t: Transition): void };
  /** The outbox, as the server user's own sessions and the presence sources need it. */
  outbox: Pick<Outbox, "held" | "hasRoom" | "writable">;
}

/** Intake: presences in, session machines advanced, notifying transitions handed outbound. */
export interface Intake extends SessionTruth {
  readonly registry: SessionRegistry;
  readonly router: PresenceRouter;
  readonly served: ServedDomains;
  readonly pinger: Pinger;
  readonly liveness: Liveness;
  /** What every presence source feeds (src/sources/presence-source.ts). */
  readonly sink: PresenceSink;
  /** A connection attempt starts (XEP-0114): nothing believed is confirmed any more. */
  connecting(): void;
  online(): void;
  offline(): void;
  /** An advertisement (XEP-0356 section 4) from `host`: whether it is this connection's. */
  advertised(host: string, granted: Privileges): boolean;
  /** A stanza that is neither a replayed presence nor an advertisement: the replay is over. */
  replayInterrupted(): void;
  /** Durable mode, at start: the sessions of the last run, known again silently; how many. */
  restore(): number;
  /** Starts the periodic liveness checks. */
  start(): void;
  /** A reload's liveness checks, applied in place. */
  retune(): void;
  /** Stops intake's timers (liveness ticks, resync). */
  close(): void;
}

export function createIntake(options: IntakeOptions): Intake {
  const { config, link, clock, counters, logger, store, outbox } = options;
  const registry = new SessionRegistry(options.observeSessions);
  const policy = livePolicy(config);
  const served = new ServedDomains({
    configured: () => policy().domains,
    component: () => link.domain,
    now: () => clock.now(),
    quietMs: RESYNC_SETTLE_MS,
  });
  // The checks and the router feed each other: a check's verdict drives a
  // session's machine, and every event a machine takes tells liveness.
  const checks = sessionChecks(options, registry, {
    drive: (jid, event) => router.driveTracked(jid, event),
    accept: (jid, event, origin) => router.accept(jid, event, origin),
  });
  const { liveness, resync } = checks;
  // With presences from a broker (MongooseIM), a component link outage loses
  // none of them (they wait in the daemon's queue), so nothing the daemon
  // believes is in doubt after a reconnect: no replay to wait for, no pings.
  // A server session list (GraphQL), if configured, is still taken as the
  // truth on every connect.
  const resyncOnConnect =
    config().source.rabbitmq.url === undefined || options.sessionList !== undefined;
  const router = new PresenceRouter({
    registry,
    outbound: options.outbound,
    policy,
    serves: (domain) => served.serves(domain),
    counters,
    logger,
    now: () => clock.now(),
    // At notify.level = "user" the user-level stage numbers per bare JID (src/app/service.ts).
    ...(config().notify.sequence === "session" && config().notify.level === "session"
      ? { sequence: new SequenceNumbers(undefined, store?.sequences) }
      : {}),
    fields: () => config().notify.fields,
    replayOpen: () => resyncOnConnect && resync.replayOpen(),
    onReplay: (jid, served) => resync.replayed(jid, served),
    onServerUserOnline: (bare) => outbox.held.release(bare, "online"),
    // Liveness keeps the JID as a Map key: parseFullJid's flat string, the
    // one a new session's registry entry holds too, not a slice of the
    // network chunk the presence came in (which it would keep alive).
    onSession: (jid, available) => (available ? liveness.touch(jid) : liveness.forget(jid)),
  });
  return {
    registry,
    router,
    served,
    pinger: checks.pinger,
    liveness,
    sink: {
      hasRoom: () => outbox.hasRoom(),
      writable: () => outbox.writable(),
      // Not taken while the state file refuses commits: a broker keeps it
      // unacknowledged. Handed in again, it changes no machine (already advanced).
      accept: (jid, event) => {
        router.accept(jid, event);
        return outbox.writable();
      },
      refuse: (counter, reason, from) => router.refuse(counter, reason, from),
    },
    available: () => registry.sessionsInState({ presence: "available" }),
    announce: (full, presence) => router.announce(full, presence),
    connecting() {
      served.connecting();
      if (resyncOnConnect) resync.connecting();
    },
    online() {
      served.online();
      if (resyncOnConnect) resync.online();
    },
    offline() {
      if (resyncOnConnect) resync.offline();
    },
    advertised(host, granted) {
      if (!served.advertisement(host, granted)) return false;
      if (resyncOnConnect) resync.advertised();
      return true;
    },
    replayInterrupted() {
      if (resyncOnConnect) resync.interrupted();
    },
    restore: () => (store ? restoreSessions(store, registry, counters) : 0),
    start: () => liveness.start(),
    retune: () => checks.retune(),
    close: () => checks.close(),
  };
}

/**
 * What checks the sessions the server may not report: XEP-0199 pings,
 * periodic for quiet sessions (liveness) and after a reconnect (resync).
 */
function sessionChecks(
  options: IntakeOptions,
  registry: SessionRegistry,
  router: Pick<PresenceRouter, "accept"> & { drive: PresenceRouter["driveTracked"] },
) {
  const { config, link, clock, timers, counters, logger } = options;
  const pinger = new Pinger({
    clock: timers.clock("pings"),
    from: () => link.domain,
    send: (el) => link.send(el),
    timeoutMs: config().resync.pingTimeoutMs,
  });
  let livenessTimeoutMs = config().liveness.timeoutMs;
  const liveness = new Liveness({
    clock: timers.clock("liveness"),
    ping: (jid) => pinger.ping(jid, livenessTimeoutMs),
    drive: router.drive,
    online: () => link.online,
    canPing: (jid) => registry.stateOf(jid).confirmed === true,
    counters,
    logger,
    intervalMs: config().liveness.intervalMs,
    maxRate: config().liveness.maxRate,
  });
  const resync = new Resync({
    registry,
    drive: router.drive,
    admit: ({ jid, show }) => {
      const parsed = parseFullJid(jid);
      if (!parsed.ok) return counters.inc("presence_rejected");
      const event = {
        type: "presence.available" as const,
        delay: new Date(clock.now()).toISOString(),
      };
      router.accept(parsed.jid, show === undefined ? event : { ...event, show }, "listed");
    },
    ...(options.sessionList ? { sessionList: options.sessionList } : {}),
    pinger,
    liveness,
    clock: timers.clock("resync"),
    counters,
    logger,
    settleMs: RESYNC_SETTLE_MS,
    ...(options.inspect ? { inspect: options.inspect } : {}),
    concurrency: RESYNC_CONCURRENCY,
  });
  let closed = false;
  return {
    pinger,
    liveness,
    resync,
    retune() {
      // After close(): the daemon is stopping; no timer may start again.
      if (closed) return;
      livenessTimeoutMs = config().liveness.timeoutMs;
      liveness.retune(config().liveness);
    },
    close() {
      closed = true;
      liveness.stop();
      resync.offline();
    },
  };
}

/**
 * The routing policy, read on every presence so a reload applies at once;
 * the include/exclude globs are compiled again only when `notify` changed.
 */
function livePolicy(config: () => DaemonConfig): () => RoutingPolicy {
  let compiled:
    | { notify: DaemonConfig["notify"]; accepts: (localpart: string) => boolean }
    | undefined;
  return () => {
    const { notify } = config();
    if (compiled?.notify !== notify) {
      compiled = { notify, accepts: compileFilter(notify.include, notify.exclude) };
    }
    return { serverUser: notify.serverUser, accepts: compiled.accepts, domains: notify.domains };
  };
}

/**
 * Sessions available when the daemon last stopped are known again,
 * silently; the first connect's resync settles each of them. The file is
 * checked like the wire (an older version, or a hand, wrote it): keyed
 * canonically, and a JID the daemon would now refuse forgotten.
 */
function restoreSessions(
  store: DurableStore,
  registry: SessionRegistry,
  counters: Counters,
): number {
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
  return registry.size;
}
