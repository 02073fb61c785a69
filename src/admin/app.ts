import type { ServerResponse } from "node:http";
import type { DaemonConfig } from "../config/schema.js";
import { type Clock, systemClock } from "../otp/clock.js";
import type { SupervisionTree } from "../otp/supervised-child.js";
import type { Privileges } from "../protocol/privilege.js";
import { asGiven, pseudonymiser } from "../protocol/pseudonym.js";
import type { SessionRegistry } from "../sessions/session-registry.js";
import type { DeadLetter } from "../store/dead-letter-table.js";
import type { Counters } from "../telemetry/counters.js";
import type { Logger } from "../telemetry/log.js";
import type { Link } from "../xmpp/component-link.js";
import { DASHBOARD_CSP, DASHBOARD_HTML } from "./dashboard.js";
import { EventStream } from "./events.js";
import { createMetrics } from "./metrics.js";
import { type QueueOwners, queuesOf } from "./queues.js";
import { Readiness, type StandbyStatus } from "./readiness.js";
import { SentFeed } from "./sent-feed.js";
import { listenAdmin, type Routes, reply } from "./server.js";
import { snapshotter } from "./snapshot.js";
import { standbyRoutes } from "./standby-routes.js";

/** The parts of a running daemon the admin listener reads; a `Daemon` is one. */
export interface AdminView {
  readonly link: Pick<Link, "online" | "on" | "off" | "stages">;
  readonly service: {
    readonly counters: Counters;
    readonly privileges: () => Privileges | undefined;
    readonly intake: { readonly registry: Pick<SessionRegistry, "counts" | "sessionsInState"> };
    readonly outbox: QueueOwners & {
      /** Durable mode: why the state file cannot be written now, if it cannot. */
      readonly storeFault?: () => string | undefined;
    };
  };
  readonly supervisor: { tree(): SupervisionTree };
  /** The RabbitMQ presence source, when `[source.rabbitmq]` turns it on. */
  readonly rabbitmq?: { readonly connected: boolean } | undefined;
  /** Poison notifications the notifier set aside. */
  readonly deadLetters?: { list(): readonly DeadLetter[] };
}

export interface Admin {
  readonly url: string;
  /** The notifier's `onSent`: hand it to the daemon before it starts. */
  readonly feed: SentFeed;
  /** Starts answering about `view` (until then: 503). */
  attach(view: AdminView): void;
  /** Until `attach`: a standby waiting for the state file (src/app/standby.ts) says so. */
  standby(status: () => StandbyStatus): void;
  /** After the drain: ends event streams, stops listening. */
  close(): Promise<void>;
}

/**
 * The admin listener: /metrics, /healthz, /readyz, /tree,
 * /status, /events and the dashboard at /. Binds at once (`admin.listen`);
 * `undefined` when it is "off". Throws `AdminListenError` if it cannot bind.
 */
export async function startAdmin(options: {
  readonly settings: DaemonConfig["admin"];
  readonly logger: Logger;
  readonly clock?: Clock;
  /** How often /events sends a snapshot; default 1 s. */
  readonly eventIntervalMs?: number;
}): Promise<Admin | undefined> {
  const { settings, logger, clock = systemClock } = options;
  if (settings.listen === undefined) return undefined;
  const server = await listenAdmin({ listen: settings.listen, token: settings.token, logger });
  const startedAt = clock.now();
  const feed = new SentFeed(clock);
  const jid = settings.pseudonymise ? pseudonymiser() : asGiven;
  let detach = () => {};
  return {
    url: server.url,
    feed,
    attach(view) {
      const { counters, intake, outbox } = view.service;
      const readiness = new Readiness({
        link: view.link,
        privileges: view.service.privileges,
        counters,
        ...(view.rabbitmq ? { broker: () => view.rabbitmq?.connected === true } : {}),
        ...(outbox.storeFault ? { store: outbox.storeFault } : {}),
      });
      const queues = queuesOf(outbox);
      const sessions = () => intake.registry.counts();
      const tree = () => view.supervisor.tree();
      const metrics = createMetrics({
        counters,
        sessions,
        queues,
        tree,
        readiness: () => readiness.state(),
        feed,
        stages: view.link.stages,
      });
      const snapshot = snapshotter({
        clock,
        startedAt,
        counters,
        sessions,
        sessionJids: () => intake.registry.sessionsInState(),
        queues,
        tree,
        readiness: () => readiness.state(),
        feed,
        jid,
        ...(view.deadLetters ? { deadLetters: () => view.deadLetters?.list() ?? [] } : {}),
      });
      const events = new EventStream({
        clock,
        intervalMs: options.eventIntervalMs ?? 1_000,
        snapshot,
      });
      server.serve(routes({ readiness, metrics, tree, snapshot, events }), counters);
      detach = () => {
        events.close();
        metrics.close();
        readiness.close();
      };
    },
    standby(status) {
      server.serve(standbyRoutes(clock, startedAt, status));
    },
    async close() {
      detach();
      await server.close();
    },
  };
}

function routes(app: {
  readiness: Readiness;
  metrics: ReturnType<typeof createMetrics>;
  tree: () => SupervisionTree;
  snapshot: () => unknown;
  events: EventStream;
}): Routes {
  const dashboard = (_req: unknown, res: ServerResponse) => {
    res.writeHead(200, {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      "content-security-policy": DASHBOARD_CSP,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
    });
    res.end(DASHBOARD_HTML);
  };
  return {
    "/healthz": (_req, res) => reply(res, 200, { status: "alive" }),
    "/readyz": (_req, res) => {
      const state = app.readiness.state();
      reply(res, state.ready ? 200 : 503, state);
    },
    "/metrics": async (_req, res) => {
      const text = await app.metrics.render();
      res.writeHead(200, { "content-type": app.metrics.contentType, "cache-control": "no-store" });
      res.end(text);
    },
    "/tree": (_req, res) => reply(res, 200, app.tree()),
    "/status": (_req, res) => reply(res, 200, app.snapshot()),
    "/events": (_req, res) => {
      if (!app.events.attach(res)) reply(res, 503, { error: "too many open event streams" });
    },
    "/": dashboard,
    "/dashboard": dashboard,
  };
}
