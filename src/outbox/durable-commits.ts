import { backoffDelay } from "../otp/backoff.js";
import type { Clock } from "../otp/clock.js";
import { sqliteCode } from "../store/errors.js";
import type { SessionTable } from "../store/session-table.js";
import type { Counters } from "../telemetry/counters.js";
import type { Logger } from "../telemetry/log.js";
import { excerpt } from "../telemetry/log-limiter.js";

/** How a failed commit is tried again: 250 ms, doubling, at most 5 s apart. */
const RETRY = { initial: 250, max: 5_000, factor: 2, jitter: 0 };

/** One notifying transition, to be committed with the session change it reports. */
export interface Commit {
  /** The session's full JID (the `sessions` table's key). */
  jid: string;
  presence: "available" | "unavailable";
  /** Offers the notification to the outbox, inside the transaction; false: the outbox is full. */
  offer: () => boolean;
  /** Called once the transaction committed, with what `offer` returned (counting, logging). */
  committed: (offered: boolean) => void;
}

/**
 * Durable mode's commit path: a notification and its session change go to
 * the state file in one transaction, and a commit that fails (disk full, an
 * I/O error) is never lost.
 *
 * The session machine has advanced when a commit is attempted (the
 * transition is what is committed). A failed commit is kept, in order,
 * in memory and tried again on a timer; while any is kept every later one
 * queues behind it, so each session's notifications reach the outbox in the
 * order its machine took them. The memory is bounded (`capacity`): past it
 * the episode stops keeping commits and, once the file is writable again,
 * reconciles instead, comparing the `sessions` table (what the server user
 * was told) with the machines (the truth) and committing one notification
 * for each session that differs. The view ends equal to the truth either
 * way; only what an overflow dropped (intermediate flaps, show changes) is
 * not told.
 *
 * An episode (first failure to first full recovery) is logged twice, at its
 * start and its end, never per stanza; `fault()` names it for `/readyz`.
 */
export class DurableCommits {
  readonly #kept: Commit[] = [];
  #overflowed = false;
  #failure: string | undefined;
  #attempt = 0;
  #timer: unknown;
  #closed = false;

  constructor(
    private readonly deps: {
      transaction: <R>(fn: () => R) => R;
      sessions: Pick<SessionTable, "available" | "gone" | "load">;
      /** A `TimerGuard` clock ("store_retry"). */
      clock: Clock;
      counters: Counters;
      logger: Logger;
      /** How many failed commits are kept in memory before an episode reconciles instead. */
      capacity: number;
      /** The sessions the machines hold available now: the truth, for a reconcile. */
      available: () => Iterable<string>;
      /** A commit telling the server user that `jid` is now `presence` (a reconcile's). */
      announce: (jid: string, presence: "available" | "unavailable") => Commit | undefined;
      /** Told when the file takes commits again (and whether a reconcile was needed), so other kept writes can follow. */
      writable?: (reconciled: boolean) => void;
      /** Told, before a reconcile announces anything, the sessions the server user was told of. */
      reconciling?: (told: readonly string[]) => void;
    },
  ) {}

  /** Commits now, or keeps it behind earlier failures. Returns whether it is committed. */
  commit(c: Commit): boolean {
    if (this.#failure !== undefined) {
      this.#keep(c);
      return false;
    }
    try {
      this.#write(c);
      return true;
    } catch (err) {
      this.#failed(err);
      this.#keep(c);
      this.#schedule();
      return false;
    }
  }

  /** Why the state file cannot be written now (a sentence for `/readyz`), if it cannot. */
  fault(): string | undefined {
    if (this.#failure === undefined) return undefined;
    const kept = this.#overflowed
      ? "more transitions than can be kept: the view is reconciled once it can be written"
      : `${this.#kept.length} transitions kept in memory until it can be`;
    return `the state file cannot be written (${this.#failure}): ${kept}`;
  }

  /** Transitions waiting in memory for the state file. */
  get kept(): number {
    return this.#kept.length;
  }

  /**
   * The daemon is stopping: what is still kept cannot be committed now. It
   * is not silently gone: the next start loads the sessions the server user
   * was told of, and its first resync reports each as the server sees it.
   */
  close(): void {
    if (!this.#closed && this.#failure !== undefined) {
      this.deps.logger.error(
        { event: "store_unwritable", code: this.#failure, kept: this.#kept.length },
        "stopping with transitions the state file never took: the next start's resync reports those sessions as the server sees them",
      );
    }
    this.#closed = true;
    if (this.#timer !== undefined) this.deps.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #write(c: Commit): void {
    c.committed(this.deps.transaction(() => this.#inTransaction(c)));
  }

  #inTransaction(c: Commit): boolean {
    const offered = c.offer();
    if (c.presence === "available") this.deps.sessions.available(c.jid);
    else this.deps.sessions.gone(c.jid);
    return offered;
  }

  #keep(c: Commit): void {
    if (this.#overflowed) return;
    if (this.#kept.length < this.deps.capacity) {
      this.#kept.push(c);
      this.deps.counters.inc("store_commits_kept");
      return;
    }
    // From here on nothing is kept (a later commit of a session must not
    // overtake one dropped): the reconcile at recovery covers them all.
    this.#overflowed = true;
    this.deps.counters.inc("store_backlog_overflows");
    this.deps.logger.error(
      { kept: this.#kept.length },
      "state file still not writable and the memory for transitions is full: the view will be reconciled once it can be written",
    );
  }

  #failed(err: unknown): void {
    this.deps.counters.inc("store_commit_failures");
    if (this.#failure !== undefined) return;
    this.#failure = sqliteCode(err) ?? "error";
    this.deps.logger.error(
      { event: "store_unwritable", code: this.#failure, err: excerpt((err as Error).message) },
      "the state file cannot be written: transitions are kept in memory and committed again; broker messages stay unacknowledged",
    );
  }

  #schedule(): void {
    if (this.#closed || this.#timer !== undefined) return;
    this.#attempt += 1;
    this.#timer = this.deps.clock.setTimeout(
      () => {
        this.#timer = undefined;
        this.#retry();
      },
      backoffDelay(this.#attempt, RETRY, Math.random),
    );
  }

  #retry(): void {
    try {
      while (this.#kept.length > 0) {
        this.#write(this.#kept[0] as Commit);
        this.#kept.shift();
      }
      if (this.#overflowed) this.#reconcile();
    } catch (err) {
      this.#failed(err);
      this.#schedule();
      return;
    }
    const failure = this.#failure;
    const reconciled = this.#overflowed;
    this.#failure = undefined;
    this.#overflowed = false;
    this.#attempt = 0;
    this.deps.logger.info(
      { event: "store_writable", code: failure, reconciled },
      "the state file is writable again: the transitions kept are committed",
    );
    this.deps.writable?.(reconciled);
  }

  /** Tells the server user every session whose announced presence differs from its machine's. */
  #reconcile(): void {
    const stored = this.deps.sessions.load();
    this.deps.reconciling?.(stored);
    const told = new Set(stored);
    const changes: Commit[] = [];
    const tell = (jid: string, presence: "available" | "unavailable") => {
      const c = this.deps.announce(jid, presence);
      if (c) changes.push(c);
    };
    for (const jid of this.deps.available()) if (!told.delete(jid)) tell(jid, "available");
    for (const jid of told) tell(jid, "unavailable");
    // One transaction: a failure part-way leaves nothing half told.
    const offered = this.deps.transaction(() => changes.map((c) => this.#inTransaction(c)));
    for (const [i, c] of changes.entries()) c.committed(offered[i] === true);
    this.deps.counters.inc("store_reconciled", changes.length);
  }
}
