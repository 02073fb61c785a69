import { connectionLogic } from "../actors/connection.js";
import { rabbitmqSourceLogic } from "../actors/rabbitmq-source.js";
import { describeChanges, planReload, type ReloadPlan } from "../config/reload.js";
import type { DaemonConfig } from "../config/schema.js";
import type { Inspection } from "../inspect/inspection.js";
import { backoffDelay } from "../otp/backoff.js";
import { type Clock, systemClock } from "../otp/clock.js";
import { startSupervisor } from "../otp/supervisor-root.js";
import type { ChildSpec } from "../otp/supervisor-spec.js";
import type { Outbox } from "../outbox/outbox.js";
import { mongooseimSessionList } from "../sources/mongooseim-sessions.js";
import { RabbitMqSource } from "../sources/rabbitmq.js";
import type { DurableStore } from "../store/open.js";
import type { Counters } from "../telemetry/counters.js";
import type { Logger } from "../telemetry/log.js";
import { ComponentLink } from "../xmpp/component-link.js";
import { ejabberdSessionList, type SessionList } from "../xmpp/session-list.js";
import { createService, type Service, type ServiceFaults, type ServiceOptions } from "./service.js";

/**
 * The daemon: the presence service (src/app/service.ts) plus its supervised actors.
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
  faults?: ServiceFaults;
  /** `start --inspect`: where live actors and sessions report (the caller closes it). */
  inspection?: Pick<Inspection, "actors" | "sessions">;
  /** Told of every notification the link accepted (the admin listener's feed). */
  onSent?: ServiceOptions["onSent"];
}

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
  const link = new ComponentLink({
    service: current.component.service,
    domain: current.component.domain,
    secret: current.component.secret.value(),
    logger,
  });
  const sessionList = sessionListOf(current);
  const service = createService({
    config: () => current,
    link,
    clock,
    logger,
    ...(store ? { store } : {}),
    ...(sessionList ? { sessionList } : {}),
    ...(inspection ? { observeSessions: inspection.sessions, inspect: inspection.actors } : {}),
    ...(onSent ? { onSent } : {}),
    ...(faults ? { faults } : {}),
  });
  const rabbit = current.source.rabbitmq;
  const rabbitmq = rabbit.url
    ? new RabbitMqSource({
        url: rabbit.url.value(),
        exchange: rabbit.exchange,
        exchangeDurable: rabbit.exchangeDurable,
        queue: rabbit.queue,
        singleActiveConsumer: rabbit.singleActiveConsumer,
        prefetch: rabbit.prefetch,
        sink: service.intake.sink,
        clock,
        counters: service.counters,
        logger,
      })
    : undefined;
  service.start();
  const supervisor = startSupervisor({
    name: "presence-notify",
    clock,
    logger,
    flags: { strategy: "one_for_one", intensity: 5, period: 10_000 },
    ...(inspection ? { inspect: inspection.actors } : {}),
    children: children({ before, link, service, rabbitmq, logger, config: () => current }),
  });

  return {
    service,
    link,
    supervisor,
    /** Poison notifications the notifier set aside (`/status`). */
    deadLetters: service.outbox.deadLetters,
    /** The RabbitMQ presence source (MongooseIM), if configured. */
    rabbitmq,
    /**
     * SIGHUP: applies what can change live (src/config/reload.ts), keeps the
     * rest for the next start and says so. Sessions and the queue are untouched.
     */
    reload(next: DaemonConfig) {
      const plan = planReload(current, next);
      current = plan.applied;
      service.retune();
      logger.level = current.log.level;
      reportReload(plan, service.counters, logger);
      return plan;
    },
    /** Drains queued notifications (bounded by the drain timeout), then closes. */
    async stop() {
      service.flush();
      await supervisor.shutdown();
      service.close();
      const left = service.outbox.mailbox.size;
      store?.close();
      reportLeftovers(service.outbox, left, store !== undefined, logger);
    },
  };
}

export type Daemon = ReturnType<typeof startDaemon>;

/** The server's own list of live sessions: ejabberd's HTTP API or MongooseIM's GraphQL, if configured. */
function sessionListOf(config: DaemonConfig): SessionList | undefined {
  const { pingTimeoutMs, ejabberdApi } = config.resync;
  const { graphqlUrl } = config.source.rabbitmq;
  if (graphqlUrl) return mongooseimSessionList(graphqlUrl.value(), pingTimeoutMs);
  if (ejabberdApi) return ejabberdSessionList(ejabberdApi, pingTimeoutMs);
  return undefined;
}

/** The tree's children, in start order (stopped in reverse). */
function children(parts: {
  before: readonly ChildSpec[];
  link: ComponentLink;
  service: Service;
  rabbitmq: RabbitMqSource | undefined;
  logger: Logger;
  config: () => DaemonConfig;
}): ChildSpec[] {
  const { before, link, service, rabbitmq, logger, config } = parts;
  // The same backoff for both connections; `link` says whose it is in the log.
  const backoffFor = (link: string) => (attempt: number) => {
    const { initialMs, maxMs } = config().reconnect;
    const delay = backoffDelay(
      attempt,
      { initial: initialMs, max: maxMs, factor: 2, jitter: 0.5 },
      Math.random,
    );
    logger.info({ link, attempt, delayMs: delay }, "reconnecting after backoff");
    return delay;
  };
  return [
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
      logic: service.notifier,
      restart: "permanent",
      shutdown: config().shutdown.drainTimeoutMs,
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
  ];
}

function reportReload(plan: ReloadPlan, counters: Counters, logger: Logger): void {
  counters.inc("config_reloads");
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
      reloads: counters.get("config_reloads"),
    },
    plan.live.length > 0 ? "configuration reloaded" : "configuration reloaded: nothing to apply",
  );
}

/** What a stop leaves behind: kept in the state file (durable mode) or lost, said so. */
function reportLeftovers(
  outbox: Pick<Outbox, "held" | "awaiting">,
  left: number,
  durable: boolean,
  logger: Logger,
): void {
  const held = outbox.held.size;
  if (held > 0 && durable) {
    logger.warn({ held }, "stopped with bounced notifications held: kept in the state file");
  } else if (held > 0) {
    logger.error(
      { event: "presence_notify_error", undelivered: held },
      "presence_notify_error: stopped with bounced notifications held for offline server users, lost",
    );
  }
  const unacknowledged = outbox.awaiting?.size ?? 0;
  if (unacknowledged > 0 && durable) {
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
  if (durable) {
    logger.warn({ queued: left }, "stopped with notifications queued: kept in the durable outbox");
  } else {
    logger.error(
      { event: "presence_notify_error", undelivered: left },
      "presence_notify_error: stopped with notifications still queued, lost (memory mode)",
    );
  }
}
