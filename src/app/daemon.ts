import { connectionLogic } from "../actors/connection.js";
import { notifierLogic } from "../actors/notifier.js";
import { rabbitmqSourceLogic } from "../actors/rabbitmq-source.js";
import { compileFilter } from "../config/glob.js";
import { describeChanges, planReload } from "../config/reload.js";
import type { DaemonConfig } from "../config/schema.js";
import type { Inspection } from "../inspect/inspection.js";
import { backoffDelay } from "../otp/backoff.js";
import { type Clock, systemClock } from "../otp/clock.js";
import { startSupervisor } from "../otp/supervisor-root.js";
import type { ChildSpec } from "../otp/supervisor-spec.js";
import { DeadLetters } from "../outbox/dead-letters.js";
import { SendRate } from "../outbox/send-rate.js";
import type { Notification } from "../protocol/notification.js";
import { payloadPseudonym } from "../protocol/pseudonym.js";
import { signer } from "../protocol/signature.js";
import { mongooseimSessionList } from "../sources/mongooseim-sessions.js";
import { RabbitMqSource } from "../sources/rabbitmq.js";
import type { DurableStore } from "../store/open.js";
import type { Logger } from "../telemetry/log.js";
import { ComponentLink } from "../xmpp/component-link.js";
import { ejabberdSessionList } from "../xmpp/session-list.js";
import { createPipeline } from "./pipeline.js";

/**
 * The daemon: the presence pipeline plus its supervised actors.
 *
 *   presence-notify (one_for_one)
 *   ├── connection  the XEP-0114 link and its reconnect backoff
 *   ├── notifier    drains the mailbox to the server user
 *   └── rabbitmq    with [source.rabbitmq] url: MongooseIM's presence events
 *
 * Started in that order, stopped in reverse: on shutdown the RabbitMQ
 * consumer stops taking messages, the notifier drains (within
 * `shutdown.drain_timeout`), then the connection closes.
 */
export interface DaemonOptions {
  config: DaemonConfig;
  logger: Logger;
  clock?: Clock;
  /**
   * Children started before the daemon's own and stopped after them, e.g.
   * the demo's Prosody, supervised as an OS process in the same tree.
   */
  before?: readonly ChildSpec[];
  /** Durable mode: an open store (the caller opened it, the daemon closes it). */
  store?: DurableStore;
  /**
   * Fault injection for end-to-end tests of an in-process daemon; never set
   * by the configuration or the CLI. `notifierBeforeSend` runs in the
   * notifier before each stanza is built: a throw crashes the notifier.
   * `timers` runs before each timer callback of the named mechanism
   * (liveness, resync, held_mail, ...): a throw stands for a bug there.
   */
  faults?: {
    notifierBeforeSend?: (n: Notification) => void;
    timers?: (mechanism: string) => void;
  };
  /** `start --inspect`: where live actors and sessions report (the caller closes it). */
  inspection?: Pick<Inspection, "actors" | "sessions">;
  /** Told of every notification the link accepted (the admin listener's feed). */
  onSent?: (sent: readonly Notification[]) => void;
}

// How long the server's replay of current presences may stay quiet before it
// counts as over. Prosody sends it right after the handshake reply, so a
// second of silence is generous.
const RESYNC_SETTLE_MS = 1_000;

export function startDaemon({
  config,
  logger,
  clock = systemClock,
  before = [],
  store,
  faults,
  inspection,
  onSent,
}: DaemonOptions) {
  // Replaced as a whole by reload(); everything read through it is live.
  let current = config;
  let filter = compileFilter(current.notify.include, current.notify.exclude);
  const link = new ComponentLink({
    service: current.component.service,
    domain: current.component.domain,
    secret: current.component.secret.value(),
    logger,
  });
  const pipeline = createPipeline({
    link,
    clock,
    logger,
    policy: () => ({
      serverUser: current.notify.serverUser,
      accepts: filter,
      domains: current.notify.domains,
    }),
    fromUser: () => current.notify.from === "user",
    mailboxCapacity: current.mailbox.capacity,
    pingTimeoutMs: current.resync.pingTimeoutMs,
    resyncSettleMs: RESYNC_SETTLE_MS,
    liveness: current.liveness,
    flapWindowMs: current.notify.flapWindowMs,
    sequence: current.notify.sequence === "session",
    userRate: current.notify.userRate,
    receiptTimeoutMs: current.notify.receiptTimeoutMs,
    ...(store ? { store } : {}),
    brokerSource: current.source.rabbitmq.url !== undefined,
    ...(faults?.timers ? { timerFault: faults.timers } : {}),
    ...(inspection ? { observeSessions: inspection.sessions, inspect: inspection.actors } : {}),
    ...(current.resync.ejabberdApi
      ? {
          sessionList: ejabberdSessionList(
            current.resync.ejabberdApi,
            current.resync.pingTimeoutMs,
          ),
        }
      : {}),
    ...(current.source.rabbitmq.graphqlUrl
      ? {
          sessionList: mongooseimSessionList(
            current.source.rabbitmq.graphqlUrl.value(),
            current.resync.pingTimeoutMs,
          ),
        }
      : {}),
  });
  // The same backoff for both connections; `link` says whose it is in the log.
  const backoffFor = (link: string) => (attempt: number) => {
    const delay = backoffDelay(
      attempt,
      {
        initial: current.reconnect.initialMs,
        max: current.reconnect.maxMs,
        factor: 2,
        jitter: 0.5,
      },
      Math.random,
    );
    logger.info({ link, attempt, delayMs: delay }, "reconnecting after backoff");
    return delay;
  };
  const rate = new SendRate(pipeline.timers.clock("send_rate"), current.notify.maxRate);
  const deadLetters = new DeadLetters(pipeline.deadLetterTable);
  const rabbit = current.source.rabbitmq;
  const rabbitmq = rabbit.url
    ? new RabbitMqSource({
        url: rabbit.url.value(),
        exchange: rabbit.exchange,
        exchangeDurable: rabbit.exchangeDurable,
        queue: rabbit.queue,
        prefetch: rabbit.prefetch,
        sink: pipeline.sink,
        clock,
        counters: pipeline.counters,
        logger,
      })
    : undefined;
  const supervisor = startSupervisor({
    name: "presence-notify",
    clock,
    logger,
    flags: { strategy: "one_for_one", intensity: 5, period: 10_000 },
    ...(inspection ? { inspect: inspection.actors } : {}),
    children: [
      ...before,
      {
        id: "connection",
        logic: connectionLogic(link, logger),
        input: { delayFor: backoffFor("xmpp") },
        restart: "permanent",
        shutdown: 5_000,
      },
      {
        id: "notifier",
        logic: notifierLogic({
          mailbox: pipeline.mailbox,
          link,
          from: () => current.notify.from,
          privileges: pipeline.privileges,
          recent: pipeline.recent,
          held: pipeline.held,
          maxAgeMs: () => current.mailbox.maxAgeMs,
          now: () => clock.now(),
          rate,
          batch: () => current.notify.batch,
          ...(pipeline.awaiting ? { awaiting: pipeline.awaiting } : {}),
          ...(faults?.notifierBeforeSend ? { beforeSend: faults.notifierBeforeSend } : {}),
          ...(current.signing.key
            ? { sign: signer({ id: current.signing.keyId, secret: current.signing.key.value() }) }
            : {}),
          ...(current.pseudonyms.key
            ? { pseudonym: payloadPseudonym(current.pseudonyms.key.value()) }
            : {}),
          counters: pipeline.counters,
          logger,
          deadLetters,
          ...(onSent ? { onSent } : {}),
        }),
        restart: "permanent",
        shutdown: current.shutdown.drainTimeoutMs,
      },
      // Last, so it stops first: nothing new is taken while the notifier drains.
      ...(rabbitmq
        ? [
            {
              id: "rabbitmq",
              logic: rabbitmqSourceLogic(rabbitmq, logger),
              input: { delayFor: backoffFor("rabbitmq") },
              restart: "permanent" as const,
              shutdown: 5_000,
            },
          ]
        : []),
    ],
  });

  return {
    pipeline,
    link,
    supervisor,
    /** Poison notifications the notifier set aside (`/status`). */
    deadLetters,
    /** The RabbitMQ presence source (MongooseIM), if configured. */
    rabbitmq,
    /**
     * SIGHUP: applies what can change live (src/config/reload.ts), keeps the
     * rest for the next start and says so. Sessions and the queue are untouched.
     */
    reload(next: DaemonConfig) {
      const plan = planReload(current, next);
      current = plan.applied;
      filter = compileFilter(current.notify.include, current.notify.exclude);
      rate.setRate(current.notify.maxRate);
      pipeline.retune({
        flapWindowMs: current.notify.flapWindowMs,
        userRate: current.notify.userRate,
        liveness: current.liveness,
      });
      logger.level = current.log.level;
      pipeline.counters.inc("config_reloads");
      if (plan.restartOnly.length > 0) {
        logger.warn(
          { event: "config_restart_required", changed: describeChanges(plan.restartOnly) },
          `configuration change needs a restart, not applied: ${plan.restartOnly.map((c) => c.key).join(", ")}`,
        );
      }
      logger.info(
        {
          event: "config_reloaded",
          changed: describeChanges(plan.live),
          reloads: pipeline.counters.get("config_reloads"),
        },
        plan.live.length > 0
          ? "configuration reloaded"
          : "configuration reloaded: nothing to apply",
      );
      return plan;
    },
    /** Drains queued notifications (bounded by the drain timeout), then closes. */
    async stop() {
      pipeline.flush();
      await supervisor.shutdown();
      pipeline.close();
      rate.close();
      const left = pipeline.mailbox.size;
      store?.close();
      if (pipeline.held.size > 0 && store) {
        logger.warn(
          { held: pipeline.held.size },
          "stopped with bounced notifications held: kept in the state file",
        );
      } else if (pipeline.held.size > 0) {
        logger.error(
          { event: "presence_notify_error", undelivered: pipeline.held.size },
          "presence_notify_error: stopped with bounced notifications held for offline server users, lost",
        );
      }
      const unacknowledged = pipeline.awaiting?.size ?? 0;
      if (unacknowledged > 0 && store) {
        logger.warn(
          { unacknowledged },
          "stopped with notifications awaiting a receipt: kept in the state file, sent again at start",
        );
      } else if (unacknowledged > 0) {
        logger.error(
          { event: "presence_notify_error", unacknowledged },
          "presence_notify_error: stopped with notifications sent but never acknowledged, possibly lost (memory mode)",
        );
      }
      if (left === 0) return;
      if (store) {
        logger.warn(
          { queued: left },
          "stopped with notifications queued: kept in the durable outbox",
        );
      } else {
        logger.error(
          { event: "presence_notify_error", undelivered: left },
          "presence_notify_error: stopped with notifications still queued, lost (memory mode)",
        );
      }
    },
  };
}

export type Daemon = ReturnType<typeof startDaemon>;
