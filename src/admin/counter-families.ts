/**
 * How the daemon's named `Counters` become Prometheus counters. A name with a
 * known prefix is one outcome of a labelled family (`notifications_sent` ->
 * `presence_notify_notifications_total{outcome="sent"}`); any other name is
 * exported under its own (`config_reloads` ->
 * `presence_notify_config_reloads_total`), so a counter someone adds with
 * `counters.inc("x")` is scraped without touching this file.
 */

export const PREFIX = "presence_notify_";

export interface CounterFamily {
  readonly metric: string;
  readonly help: string;
  /** Counter names `<prefix><outcome>` belong to the family. */
  readonly prefix: string;
  /** Exported as 0 before they first happen, so `rate()` and alerts see them at once. */
  readonly outcomes: readonly string[];
  /** Names with the prefix that are not outcomes of this family. */
  readonly except?: readonly string[];
}

export const FAMILIES: readonly CounterFamily[] = [
  {
    metric: `${PREFIX}notifications_total`,
    help: "Notifications by what happened to them: queued, sent (the link took it), failed (send error, kept for retry), expired (older than mailbox.max_age, dropped), bounced (returned by the server), held_behind (waiting behind bounced mail), refused_full (mailbox full), dropped_held_full, damped, rate_limited, dead_lettered (set aside: its stanza failed to build every time)",
    prefix: "notifications_",
    outcomes: ["queued", "sent", "failed", "expired", "bounced", "refused_full", "dead_lettered"],
  },
  {
    metric: `${PREFIX}presences_total`,
    help: "Presences from the server by outcome: accepted (a served session), filtered (include/exclude), rejected (invalid or domain not served), ignored",
    prefix: "presence_",
    outcomes: ["accepted", "filtered", "rejected"],
  },
  {
    metric: `${PREFIX}liveness_checks_total`,
    help: "Liveness checks of quiet sessions (XEP-0199) by outcome: alive, gone, timeout, error",
    prefix: "liveness_",
    outcomes: ["alive", "gone", "timeout"],
    except: ["liveness_pings"],
  },
  {
    metric: `${PREFIX}resync_pings_total`,
    help: "Pings of unconfirmed sessions after a reconnect, by outcome",
    prefix: "resync_ping_",
    outcomes: ["alive", "gone", "timeout"],
  },
];

/**
 * Counters outside the families that are exported from the start (0 before
 * they first count), with a help text. Any other name still appears, with a
 * generic help, once it has counted.
 */
export const KNOWN: Readonly<Record<string, string>> = {
  link_connects: "Times the XEP-0114 component link came up",
  reconnects: "Times the component link came up again after the first connection",
  liveness_pings: "XEP-0199 pings sent by the liveness check",
  stanzas_ignored: "Stanzas from the server the daemon had no use for",
  stanza_handler_errors: "Stanzas whose handling threw (logged; the daemon went on)",
  resync_lost: "Sessions reported unavailable by a resync after a reconnect",
  resync_session_list_failed: "Times the server's session list could not be had at a resync",
  config_reloads: "Configuration reloads (SIGHUP) applied",
  config_reload_failures: "Configuration reloads (SIGHUP) refused",
  admin_request_errors:
    "Admin requests whose handling threw (answered 500, logged; the daemon went on)",
  admin_requests_wrong_host:
    "Admin requests refused because their Host names another machine (DNS rebinding)",
  timer_failures:
    "Timer callbacks of the daemon's mechanisms (liveness, resync, held mail, ...) that threw; each was run again after a backoff",
  store_commit_failures:
    "Commits the state file refused (disk full, I/O error); the transition was kept and committed again",
  store_commits_kept: "Transitions kept in memory because the state file refused their commit",
  store_backlog_overflows:
    "Times the transitions kept for an unwritable state file overflowed (a reconcile followed)",
  store_reconciled: "Notifications sent by a reconcile after the state file was writable again",
  store_write_failures:
    "Writes of held mail, receipts or dead letters the state file refused (kept and written again)",
  rabbitmq_held_store:
    "Times broker messages were held unacknowledged because the state file refused commits",
  bounces_refused: "Bounces refused because they came from neither the server user nor its server",
  bounces_unknown: "Bounces (type=error) for no notification the daemon sent (ignored)",
};

export type Classified =
  | { readonly kind: "family"; readonly family: CounterFamily; readonly outcome: string }
  | { readonly kind: "own"; readonly metric: string };

export function classify(name: string): Classified {
  for (const family of FAMILIES) {
    if (name.startsWith(family.prefix) && !family.except?.includes(name)) {
      return { kind: "family", family, outcome: name.slice(family.prefix.length) };
    }
  }
  return { kind: "own", metric: `${PREFIX}${metricSafe(name)}_total` };
}

/** Prometheus metric names are [a-zA-Z_:][a-zA-Z0-9_:]*. */
function metricSafe(name: string): string {
  const safe = name.replace(/[^a-zA-Z0-9_]/g, "_");
  return /^[0-9]/.test(safe) ? `_${safe}` : safe;
}
