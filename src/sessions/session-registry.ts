import { ShardedMap } from "../collections/sharded-map.js";
import {
  type SessionEvent,
  type SessionState,
  type SessionTransition,
  SHOWS,
  type Show,
  type TransitionCause,
} from "../machines/session.js";
import {
  actorOf,
  decode,
  INITIAL_CODE,
  type SessionCode,
  STATE_VALUES,
  step,
} from "../machines/session-table.js";

/**
 * Every known session's presence, held compactly: one `Map<fullJid, code>`
 * entry per session, advanced with the table derived from `sessionMachine`.
 *
 * Only available sessions are stored. A session that goes unavailable is
 * removed as its transition is returned, so memory follows the number of
 * sessions online, not the number ever seen; an absent JID is the machine's
 * initial state, so the same full JID coming back is offline -> available and
 * notifies again (its record says `from: "offline"`).
 *
 * Alongside it, a per-user view (bare JID -> number of available resources)
 * yields user-level transitions: first resource online, last resource gone.
 */

/** A user (bare JID) gaining its first or losing its last available resource. */
export interface UserTransition {
  /** Bare JID `local@domain`. */
  user: string;
  presence: "available" | "unavailable";
  /** The full JID whose transition caused this one. */
  session: string;
  cause: TransitionCause;
}

export interface Applied {
  session: SessionTransition;
  /** Present when the session's change moved its user across 0 <-> 1 available resources. */
  user?: UserTransition;
}

export interface SessionCounts {
  /** Sessions stored, all available. */
  available: number;
  /** Available sessions not yet confirmed since the last `beginResync`. */
  unconfirmed: number;
  /** Users with at least one available session. */
  users: number;
  show: Record<Show, number>;
}

/**
 * Told of every event a session took, with its state codes before and after,
 * whether or not it changed anything (`start --inspect` draws sessions with
 * it). Not installed, it costs one undefined check per event.
 */
export type SessionObserver = (
  jid: string,
  event: SessionEvent,
  before: SessionCode,
  after: SessionCode,
) => void;

/** A filter on `SessionState`; each field given must match. */
export type StateMatch = Partial<SessionState>;

/** `local@domain/resource` -> `local@domain`. A resource may itself contain '/'. */
export function bareJidOf(fullJid: string): string {
  const slash = fullJid.indexOf("/");
  return slash < 0 ? fullJid : fullJid.slice(0, slash);
}

const IS_AVAILABLE: readonly boolean[] = STATE_VALUES.map(
  (_, code) => decode(code).presence === "available",
);

function matches(state: SessionState, match: StateMatch): boolean {
  return (
    (match.presence === undefined || match.presence === state.presence) &&
    (match.show === undefined || match.show === state.show) &&
    (match.confirmed === undefined || match.confirmed === state.confirmed)
  );
}

export class SessionRegistry {
  // Sharded: a million sessions coming and going would otherwise stop the
  // event loop whenever one big Map rebuilds its table (sharded-map.ts).
  readonly #sessions = new ShardedMap<SessionCode>();
  readonly #resources = new ShardedMap<number>();
  readonly #observe: SessionObserver | undefined;

  constructor(observe?: SessionObserver) {
    this.#observe = observe;
  }

  /** Number of sessions held (every one of them available). */
  get size(): number {
    return this.#sessions.size;
  }

  /** Applies one presence event to the session `jid`; returns what changed, if anything. */
  apply(jid: string, event: SessionEvent): Applied | undefined {
    const stored = this.#sessions.get(jid);
    const before = stored ?? INITIAL_CODE;
    const { code, transition } = step(before, event);
    // `jid` is parseFullJid's own flat string, never a slice of the wire's
    // chunk (src/protocol/jid.ts): kept as the key as it is.
    if (!IS_AVAILABLE[code]) this.#sessions.delete(jid);
    else if (code !== before) this.#sessions.set(jid, code);
    this.#observe?.(jid, event, before, code);
    if (transition === undefined) return undefined;
    const session: SessionTransition = { jid, ...transition };
    const user = this.#countResources(
      jid,
      IS_AVAILABLE[before] === true,
      IS_AVAILABLE[code] === true,
      transition.cause,
    );
    return user === undefined ? { session } : { session, user };
  }

  /** The state of `jid`; `offline` for a session not held. */
  stateOf(jid: string): SessionState {
    return decode(this.#sessions.get(jid) ?? INITIAL_CODE);
  }

  /** How many available resources the bare JID `user` has. */
  resourcesOf(user: string): number {
    return this.#resources.get(user) ?? 0;
  }

  /** Full JIDs of the sessions in a matching state, e.g. `{ presence: "available" }` for a resync. */
  *sessionsInState(match: StateMatch = {}): Generator<string> {
    const wanted = STATE_VALUES.map((_, code) => matches(decode(code), match));
    for (const [jid, code] of this.#sessions) {
      if (wanted[code]) yield jid;
    }
  }

  /** Every held session with its state. */
  *entries(): Generator<[jid: string, state: SessionState]> {
    for (const [jid, code] of this.#sessions) yield [jid, decode(code)];
  }

  counts(): SessionCounts {
    const byCode = new Array<number>(STATE_VALUES.length).fill(0);
    for (const code of this.#sessions.values()) {
      byCode[code] = (byCode[code] ?? 0) + 1;
    }
    const counts: SessionCounts = {
      available: this.#sessions.size,
      unconfirmed: 0,
      users: this.#resources.size,
      show: Object.fromEntries(SHOWS.map((show) => [show, 0])) as Record<Show, number>,
    };
    byCode.forEach((count, code) => {
      const state = decode(code);
      if (state.show !== undefined) counts.show[state.show] += count;
      if (state.confirmed === false) counts.unconfirmed += count;
    });
    return counts;
  }

  /**
   * After the daemon's XMPP connection came back: every available session
   * becomes unconfirmed until a replayed presence or a `liveness.ok` confirms
   * it. Emits nothing; returns how many sessions now await confirmation.
   */
  beginResync(): number {
    for (const jid of this.#sessions.keys()) this.apply(jid, { type: "resync.begin" });
    return this.counts().unconfirmed;
  }

  /**
   * A started live actor of `sessionMachine` in the current state of `jid`,
   * for inspection. Events sent to it do not change the registry.
   */
  asActor(jid: string) {
    return actorOf(this.#sessions.get(jid) ?? INITIAL_CODE, jid);
  }

  #countResources(
    jid: string,
    wasAvailable: boolean,
    isAvailable: boolean,
    cause: TransitionCause,
  ): UserTransition | undefined {
    if (wasAvailable === isAvailable) return undefined;
    const user = bareJidOf(jid);
    const before = this.#resources.get(user) ?? 0;
    const after = before + (isAvailable ? 1 : -1);
    if (after === 0) this.#resources.delete(user);
    // A user's first resource: `jid` is then the flat key just stored for its
    // session, and its bare part a slice of it (32 bytes instead of a 48-byte
    // copy; it keeps that one key alive while the user has any resource).
    else this.#resources.set(user, after);
    if (before === 0 && after === 1) {
      return { user, presence: "available", session: jid, cause };
    }
    if (before === 1 && after === 0) {
      return { user, presence: "unavailable", session: jid, cause };
    }
    return undefined;
  }
}
