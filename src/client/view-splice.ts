import { LruMap } from "../collections/lru-map.js";
import type { WireChange } from "./inbound.js";
import type { PresenceChange } from "./types.js";

/**
 * The client's view and how notifications are spliced onto a snapshot
 * (the snapshot extension, README "Writing a consumer"): pure, no I/O, no time.
 *
 * - While a snapshot is paged, notifications are buffered. When it is
 *   complete, the view becomes the snapshot, taken at position P, and the
 *   buffered notifications are applied with those that follow, each only if
 *   its `pos` is after P: the snapshot already holds every notification
 *   that entered the daemon's mailbox up to P. Nothing falls in between,
 *   because buffering starts before the first page is asked for.
 * - Each trace is applied once: a resend (held mail, a receipt timeout)
 *   repeats its trace, and the last `window` traces are remembered.
 * - Per session, a notification older than one already applied is dropped:
 *   by `pos` when the daemon sends it, else by `seq`. A daemon in memory mode
 *   numbers from 1 again after a restart, which looks exactly like a late
 *   resend of a session's first notification: unless `durableSeq` says the
 *   numbers go on across restarts, a `seq` of 1 is taken as a new count.
 *   The last position of the `window` most recently changed sessions is
 *   remembered; a resend older than that is applied as if new.
 */

type Order = { readonly kind: "pos" | "seq"; readonly n: number };

export type Received =
  | { readonly _tag: "applied"; readonly change: PresenceChange }
  | { readonly _tag: "dropped"; readonly why: "duplicate" | "stale" | "redundant" }
  | { readonly _tag: "buffered" }
  /** The buffer is full: the snapshot being paged must start over (its buffer is emptied). */
  | { readonly _tag: "overflow" };

export interface SpliceCounters {
  duplicates: number;
  stale: number;
  redundant: number;
}

export class ViewSplice {
  /** The live view. One Set for the client's life, so a caller's reference stays current. */
  readonly view = new Set<string>();
  readonly counters: SpliceCounters = { duplicates: 0, stale: 0, redundant: 0 };
  private readonly traces: LruMap<string, true>;
  private readonly order: LruMap<string, Order>;
  private floor: number | undefined;
  private buffer: WireChange[] | undefined;
  /** A resync signal came while paging: its position, or +Infinity when it gave none. */
  private resyncWanted: number | undefined;

  constructor(
    window: number,
    private readonly bufferLimit: number,
    private readonly durableSeq = false,
  ) {
    this.traces = new LruMap(window);
    this.order = new LruMap(window);
  }

  get paging(): boolean {
    return this.buffer !== undefined;
  }

  get buffered(): number {
    return this.buffer?.length ?? 0;
  }

  /** The position of the last snapshot, if one was taken. */
  get position(): number | undefined {
    return this.floor;
  }

  /** From now until `complete` or `abandon`, notifications wait. A buffer already held is kept. */
  beginPaging(): void {
    this.buffer ??= [];
  }

  receive(change: WireChange): Received {
    if (this.traces.has(change.trace)) {
      this.counters.duplicates++;
      return { _tag: "dropped", why: "duplicate" };
    }
    this.traces.set(change.trace, true);
    if (this.buffer === undefined) return this.apply(change);
    if (this.buffer.length >= this.bufferLimit) {
      // Everything buffered was received before the next first page is asked
      // for, so the next snapshot holds it: dropping it loses nothing.
      this.buffer = [];
      return { _tag: "overflow" };
    }
    this.buffer.push(change);
    return { _tag: "buffered" };
  }

  /**
   * The daemon's resync signal at `position`. "snapshot": take one now;
   * "later": one is being paged, and `complete` says whether it was taken
   * late enough to cover the signal.
   */
  resync(position: number | undefined): "snapshot" | "later" {
    if (this.buffer === undefined) return "snapshot";
    this.resyncWanted = Math.max(this.resyncWanted ?? 0, position ?? Number.POSITIVE_INFINITY);
    return "later";
  }

  /**
   * The snapshot is complete: the view becomes it, then the buffered
   * notifications after `position` apply. Returns the view's differences,
   * the applied notifications, and whether a resync signal that came during
   * the paging asks for a later snapshot.
   */
  complete(
    position: number,
    sessions: readonly string[],
  ): { differences: PresenceChange[]; applied: PresenceChange[]; again: boolean } {
    const next = new Set(sessions);
    const differences: PresenceChange[] = [];
    for (const user of this.view) {
      if (!next.has(user)) differences.push({ user, presence: "unavailable", cause: "snapshot" });
    }
    for (const user of next) {
      if (!this.view.has(user))
        differences.push({ user, presence: "available", cause: "snapshot" });
    }
    this.view.clear();
    for (const user of next) this.view.add(user);
    this.floor = position;
    this.order.clear();
    const again = this.resyncWanted !== undefined && position < this.resyncWanted;
    this.resyncWanted = undefined;
    return { differences, applied: this.drain(), again };
  }

  /** No snapshot to be had: what was buffered applies as it came, and so does what follows. */
  abandon(): PresenceChange[] {
    this.floor = undefined;
    this.resyncWanted = undefined;
    return this.drain();
  }

  private drain(): PresenceChange[] {
    const buffered = this.buffer ?? [];
    this.buffer = undefined;
    const applied: PresenceChange[] = [];
    for (const change of buffered) {
      const outcome = this.apply(change);
      if (outcome._tag === "applied") applied.push(outcome.change);
    }
    return applied;
  }

  private apply(change: WireChange): Received {
    if (!this.inOrder(change)) {
      this.counters.stale++;
      return { _tag: "dropped", why: "stale" };
    }
    const { user, presence } = change;
    const changes = presence === "available" ? !this.view.has(user) : this.view.has(user);
    if (!changes) {
      this.counters.redundant++;
      return { _tag: "dropped", why: "redundant" };
    }
    if (presence === "available") this.view.add(user);
    else this.view.delete(user);
    const { trace, pos, seq, ts, reason, resources } = change;
    const fields = { trace, pos, seq, ts, reason, resources };
    const defined = Object.entries(fields).filter(([, v]) => v !== undefined);
    return {
      _tag: "applied",
      change: { user, presence, cause: "notification", ...Object.fromEntries(defined) },
    };
  }

  /** Whether `change` comes after the snapshot and after what was applied for its session; records it. */
  private inOrder(change: WireChange): boolean {
    const { pos, seq, user } = change;
    if (pos !== undefined && this.floor !== undefined && pos <= this.floor) return false;
    const mark: Order | undefined =
      pos !== undefined
        ? { kind: "pos", n: pos }
        : seq !== undefined
          ? { kind: "seq", n: seq }
          : undefined;
    if (mark === undefined) return true;
    const previous = this.order.get(user);
    const restart = mark.kind === "seq" && mark.n === 1 && !this.durableSeq;
    if (previous?.kind === mark.kind && mark.n <= previous.n && !restart) return false;
    this.order.set(user, mark);
    return true;
  }
}
