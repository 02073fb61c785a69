import type { Clock } from "../otp/clock.js";
import type { SupervisionTree } from "../otp/supervised-child.js";
import type { JidView } from "../protocol/pseudonym.js";
import type { SessionCounts } from "../sessions/session-registry.js";
import type { DeadLetter } from "../store/dead-letter-table.js";
import type { Counters } from "../telemetry/counters.js";
import { classify } from "./counter-families.js";
import type { Queue } from "./queues.js";
import type { ReadinessState } from "./readiness.js";
import type { SentFeed, SentRecord } from "./sent-feed.js";

/** Everything the dashboard shows, as one JSON document (`/status`, each `/events` message). */
export interface Snapshot {
  readonly at: string;
  readonly uptimeS: number;
  readonly status: ReadinessState;
  readonly sessions: {
    readonly total: number;
    readonly users: number;
    readonly unconfirmed: number;
    readonly byShow: Readonly<Record<string, number>>;
    readonly byDomain: Readonly<Record<string, number>>;
  };
  readonly queues: Readonly<Record<string, { size: number; capacity: number }>>;
  /** `notifications_*` counters by outcome: sent, failed, expired, bounced... */
  readonly notifications: Readonly<Record<string, number>>;
  readonly counters: Readonly<Record<string, number>>;
  readonly tree: SupervisionTree;
  /** The latest sends, newest first, JIDs as `admin.pseudonymise` says. */
  readonly latest: readonly SentRecord[];
  /** Notifications set aside as poison (their stanza never built), oldest first. */
  readonly deadLetters: readonly {
    trace: string;
    user: string;
    to: string;
    presence: string;
    reason: string;
    at: string;
  }[];
}

export interface SnapshotSource {
  readonly clock: Pick<Clock, "now">;
  readonly startedAt: number;
  readonly counters: Counters;
  readonly sessions: () => SessionCounts;
  /** Full JIDs of the tracked sessions, for the per-domain totals. */
  readonly sessionJids: () => Iterable<string>;
  readonly queues: Readonly<Record<string, Queue>>;
  readonly tree: () => SupervisionTree;
  readonly readiness: () => ReadinessState;
  readonly feed: SentFeed;
  readonly jid: JidView;
  readonly deadLetters?: () => readonly DeadLetter[];
}

// Counting sessions per domain walks every session. Up to this many, every
// snapshot does it; above, at most once per PER_DOMAIN_EVERY_MS, so a
// dashboard left open costs a daemon with a million sessions little.
const PER_DOMAIN_ALWAYS = 50_000;
const PER_DOMAIN_EVERY_MS = 10_000;

export function snapshotter(source: SnapshotSource): () => Snapshot {
  let byDomain: Record<string, number> = {};
  let countedAt = Number.NEGATIVE_INFINITY;
  return () => {
    const now = source.clock.now();
    const sessions = source.sessions();
    if (sessions.available <= PER_DOMAIN_ALWAYS || now - countedAt >= PER_DOMAIN_EVERY_MS) {
      byDomain = perDomain(source.sessionJids());
      countedAt = now;
    }
    const counters = source.counters.toJSON();
    const notifications: Record<string, number> = {};
    for (const [name, value] of Object.entries(counters)) {
      const c = classify(name);
      if (c.kind === "family" && c.family.prefix === "notifications_") {
        notifications[c.outcome] = value;
      }
    }
    const queues: Record<string, { size: number; capacity: number }> = {};
    for (const [name, q] of Object.entries(source.queues)) {
      queues[name] = { size: q.size(), capacity: q.capacity };
    }
    return {
      at: new Date(now).toISOString(),
      uptimeS: Math.round((now - source.startedAt) / 1000),
      status: source.readiness(),
      sessions: {
        total: sessions.available,
        users: sessions.users,
        unconfirmed: sessions.unconfirmed,
        byShow: sessions.show,
        byDomain,
      },
      queues,
      notifications,
      counters,
      tree: source.tree(),
      latest: source.feed
        .latest()
        .map((r) => ({ ...r, user: source.jid(r.user), to: source.jid(r.to) })),
      deadLetters: (source.deadLetters?.() ?? []).map(({ notification: n, reason, at }) => ({
        trace: n.trace,
        user: source.jid(n.user),
        to: source.jid(n.to),
        presence: n.presence,
        reason,
        at: new Date(at).toISOString(),
      })),
    };
  };
}

function perDomain(jids: Iterable<string>): Record<string, number> {
  const counts = new Map<string, number>();
  for (const jid of jids) {
    const at = jid.indexOf("@");
    const slash = jid.indexOf("/", at + 1);
    const domain = jid.slice(at + 1, slash < 0 ? undefined : slash);
    counts.set(domain, (counts.get(domain) ?? 0) + 1);
  }
  return Object.fromEntries([...counts].sort(([a], [b]) => a.localeCompare(b)));
}
