import type { Received, WorldServer } from "./world.js";

/** What the oracle reads of a notification. */
export type Note = Pick<Received, "trace" | "user" | "presence" | "seq">;

/**
 * The truth oracle of the chaos run. The truth is what the harness holds:
 * per full JID, whether its session is open and available (XMPP: the
 * harness's own clients, closed when it killed the socket or the server
 * closed it; broker route: the last event it published and the broker
 * confirmed). The view is the server user's, rebuilt from its notifications
 * the way a consumer does it (README, "Delivery guarantees"): each trace
 * once, in `seq` order (notify.sequence = "session").
 *
 * Durable mode: per session, the numbers are 1..n with no gap, the
 * notifications flip available/unavailable from "available", and the last
 * one is the truth (a session never announced is unavailable). With
 * `flips`, the count must be the number of transitions the harness made
 * (the broker route, where the daemon sees every event).
 * Memory mode: the same, except that gaps and wrong final states are
 * allowed up to the losses the daemon counted (`losses`).
 */
export type Mode = "durable" | "memory";

export interface Judgement {
  /** Sessions compared (every one the run opened), and how many of them are online. */
  sessions: number;
  online: number;
  /** One sentence per differing session. */
  diffs: string[];
  /** Sessions whose difference a counted loss covers (memory mode). */
  excused: string[];
}

export interface Truth {
  /** Every full JID the harness ever opened or published, and whether it is online now. */
  online(): ReadonlyMap<string, boolean>;
  /** Transitions the daemon must have seen, per session, when it can see them all. */
  flips?(): ReadonlyMap<string, number>;
}

function byUser(received: readonly Note[]): Map<string, Note[]> {
  const seen = new Set<string>();
  const grouped = new Map<string, Note[]>();
  for (const r of received) {
    if (seen.has(r.trace)) continue;
    seen.add(r.trace);
    const list = grouped.get(r.user) ?? [];
    list.push(r);
    grouped.set(r.user, list);
  }
  for (const list of grouped.values()) list.sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
  return grouped;
}

/** What is wrong with one session's notifications, or undefined; `gaps` counts missing numbers. */
function judgeSession(
  notes: readonly Note[],
  online: boolean,
  flips: number | undefined,
): { problem?: string; gaps: number } {
  const seqs = notes.map((r) => r.seq);
  let gaps = 0;
  for (let i = 0; i < seqs.length; i++) {
    const expected = (i === 0 ? 0 : (seqs[i - 1] ?? 0)) + 1;
    if (seqs[i] !== expected) gaps += Math.max(1, (seqs[i] ?? 0) - expected);
  }
  const presences = notes.map((r) => r.presence);
  const last = presences.at(-1) ?? "unavailable";
  const show = `seq ${JSON.stringify(seqs)} presences ${JSON.stringify(presences)}`;
  if (gaps > 0) return { problem: `gap or repeat in seq: ${show}`, gaps };
  const flipping = presences.every((p, i) => p === (i % 2 === 0 ? "available" : "unavailable"));
  if (!flipping) return { problem: `not flipping from available: ${show}`, gaps };
  if ((last === "available") !== online) {
    return { problem: `view ${last}, truth ${online ? "online" : "offline"}: ${show}`, gaps };
  }
  if (flips !== undefined && notes.length !== flips) {
    return { problem: `${notes.length} notifications for ${flips} transitions: ${show}`, gaps };
  }
  return { gaps };
}

export function judge(received: readonly Note[], truth: Truth, mode: Mode, losses = 0): Judgement {
  const grouped = byUser(received);
  const online = truth.online();
  const flips = truth.flips?.();
  const jids = new Set([...online.keys(), ...grouped.keys()]);
  const problems: string[] = [];
  let gaps = 0;
  for (const jid of [...jids].sort()) {
    const verdict = judgeSession(grouped.get(jid) ?? [], online.get(jid) ?? false, flips?.get(jid));
    gaps += verdict.gaps;
    if (verdict.problem !== undefined) problems.push(`${jid}: ${verdict.problem}`);
  }
  const counts = { sessions: jids.size, online: [...online.values()].filter(Boolean).length };
  if (mode === "memory" && problems.length > 0 && Math.max(gaps, problems.length) <= losses) {
    return { ...counts, diffs: [], excused: problems };
  }
  return { ...counts, diffs: problems, excused: [] };
}

/**
 * A quiet point: waits (bounded) until the view converges on the truth, as
 * the server confirms what the harness did (Prosody at once; ejabberd's dead
 * sockets only through the daemon's liveness checks), then gives the last
 * judgement: a non-empty `diffs` after the bound is a mismatch.
 */
export async function converge(
  world: WorldServer,
  truth: Truth,
  mode: Mode,
  losses: () => Promise<number>,
  boundMs: number,
): Promise<Judgement> {
  const deadline = Date.now() + boundMs;
  while (true) {
    const verdict = judge(world.received, truth, mode, mode === "memory" ? await losses() : 0);
    if (verdict.diffs.length === 0 || Date.now() > deadline) return verdict;
    await new Promise((r) => setTimeout(r, 250));
  }
}
