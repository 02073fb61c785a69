import type { TransitionCause } from "../machines/session.js";

/**
 * Opt-in payload fields (`[notify] fields`, `[notify] level`), the ones
 * peers give their consumers: when a change happened (AWS IoT lifecycle
 * events' `timestamp`, Ably's `timestamp`), why (AWS IoT's
 * `disconnectReason`), and a per-user view beside the per-session one
 * (Phoenix Presence keys by user, with the list of its metas). They only
 * add keys to `args`, after the original module's two and `seq`, so the
 * default bytes never change and a consumer ignoring unknown keys keeps
 * working.
 */

/** What `[notify] fields` may name. */
export const PAYLOAD_FIELDS = ["ts", "reason"] as const;
export type PayloadField = (typeof PAYLOAD_FIELDS)[number];

/**
 * `args.reason`, a small fixed vocabulary (README, Protocol extensions).
 * Consumers must accept a word they do not know: the list may grow.
 *
 * available:
 * - `login`: a live available presence (the session's first);
 * - `replay`: the server's replay of current presences after the daemon
 *   reconnected (Prosody), for a session that came online meanwhile;
 * - `listed`: the server's session list after a reconnect (ejabberd's
 *   API, MongooseIM's GraphQL) named a session the daemon did not know.
 * unavailable:
 * - `unavailable`: the server relayed an unavailable presence: the client's
 *   goodbye, or on Prosody also a socket that closed (Prosody relays the
 *   two alike);
 * - `server`: the server said it ended the session (Prosody's
 *   "Disconnected: <condition>" after a stream error; MongooseIM's offline
 *   event, which does not tell a goodbye from a lost socket);
 * - `liveness`: the session stopped answering XEP-0199 pings (what tells
 *   the daemon of a lost socket on ejabberd), periodic or after a reconnect;
 * - `reconciliation`: after a reconnect, the server's replay or session
 *   list no longer had the session.
 * either:
 * - `store-recovered`: durable mode, the state file refused writes for
 *   longer than the daemon could keep them; once writable, the view was
 *   compared with the machines and this difference told.
 */
export const REASONS = [
  "login",
  "replay",
  "listed",
  "unavailable",
  "server",
  "liveness",
  "reconciliation",
  "store-recovered",
] as const;
export type Reason = (typeof REASONS)[number];

/** What a transition's cause means to a consumer. */
export function reasonOf(cause: TransitionCause | "store_recovered", listed = false): Reason {
  switch (cause) {
    case "presence":
    case "replay":
      // A listed session reaches its machine as a stamped presence too.
      if (listed) return "listed";
      return cause === "presence" ? "login" : "replay";
    case "client":
      return "unavailable";
    case "server":
      return "server";
    case "liveness":
      return "liveness";
    case "reconnect":
      return "reconciliation";
    case "store_recovered":
      return "store-recovered";
  }
}

/** The opt-in keys a notification may carry beyond the default ones and `seq`. */
export interface PayloadExtras {
  /** `args.ts`: ms since the epoch when the session's machine took the transition. */
  readonly ts?: number;
  readonly reason?: Reason;
  /** `notify.level = "user"`: the user's available resources after the change. */
  readonly resources?: number;
}

/**
 * `target` with the extras `n` carries added, in the order they are written
 * (after `seq`). Nothing is allocated when there are none: the default
 * payload is the notifier's hot path.
 */
export function withExtras<T extends Record<string, unknown>>(target: T, n: PayloadExtras): T {
  const t = target as Record<string, unknown>;
  if (n.ts !== undefined) t.ts = n.ts;
  if (n.reason !== undefined) t.reason = n.reason;
  if (n.resources !== undefined) t.resources = n.resources;
  return target;
}

/** The fields `[notify] fields` asks for, of a transition taken at `at` for `reason`. */
export function fieldsFor(
  fields: readonly PayloadField[],
  at: number,
  reason: Reason,
): PayloadExtras {
  if (fields.length === 0) return {};
  return {
    ...(fields.includes("ts") ? { ts: Math.floor(at) } : {}),
    ...(fields.includes("reason") ? { reason } : {}),
  };
}

/** The extras as stored with a notification (durable mode); null when there are none. */
export function extrasText(n: PayloadExtras): string | null {
  const extras = withExtras({}, n);
  return Object.keys(extras).length === 0 ? null : JSON.stringify(extras);
}

/**
 * The stored text read back, checked like the wire: a value this version
 * would not have written (another version, or a hand, wrote the file) is
 * left out rather than sent.
 */
export function parseExtras(text: string | null): PayloadExtras {
  if (text === null) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return {};
  }
  if (typeof value !== "object" || value === null) return {};
  const { ts, reason, resources } = value as Record<string, unknown>;
  const count = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
  return {
    ...(count(ts) ? { ts: ts as number } : {}),
    ...(REASONS.includes(reason as Reason) ? { reason: reason as Reason } : {}),
    ...(count(resources) ? { resources: resources as number } : {}),
  };
}
