import { emit, type SnapshotFrom, type StateValue, setup } from "xstate";

/**
 * The presence lifecycle of ONE session (one full JID `local@domain/resource`),
 * as the XMPP server reports it to the component. This machine is the single
 * source of truth for presence semantics: `session-table.ts` derives the
 * compact table the registry runs at scale from it, and a property test holds
 * the two equivalent.
 *
 * States:
 * - `offline`: never seen (initial).
 * - `available`: two parallel regions, `show` (RFC 6121 §4.7.2.1 `<show/>`;
 *   `online` stands for "no show element") and `sync` (`confirmed`, or
 *   `unconfirmed` between `resync.begin` after the daemon reconnected and a
 *   replayed presence / `liveness.ok` confirming it).
 * - `unavailable`: seen, then gone.
 *
 * Every change of the session's state is emitted as a `transition` event
 * (`actor.on("transition", ...)`); `notify` is true exactly on the
 * offline|unavailable -> available and available -> unavailable edges, the
 * edges the original mod_presence_notify hooked (`user_available`,
 * `unset_presence`). A show change of an available session is emitted with
 * `notify: false`; going unconfirmed and being confirmed again are not
 * presence changes and emit nothing.
 */

export const SHOWS = ["chat", "online", "away", "xa", "dnd"] as const;
export type Show = (typeof SHOWS)[number];

/** `show` as it appears in a presence event: absent means `online`. */
export type PresenceShow = Exclude<Show, "online">;

export const UNAVAILABLE_CAUSES = ["client", "server", "liveness", "reconnect"] as const;
export type UnavailableCause = (typeof UNAVAILABLE_CAUSES)[number];

export type Presence = "offline" | "available" | "unavailable";

/** `presence` for a live available presence, `replay` when it carries a XEP-0203 delay stamp. */
export type TransitionCause = "presence" | "replay" | UnavailableCause;

export type SessionEvent =
  | {
      type: "presence.available";
      show?: PresenceShow;
      status?: string;
      priority?: number;
      /** XEP-0203 `<delay stamp>`: present on presences the server replays. */
      delay?: string;
    }
  | { type: "presence.unavailable"; cause: UnavailableCause }
  | { type: "liveness.ok" }
  | { type: "liveness.failed" }
  | { type: "resync.begin" }
  | { type: "resync.lost" };

/** One change of one session's state, without the JID (the table's view). */
export interface SessionChange {
  from: Presence;
  to: Presence;
  /** Only when `to` is `available`. */
  show?: Show;
  cause: TransitionCause;
  notify: boolean;
}

/** One change of one session's state. */
export interface SessionTransition extends SessionChange {
  /** The session's full JID. */
  jid: string;
}

/** What the machine emits: `actor.on("transition", (e) => ...)`. */
export interface SessionTransitionEvent extends SessionTransition {
  type: "transition";
}

export interface SessionContext {
  jid: string;
}

export interface SessionInput {
  jid: string;
}

/**
 * The show a presence event asks for. A value outside RFC 6121's four counts
 * as no show element, so a malformed stanza still yields a definite state.
 */
export function showOf(event: SessionEvent): Show {
  if (event.type !== "presence.available") return "online";
  const show: string | undefined = event.show;
  return show === "chat" || show === "away" || show === "xa" || show === "dnd" ? show : "online";
}

function causeOf(event: SessionEvent): TransitionCause {
  switch (event.type) {
    case "presence.available":
      return event.delay === undefined ? "presence" : "replay";
    case "presence.unavailable":
      return event.cause;
    case "liveness.failed":
      return "liveness";
    default:
      // resync.lost: the session was not confirmed after a reconnect.
      return "reconnect";
  }
}

const sessionSetup = setup({
  types: {
    context: {} as SessionContext,
    input: {} as SessionInput,
    events: {} as SessionEvent,
    emitted: {} as SessionTransitionEvent,
  },
  guards: {
    showIs: ({ event }, params: { show: Show }) =>
      event.type === "presence.available" && showOf(event) === params.show,
  },
  actions: {
    announce: emit(
      (
        { context, event }: { context: SessionContext; event: SessionEvent },
        params: { from: Presence; to: Presence },
      ): SessionTransitionEvent => {
        const change: SessionTransitionEvent = {
          type: "transition",
          jid: context.jid,
          from: params.from,
          to: params.to,
          cause: causeOf(event),
          notify: params.from !== params.to,
        };
        if (params.to === "available") change.show = showOf(event);
        return change;
      },
    ),
  },
});

/** offline|unavailable -> available, into the show the presence names. */
function arrive(from: Presence) {
  return SHOWS.map((show) => ({
    guard: { type: "showIs" as const, params: { show } },
    target: `#session.available.show.${show}`,
    actions: {
      type: "announce" as const,
      params: { from, to: "available" as const },
    },
  }));
}

/** available -> unavailable. */
const leave = {
  target: "#session.unavailable",
  actions: {
    type: "announce" as const,
    params: { from: "available" as const, to: "unavailable" as const },
  },
};

/** A show substate: moves to any other show a presence names; the same show is a no-op. */
function showState(current: Show) {
  return {
    on: {
      "presence.available": SHOWS.filter((show) => show !== current).map((show) => ({
        guard: { type: "showIs" as const, params: { show } },
        target: show,
        actions: {
          type: "announce" as const,
          params: { from: "available" as const, to: "available" as const },
        },
      })),
    },
  };
}

export const sessionMachine = sessionSetup.createMachine({
  id: "session",
  context: ({ input }) => ({ jid: input.jid }),
  initial: "offline",
  states: {
    offline: {
      on: { "presence.available": arrive("offline") },
    },
    available: {
      type: "parallel",
      on: {
        "presence.unavailable": leave,
        "liveness.failed": leave,
      },
      states: {
        show: {
          initial: "online",
          states: {
            chat: showState("chat"),
            online: showState("online"),
            away: showState("away"),
            xa: showState("xa"),
            dnd: showState("dnd"),
          },
        },
        sync: {
          initial: "confirmed",
          states: {
            confirmed: {
              on: { "resync.begin": "unconfirmed" },
            },
            unconfirmed: {
              on: {
                // A replayed (or live) presence or a ping answer proves the
                // session survived our reconnect: back to confirmed, silently.
                "presence.available": "confirmed",
                "liveness.ok": "confirmed",
                "resync.lost": leave,
              },
            },
          },
        },
      },
    },
    unavailable: {
      on: { "presence.available": arrive("unavailable") },
    },
  },
});

export type SessionSnapshot = SnapshotFrom<typeof sessionMachine>;

/** A session's state as the rest of the daemon reads it. */
export interface SessionState {
  presence: Presence;
  /** Only when `presence` is `available`. */
  show?: Show;
  /** Only when `presence` is `available`: false between a reconnect and its confirmation. */
  confirmed?: boolean;
}

/** Reads a state value of `sessionMachine` into a `SessionState`. */
export function sessionStateOf(value: StateValue): SessionState {
  if (typeof value === "string") {
    if (value === "offline" || value === "unavailable") return { presence: value };
    throw new Error(`Not a state of the session machine: ${JSON.stringify(value)}`);
  }
  const available = value.available;
  if (available === undefined || typeof available === "string") {
    throw new Error(`Not a state of the session machine: ${JSON.stringify(value)}`);
  }
  return {
    presence: "available",
    show: available.show as Show,
    confirmed: available.sync === "confirmed",
  };
}
