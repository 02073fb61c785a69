import { displayValues } from "./describe.js";
import { type Secret, sameSecret } from "./redacted.js";
import { CONFIG_KEYS, type ConfigKey, type DaemonConfig } from "./schema.js";

/**
 * What a configuration reload (SIGHUP) may change in a running daemon, as a
 * pure function: the running configuration and the newly loaded one in, the
 * configuration to run with and the list of changes out.
 *
 * Only the keys in LIVE_KEYS are applied; every other changed key is
 * reported as needing a restart and keeps its running value. The list is an
 * allow-list on purpose: a key added later (an `[admin]` section, say) is
 * restart-only until someone makes it live and adds it here.
 */

/**
 * Every key whose value is a `Secret`: it displays as [redacted] (a URL,
 * without its password) whatever it holds, so it is compared by value, in
 * constant time. A key missing here would read as unchanged after a change.
 */
const SECRETS: { readonly [K in ConfigKey]?: (c: DaemonConfig) => Secret | undefined } = {
  "component.secret": (c) => c.component.secret,
  "admin.token": (c) => c.admin.token,
  "signing.key": (c) => c.signing.key,
  "pseudonyms.key": (c) => c.pseudonyms.key,
  "source.rabbitmq.url": (c) => c.source.rabbitmq.url,
  "source.rabbitmq.graphql_url": (c) => c.source.rabbitmq.graphqlUrl,
};

/**
 * Keys the daemon reads on every use (filters, server user, limits, log
 * level) or whose owner can be retuned in place (rate limiters, the flap
 * damper, the liveness checks). Left out, and why:
 * - component.*: the link's identity; changing it means a new connection.
 * - durability.*, mailbox.capacity: the queue and state file are opened once.
 * - notify.sequence: numbering restarting mid-run reads as a daemon restart
 *   to consumers (README, Protocol extensions).
 * - resync.*: the session list client and the ping timeout are built at start.
 * - source.*: the broker connection and its queue are set up at start (the
 *   URL is compared by value: it displays without its password).
 * - shutdown.drain_timeout: part of the supervisor's child spec, which is data
 *   validated once at start.
 * - admin.*, signing.*, pseudonyms.*: the admin listener, the signer and the
 *   pseudonym view are built with their keys at start; a changed token or
 *   key (compared by value) is named as needing a restart, never silently
 *   kept.
 */
export const LIVE_KEYS: ReadonlySet<ConfigKey> = new Set<ConfigKey>([
  "notify.server_user",
  "notify.include",
  "notify.exclude",
  "notify.domains",
  "notify.from",
  "notify.max_rate",
  "notify.user_rate",
  "notify.flap_window",
  "notify.batch",
  "reconnect.initial",
  "reconnect.max",
  "liveness.interval",
  "liveness.timeout",
  "liveness.max_rate",
  "mailbox.max_age",
  "log.level",
]);

/** One changed key, its values as written in the file (the secret as [redacted]). */
export interface KeyChange {
  readonly key: ConfigKey;
  readonly from: string;
  readonly to: string;
}

export interface ReloadPlan {
  /** The configuration to run with: the running one with the live keys' new values. */
  readonly applied: DaemonConfig;
  /** Changed keys applied now. */
  readonly live: readonly KeyChange[];
  /** Changed keys not applied: they take effect at the next start. */
  readonly restartOnly: readonly KeyChange[];
}

export function planReload(running: DaemonConfig, next: DaemonConfig): ReloadPlan {
  const before = displayValues(running);
  const after = displayValues(next);
  const live: KeyChange[] = [];
  const restartOnly: KeyChange[] = [];
  for (const key of Object.keys(CONFIG_KEYS) as ConfigKey[]) {
    const secret = SECRETS[key];
    const changed = secret
      ? !sameSecret(secret(running), secret(next))
      : before[key] !== after[key];
    if (!changed) continue;
    const change = { key, from: before[key], to: after[key] };
    (isLive(key, running) ? live : restartOnly).push(change);
  }
  return { applied: withLiveKeys(running, next), live, restartOnly };
}

/**
 * Receipts and payload pseudonyms (built at start) only work with
 * notifications sent from the component: while either is on, `notify.from`
 * waits for a restart too.
 */
function isLive(key: ConfigKey, running: DaemonConfig): boolean {
  if (key === "notify.from" && running.notify.receiptTimeoutMs > 0) return false;
  if (key === "notify.from" && running.pseudonyms.key !== undefined) return false;
  return LIVE_KEYS.has(key);
}

/** The running configuration with every live key's value taken from `next`. */
function withLiveKeys(running: DaemonConfig, next: DaemonConfig): DaemonConfig {
  return {
    ...running,
    notify: {
      ...next.notify,
      sequence: running.notify.sequence,
      receiptTimeoutMs: running.notify.receiptTimeoutMs,
      from: isLive("notify.from", running) ? next.notify.from : running.notify.from,
    },
    reconnect: next.reconnect,
    liveness: next.liveness,
    mailbox: { capacity: running.mailbox.capacity, maxAgeMs: next.mailbox.maxAgeMs },
    // The redaction is the logger's construction: a restart.
    log: { level: next.log.level, redactJids: running.log.redactJids },
  };
}

/** `{ "notify.include": '["*"] -> ["flux.*"]' }`, for one log line per reload. */
export function describeChanges(changes: readonly KeyChange[]): Record<string, string> {
  return Object.fromEntries(changes.map((c) => [c.key, `${c.from} -> ${c.to}`]));
}
