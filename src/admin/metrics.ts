import {
  Counter,
  collectDefaultMetrics,
  Gauge,
  Histogram,
  type Metric,
  type MetricValueWithName,
  Registry,
} from "prom-client";
import type { SupervisionTree } from "../otp/supervised-child.js";
import type { SessionCounts } from "../sessions/session-registry.js";
import type { Counters } from "../telemetry/counters.js";
import { type PresenceStages, STAGE_BUCKETS, STAGES } from "../telemetry/presence-stages.js";
import { classify, FAMILIES, KNOWN, PREFIX } from "./counter-families.js";
import type { Queue } from "./queues.js";
import type { ReadinessState } from "./readiness.js";
import type { SentFeed } from "./sent-feed.js";

/** What the metrics read, at scrape time. */
export interface MetricsSource {
  readonly counters: Counters;
  readonly sessions: () => SessionCounts;
  readonly queues: Readonly<Record<string, Queue>>;
  readonly tree: () => SupervisionTree;
  readonly readiness: () => ReadinessState;
  readonly feed: SentFeed;
  /** Where a presence's time goes, stage by stage (the link's), if the link counts it. */
  readonly stages?: PresenceStages | undefined;
}

// From a send straight off the queue (ms) to mail that waited out an outage or
// a server user's absence (up to mailbox.max_age, 1 h by default).
const LATENCY_BUCKETS = [0.001, 0.005, 0.025, 0.1, 0.25, 1, 2.5, 10, 30, 60, 300, 900, 3600];

/** One scrape's reading of what is O(sessions) or walks the tree, shared by the metrics that need it. */
interface Reading {
  sessions: SessionCounts;
  tree: SupervisionTree;
  ready: ReadinessState;
}

/** A gauge read at scrape time: its values, each with its labels. */
interface GaugeSpec {
  name: string;
  help: string;
  labelNames?: string[];
  values: (r: Reading, source: MetricsSource) => Iterable<[Record<string, string>, number]>;
}

const one = (value: number): [Record<string, string>, number][] => [[{}, value]];

const GAUGES: readonly GaugeSpec[] = [
  {
    name: "sessions",
    help: "Available sessions tracked, by show (online, chat, away, xa, dnd)",
    labelNames: ["show"],
    values: (r) => Object.entries(r.sessions.show).map(([show, n]) => [{ show }, n]),
  },
  {
    name: "sessions_unconfirmed",
    help: "Available sessions not yet confirmed since the last reconnect",
    values: (r) => one(r.sessions.unconfirmed),
  },
  {
    name: "users",
    help: "Users (bare JIDs) with at least one available session",
    values: (r) => one(r.sessions.users),
  },
  {
    name: "queue_depth",
    help: "Notifications waiting, by queue",
    labelNames: ["queue"],
    values: (_, s) => Object.entries(s.queues).map(([queue, q]) => [{ queue }, q.size()]),
  },
  {
    name: "queue_capacity",
    help: "The most notifications a queue holds; alert on depth / capacity",
    labelNames: ["queue"],
    values: (_, s) => Object.entries(s.queues).map(([queue, q]) => [{ queue }, q.capacity]),
  },
  {
    name: "connected",
    help: "1 while the XEP-0114 component link is up",
    values: (r) => one(r.ready.connected ? 1 : 0),
  },
  {
    name: "ready",
    help: "1 while connected with presence=managed_entity granted (XEP-0356), or with [source.rabbitmq] to the broker: what /readyz reports",
    values: (r) => one(r.ready.ready ? 1 : 0),
  },
  {
    name: "child_running",
    help: "1 while a child of the supervision tree runs",
    labelNames: ["supervisor", "child"],
    values: (r) =>
      [...walk(r.tree)].map(({ supervisor, node }) => [
        { supervisor, child: node.id },
        node.status === "running" ? 1 : 0,
      ]),
  },
];

/**
 * The daemon's Prometheus metrics, in a registry of their own (not
 * prom-client's global one, so tests and an embedding process do not share
 * it). Nearly everything is read when scraped, from the daemon's own state
 * (`Counters`, the session registry, the queues, the supervision tree): no
 * second set of books to keep in step. The one exception is the send-latency
 * histogram, which needs every observation: it listens to the `SentFeed`.
 */
export function createMetrics(source: MetricsSource) {
  let reading: Reading | undefined;
  const read = () => {
    reading ??= { sessions: source.sessions(), tree: source.tree(), ready: source.readiness() };
    return reading;
  };
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry, prefix: PREFIX });

  const latency = new Histogram({
    name: `${PREFIX}send_latency_seconds`,
    help: "From a notification's queueing to the XMPP link accepting it",
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const unsubscribe = source.feed.onSent((r) => latency.observe(r.latencyMs / 1000));
  for (const spec of GAUGES) {
    new Gauge({
      name: `${PREFIX}${spec.name}`,
      help: spec.help,
      labelNames: spec.labelNames ?? [],
      registers,
      collect() {
        // Labelled gauges are set anew: a child or queue gone is not kept at its last value.
        if (spec.labelNames) this.reset();
        for (const [labels, value] of spec.values(read(), source)) this.set(labels, value);
      },
    });
  }
  new Counter({
    name: `${PREFIX}child_restarts_total`,
    help: "Restarts of each child of the supervision tree",
    labelNames: ["supervisor", "child"],
    registers,
    collect() {
      this.reset();
      for (const { supervisor, node } of walk(read().tree)) {
        this.inc({ supervisor, child: node.id }, node.restarts);
      }
    },
  });
  if (source.stages) registerStages(source.stages, registry);
  registerFamilies(source.counters, registers);
  const registerNewCounters = ownCounters(source.counters, registers);

  return {
    registry,
    contentType: registry.contentType,
    /** The exposition text of every metric, read now. */
    async render(): Promise<string> {
      registerNewCounters();
      reading = undefined;
      try {
        return await registry.metrics();
      } finally {
        reading = undefined;
      }
    },
    close(): void {
      unsubscribe();
      registry.clear();
    },
  };
}

/**
 * `presence_stage_seconds{stage}`: the stages' histograms, read at scrape
 * time from the plain counts the link and notifier keep (a prom-client
 * `Histogram` on the hot path would cost a label lookup per observation).
 */
function registerStages(stages: PresenceStages, registry: Registry): void {
  const name = `${PREFIX}presence_stage_seconds`;
  const help =
    "Where a presence's time goes inside the daemon, by stage: read (waiting behind earlier stanzas of its socket read), parse, route (its handlers, up to the mailbox), queue (in the mailbox), write (until the link accepted it)";
  const values = (): MetricValueWithName<string>[] => {
    const out: MetricValueWithName<string>[] = [];
    const snapshot = stages.snapshot();
    for (const stage of STAGES) {
      const h = snapshot[stage];
      h.buckets.forEach((value, i) => {
        const le = i < STAGE_BUCKETS.length ? String(STAGE_BUCKETS[i]) : "+Inf";
        out.push({ metricName: `${name}_bucket`, labels: { le, stage }, value });
      });
      out.push({ metricName: `${name}_sum`, labels: { stage }, value: h.sum });
      out.push({ metricName: `${name}_count`, labels: { stage }, value: h.count });
    }
    return out;
  };
  const metric = {
    name,
    help,
    type: "histogram",
    aggregator: "sum",
    get: async () => ({ name, help, type: "histogram", aggregator: "sum", values: values() }),
    reset: () => undefined,
  };
  registry.registerMetric(metric as unknown as Metric);
}

/** One counter per family (counter-families.ts), labelled by outcome, every outcome at 0 first. */
function registerFamilies(counters: Counters, registers: Registry[]): void {
  for (const family of FAMILIES) {
    new Counter({
      name: family.metric,
      help: family.help,
      labelNames: ["outcome"],
      registers,
      collect() {
        this.reset();
        for (const outcome of family.outcomes) this.inc({ outcome }, 0);
        for (const [name, value] of Object.entries(counters.toJSON())) {
          const c = classify(name);
          if (c.kind === "family" && c.family === family) this.inc({ outcome: c.outcome }, value);
        }
      },
    });
  }
}

/**
 * Counters outside the families get a metric of their own: the known ones
 * from the first scrape, any other the first time a scrape sees it count.
 * Returns what registers them; call it before each scrape.
 */
function ownCounters(counters: Counters, registers: Registry[]): () => void {
  const own = new Set<string>();
  return () => {
    for (const name of [...Object.keys(KNOWN), ...Object.keys(counters.toJSON())]) {
      const c = classify(name);
      if (c.kind !== "own" || own.has(c.metric)) continue;
      own.add(c.metric);
      new Counter({
        name: c.metric,
        help: KNOWN[name] ?? `Times the daemon counted "${name}"`,
        registers,
        collect() {
          this.reset();
          this.inc(counters.get(name));
        },
      });
    }
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Every node below the root, with the id of the supervisor it runs under. */
function* walk(tree: SupervisionTree): Generator<{ supervisor: string; node: SupervisionTree }> {
  for (const node of tree.children ?? []) {
    yield { supervisor: tree.id, node };
    yield* walk(node);
  }
}
