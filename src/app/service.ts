import { notifierLogic } from "../actors/notifier.js";
import type { DaemonConfig } from "../config/schema.js";
import type { Clock } from "../otp/clock.js";
import { TimerGuard } from "../otp/timer-guard.js";
import { flapDamping, Outbound, perUserRate } from "../outbox/outbound.js";
import { createOutbox, type Outbox } from "../outbox/outbox.js";
import { UserLevel, userLevel } from "../outbox/user-level.js";
import type { Notification } from "../protocol/notification.js";
import type { Privileges } from "../protocol/privilege.js";
import { payloadPseudonym } from "../protocol/pseudonym.js";
import { signer } from "../protocol/signature.js";
import { createIntake, type Intake } from "../sessions/intake.js";
import type { ResyncDeps } from "../sessions/resync.js";
import { SequenceNumbers } from "../sessions/sequence-numbers.js";
import { parentDomain } from "../sessions/served-domains.js";
import type { SessionObserver } from "../sessions/session-registry.js";
import type { DurableStore } from "../store/open.js";
import { Counters } from "../telemetry/counters.js";
import type { Logger } from "../telemetry/log.js";
import type { Link } from "../xmpp/component-link.js";
import type { SessionList } from "../xmpp/session-list.js";
import { StanzaDispatch } from "./dispatch.js";

export interface ServiceOptions {
  /** The daemon's configuration, read live: a reload replaces what this returns, then `retune()`. */
  config: () => DaemonConfig;
  link: Link;
  clock: Clock;
  logger: Logger;
  /** Durable mode: an open store (its owner closes it). */
  store?: DurableStore;
  /** The server's own list of live sessions, if it has one (ejabberd's HTTP API, MongooseIM's GraphQL). */
  sessionList?: SessionList;
  /** `start --inspect`: told of every event each session's machine takes. */
  observeSessions?: SessionObserver;
  /** `start --inspect`: where the resync machine's actor reports, as the supervised ones do. */
  inspect?: ResyncDeps["inspect"];
  /** Told of every notification the link accepted (the admin listener's feed). */
  onSent?: (sent: readonly Notification[]) => void;
  /** Fault injection for tests; no configuration reaches it. */
  faults?: ServiceFaults;
}

/** Test-only faults: a throw from either stands for a bug in that code. */
export interface ServiceFaults {
  /** Runs in the notifier before each stanza is built: a throw crashes the notifier. */
  notifierBeforeSend?: (n: Notification) => void;
  /** Runs before each timer callback of the named mechanism (src/otp/timer-guard.ts). */
  timers?: (mechanism: string) => void;
}

/**
 * The presence service without its supervisor: intake, the way out, the
 * outbox and the notifier's logic, built once.
 *
 *   link ─▶ dispatch ─▶ intake ─▶ outbound stages ─▶ mailbox ─▶ notifier ─▶ link
 *
 * The daemon runs `notifier` under its supervisor; unit tests run it
 * against an in-memory server. Nothing starts until `start()`.
 */
export interface Service {
  readonly counters: Counters;
  readonly intake: Intake;
  readonly outbox: Outbox;
  /** The notifier actor's logic: every incarnation reads the same outbox. */
  readonly notifier: ReturnType<typeof notifierLogic>;
  /** The privileges the server granted on this connection (XEP-0356), if any yet. */
  privileges(): Privileges | undefined;
  /** Restores durable state, listens to the link, starts the liveness checks. */
  start(): void;
  /** Applies what a reload changed that is read only now (limits, liveness). */
  retune(): void;
  /** Queues what the outbound stages still hold back, so a drain can send it. */
  flush(): void;
  /** Stops every timer of intake and outbox. */
  close(): void;
}

export function createService(options: ServiceOptions): Service {
  const { config, link, clock, logger, store, faults } = options;
  const counters = new Counters();
  // Every mechanism's timers have an owner that reports a failed callback
  // and runs it again: none can end a mechanism or take the process down.
  const timers = new TimerGuard({
    clock,
    counters,
    logger,
    ...(faults?.timers ? { fault: faults.timers } : {}),
  });
  const level = userLevelOf(config(), store);
  // The one loop in the composition: a reconcile (durable mode, after the
  // state file refused commits) reads intake's sessions and announces them,
  // told at the configured level.
  const outbox = createOutbox({
    config,
    timers,
    counters,
    logger,
    ...(store ? { store } : {}),
    truth: {
      available: () => intake.available(),
      announce: (full, presence) => {
        const t = intake.announce(full, presence);
        return level && t ? level.apply(t) : t;
      },
      ...(level ? { reconciling: (told: readonly string[]) => level.restore(told) } : {}),
    },
    // notify.snapshot's resync signals: to whom, before a notification or an
    // advertisement (dispatch) says. The parent domain only for the broker
    // route, where no host ever advertises (src/sessions/served-domains.ts).
    domains: {
      serves: (domain) => intake.served.serves(domain),
      known: () => {
        const parent = config().source.rabbitmq.url ? parentDomain(link.domain) : undefined;
        const { domains } = config().notify;
        return parent === undefined ? domains : [...domains, parent];
      },
    },
  });
  // The way out, in order: every notifying transition intake hands over.
  const outbound = new Outbound(
    [
      flapDamping(outbox.damper), // notify.flap_window, per session
      perUserRate(outbox.userRate), // notify.user_rate, per user
      // notify.level = "user": last, so it counts what each session's changes tell.
      ...(level ? [userLevel(level)] : []),
    ],
    // Into the mailbox; durable mode: committed with the session's change.
    (t) => {
      if (t.notification) link.stages?.enter(t.notification);
      outbox.enter(t);
    },
  );
  const intake = createIntake({
    config,
    link,
    clock,
    timers,
    counters,
    logger,
    ...(store ? { store } : {}),
    ...(options.sessionList ? { sessionList: options.sessionList } : {}),
    ...(options.observeSessions ? { observeSessions: options.observeSessions } : {}),
    ...(options.inspect ? { inspect: options.inspect } : {}),
    outbound,
    outbox,
  });
  const dispatch = new StanzaDispatch({
    link,
    intake,
    outbox,
    counters,
    logger,
    fromUser: () => config().notify.from === "user",
    brokerSource: config().source.rabbitmq.url !== undefined,
    serverUser: () => config().notify.serverUser,
  });
  const privileges = () => dispatch.privileges();
  let started = false;
  let closed = false;
  return {
    counters,
    intake,
    outbox,
    notifier: notifier({ ...options, outbox, counters, privileges }),
    privileges,
    start() {
      if (started) return;
      started = true;
      outbox.restore();
      const sessions = intake.restore();
      level?.restore(intake.available());
      const restored = { sessions, queued: outbox.mailbox.size };
      if (store && restored.sessions + restored.queued > 0) logger.info(restored, "state restored");
      outbox.snapshot?.start();
      dispatch.attach();
      intake.start();
    },
    retune() {
      // After close(): the service is stopping; no timer may start again.
      if (closed) return;
      outbox.retune();
      intake.retune();
    },
    flush: () => outbound.flush(),
    close() {
      closed = true;
      intake.close();
      outbox.close();
    },
  };
}

/**
 * `notify.level = "user"`'s stage, read once: a new level needs a restart
 * (a consumer cannot take per-session and per-user notifications mixed).
 * With `notify.sequence`, its numbers are per bare JID.
 */
function userLevelOf(c: DaemonConfig, store: DurableStore | undefined): UserLevel | undefined {
  if (c.notify.level !== "user") return undefined;
  if (c.notify.sequence !== "session") return new UserLevel();
  return new UserLevel({ sequence: new SequenceNumbers(undefined, store?.sequences) });
}

/** The notifier's logic over the outbox, its options read from the live configuration. */
function notifier(
  parts: ServiceOptions & {
    outbox: Outbox;
    counters: Counters;
    privileges: () => Privileges | undefined;
  },
) {
  const { config, link, clock, logger, outbox, counters, privileges, faults, onSent } = parts;
  const { signing, pseudonyms } = config();
  return notifierLogic({
    mailbox: outbox.mailbox,
    link,
    clock,
    from: () => config().notify.from,
    privileges,
    recent: outbox.recent,
    held: outbox.held,
    maxAgeMs: () => config().mailbox.maxAgeMs,
    now: () => clock.now(),
    rate: outbox.rate,
    batch: () => config().notify.batch,
    ...(outbox.awaiting ? { awaiting: outbox.awaiting } : {}),
    ...(faults?.notifierBeforeSend ? { beforeSend: faults.notifierBeforeSend } : {}),
    ...(signing.key ? { sign: signer({ id: signing.keyId, secret: signing.key.value() }) } : {}),
    ...(pseudonyms.key ? { pseudonym: payloadPseudonym(pseudonyms.key.value()) } : {}),
    counters,
    logger,
    deadLetters: outbox.deadLetters,
    ...(onSent ? { onSent } : {}),
  });
}
