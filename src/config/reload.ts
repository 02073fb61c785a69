import { displayValues, valueAt } from "./describe.js";
import { Secret, sameSecret } from "./redacted.js";
import { type ConfigKey, type DaemonConfig, SETTINGS } from "./schema.js";

/**
 * What a configuration reload (SIGHUP) may change in a running daemon, as a
 * pure function: the running configuration and the newly loaded one in, the
 * configuration to run with and the list of changes out.
 *
 * Only the keys annotated `live: true` in schema.ts are applied; every
 * other changed key is reported as needing a restart and keeps its running
 * value. The daemon reads live keys on every use (filters, server user,
 * limits, log level) or retunes their owner in place (rate limiters, the
 * flap damper, the liveness checks); schema.ts says for the others why not.
 */

export const LIVE_KEYS: ReadonlySet<ConfigKey> = new Set(
  SETTINGS.filter((s) => s.annotations.live === true).map((s) => s.key),
);

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
  let applied = running;
  for (const { key, path } of SETTINGS) {
    const was = valueAt(running, path);
    const is = valueAt(next, path);
    if (!changed(was, is, before[key], after[key])) continue;
    const change = { key, from: before[key], to: after[key] };
    if (isLive(key, running)) {
      live.push(change);
      applied = withValueAt(applied, path, is);
    } else {
      restartOnly.push(change);
    }
  }
  return { applied, live, restartOnly };
}

/**
 * A Secret displays as [redacted] (a URL, without its password) whatever it
 * holds, so it is compared by value, in constant time; anything else by how
 * it is written.
 */
function changed(was: unknown, is: unknown, shownBefore: string, shownAfter: string): boolean {
  if (was instanceof Secret || is instanceof Secret) {
    return !sameSecret(was as Secret | undefined, is as Secret | undefined);
  }
  return shownBefore !== shownAfter;
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

/** `config` with `value` at `path`; the sections on the way copied, the others shared. */
function withValueAt(config: DaemonConfig, path: readonly string[], value: unknown): DaemonConfig {
  const set = (node: unknown, [first = "", ...rest]: readonly string[]): unknown => ({
    ...(node as Record<string, unknown>),
    [first]: rest.length === 0 ? value : set((node as Record<string, unknown>)[first], rest),
  });
  return set(config, path) as DaemonConfig;
}

/** `{ "notify.include": '["*"] -> ["flux.*"]' }`, for one log line per reload. */
export function describeChanges(changes: readonly KeyChange[]): Record<string, string> {
  return Object.fromEntries(changes.map((c) => [c.key, `${c.from} -> ${c.to}`]));
}
