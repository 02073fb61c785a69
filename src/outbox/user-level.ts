import { ShardedMap } from "../collections/sharded-map.js";
import { flatCopy } from "../protocol/jid.js";
import { bareJidOf } from "../sessions/session-registry.js";
import type { OutboundStage, Transition } from "./outbound.js";

/**
 * Opt-in `notify.level = "user"`: one notification per user (bare JID)
 * instead of one per session. The user becomes available with its first
 * available resource and unavailable with its last; `args.user` is the bare
 * JID and `args.resources` the number of available resources after the
 * change (1 or 0). Changes of the resources in between tell nothing.
 *
 * The session machines stay the truth: this is the last outbound stage, so
 * it reads exactly what the server user would be told at session level,
 * after flap damping and the per-user rate. Both keep each session's
 * changes alternating (a cancelled change goes with its reversal), so
 * counting them gives the resources the server user was told of, and a
 * user's notifications here alternate too (available, unavailable, ...),
 * ending in the truth once its sessions are quiet.
 *
 * Every session change still goes on to the terminal, told or not: durable
 * mode keeps each session's row (the sessions table is what a restart and a
 * reconcile start from), and `restore` counts from those rows.
 *
 * `seq` (with `notify.sequence = "session"`) numbers a user's notifications
 * per bare JID, the level's unit; in durable mode the numbers go on across
 * restarts like the sessions' (stored by bare JID).
 */
export class UserLevel {
  // Bare JID -> resources the server user was told are available. Only
  // users with one or more are held: memory follows the users online.
  readonly #told = new ShardedMap<number>();

  constructor(private readonly deps: { sequence?: { next(bareJid: string): number } } = {}) {}

  /** The resources of `bare` the server user was told are available. */
  resourcesOf(bare: string): number {
    return this.#told.get(bare) ?? 0;
  }

  /** Users told available. */
  get users(): number {
    return this.#told.size;
  }

  /**
   * The session change `t`, told at user level: with the user's notification
   * when it is its first resource to come or its last to go, else with none.
   */
  apply(t: Transition): Transition {
    const n = t.notification;
    if (n === undefined) return t;
    const before = this.resourcesOf(t.bare);
    // Each session's changes alternate (see above): an unavailable always
    // follows its session's available, so the count never goes below 0.
    const after = Math.max(0, before + (t.presence === "available" ? 1 : -1));
    if (after === 0) this.#told.delete(t.bare);
    // A new key is a flat copy, not a slice of the session's full JID
    // (which it would keep alive after that session is gone).
    else this.#told.set(before === 0 ? flatCopy(t.bare) : t.bare, after);
    const edge = t.presence === "available" ? before === 0 : before === 1 && after === 0;
    if (!edge) return { ...t, notification: undefined };
    const { seq: _, ...rest } = n;
    const seq = this.deps.sequence?.next(t.bare);
    const told = { ...rest, user: t.bare, resources: after };
    return { ...t, notification: seq === undefined ? told : { ...told, seq } };
  }

  /**
   * What the server user was told, from the sessions it was told are
   * available: at start (durable mode, the sessions table), and before a
   * reconcile compares those rows with the machines.
   */
  restore(told: Iterable<string>): void {
    this.#told.clear();
    for (const full of told) {
      const bare = bareJidOf(full);
      this.#told.set(bare, this.resourcesOf(bare) + 1);
    }
  }
}

/** `notify.level = "user"`, as the last outbound stage. */
export function userLevel(level: UserLevel): OutboundStage {
  return {
    offer: (t, next) => next(level.apply(t)),
    // Holds nothing back.
    flush: () => {},
  };
}
