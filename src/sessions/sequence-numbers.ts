import { LruMap } from "../collections/lru-map.js";

/**
 * Opt-in per-session sequence numbers (`notify.sequence = "session"`): each
 * notification about a full JID carries the next number for that JID, so a
 * consumer can tell a gap (a number skipped) from a restart (a number lower
 * than expected: the daemon restarted, or forgot a long-quiet session).
 *
 * The numbers of the last `limit` JIDs are remembered, least recently used
 * forgotten first, so memory stays bounded however many sessions churn.
 *
 * In durable mode `stored` is the state file's `session_seq` table, read for
 * a JID not in memory: a restart goes on from the last number a queued
 * notification carried (the outbox writes it in the same transaction).
 */
export class SequenceNumbers {
  private readonly last: LruMap<string, number>;

  constructor(
    readonly limit = 100_000,
    private readonly stored?: { get(fullJid: string): number | undefined },
  ) {
    this.last = new LruMap(limit);
  }

  next(fullJid: string): number {
    const seq = (this.last.get(fullJid) ?? this.stored?.get(fullJid) ?? 0) + 1;
    this.last.set(fullJid, seq);
    return seq;
  }
}
