import { assign, fromPromise, setup } from "xstate";
import { backoffDelay } from "../otp/backoff.js";

/**
 * The lifecycle of one reconciliation after the component's connection
 * comes back. The machine decides when; src/sessions/resync.ts (the why of
 * each step) provides the effects and keeps the replay's tally.
 *
 * idle --connecting--> reconnecting --quiet after online--> settling --> idle
 *   reconnecting: two regions, `replay` (whether a stamped presence is the
 *   server's replay) and `settle` (waits for "online", then for the replay
 *   to be quiet for `settleMs`)
 *   settling: listing (the server's session list is the truth) | dropping
 *   (the replay is) | pinging (nothing was replayed), then idle; a step that
 *   throws is a bug: failed, and the step is chosen and run again after a
 *   backoff
 * any --connecting--> reconnecting (begun again); any --offline--> idle
 *
 * `replay`, in the order Prosody writes a connection's first stanzas:
 * - opens at this connection's advertisement, if it comes before "online";
 * - while open, a presence stamped by the session's own server, of a served
 *   session, counts the first time that session is replayed since the last
 *   advertisement (Prosody lists each session once per advertisement, one
 *   advertisement per privileged host); one not served (filtered, foreign)
 *   neither counts nor closes it: the server replays those too;
 * - closes at anything else (any other stanza, a session replayed twice,
 *   an advertisement after "online"), at "online" if nothing was counted
 *   before it, and `REPLAY_WINDOW_FACTOR * settleMs` after "online" in any
 *   case, so the settle comes at the latest `settleMs` after that.
 * A stamped presence outside the window is a live presence.
 *
 * The counting is the owner's: it runs for each presence of a replay, which
 * lists every session online (a million, ARCHITECTURE.md), and an XState
 * event costs 5-40 µs, seconds per reconnect at that size. So the owner
 * tallies, the guards below read its tally, and the machine hears only
 * what changes a state: a session replayed twice (`replay.repeated`). The
 * quiet period is one timer, not one per counted presence: when it ends,
 * `quiet` says whether a presence counted since, and if one did the timer
 * runs again for what is left (`settle` is that remainder).
 *
 * Tags: `listening` while a stanza can still close the window (the owner
 * sends `other` only then: every stanza passes there), `open` while a
 * stamped presence is taken as replayed.
 */

/** How long after "online" (in settle windows) a replay may still run. */
export const REPLAY_WINDOW_FACTOR = 5;

export interface ResyncInput {
  /** How long the replay may stay quiet before it counts as over (ms). */
  settleMs: number;
  /** Whether the server has its own list of live sessions (then it is the truth). */
  sessionList: boolean;
}

export interface ResyncContext extends ResyncInput {
  /** Settle steps failed in a row, for the backoff before the next run. */
  failures: number;
  /** Why the last settle step failed. */
  error?: unknown;
}

export type ResyncEvent =
  /** A connection attempt begins: nothing believed is confirmed any more. */
  | { type: "connecting" }
  /** The link is up (always after "connecting": src/xmpp/component-link.ts). */
  | { type: "online" }
  /** This connection's privilege advertisement (XEP-0356 section 4.2). */
  | { type: "advertisement" }
  /** A served session was replayed a second time since the last advertisement. */
  | { type: "replay.repeated" }
  /** Any other stanza. */
  | { type: "other" }
  /** The link is down: the next connection starts over. */
  | { type: "offline" };

/** "unavailable": the session list could not be had (counted and logged); fall back. */
export type ReconcileResult = "reconciled" | "unavailable";

/** How a failed settle step is run again: 1 s, doubling, at most 30 s apart. */
const RETRY = { initial: 1_000, max: 30_000, factor: 2, jitter: 0 };

const failed = { target: "#resync.settling.failed", actions: "keepError" } as const;
const closed = "#resync.reconnecting.replay.closed";

export const resyncMachine = setup({
  types: {
    context: {} as ResyncContext,
    input: {} as ResyncInput,
    events: {} as ResyncEvent,
  },
  // The effects and the tally's guards are provided by src/sessions/resync.ts.
  actions: {
    beginResync: () => {},
    newTally: () => {},
    forgetSeen: () => {},
    cancelPings: () => {},
    reportFailure: () => {},
    // The error event of a settle step (`xstate.error.actor.*`).
    keepError: assign({ error: ({ event }) => ("error" in event ? event.error : undefined) }),
    countFailure: assign({ failures: ({ context }) => context.failures + 1 }),
    clearFailures: assign({ failures: 0, error: undefined }),
  },
  actors: {
    reconcile: fromPromise<ReconcileResult>(async () => "unavailable"),
    dropUnreplayed: fromPromise<void>(async () => undefined),
    verify: fromPromise<void>(async () => undefined),
  },
  guards: {
    replayed: () => false,
    quiet: () => true,
    hasSessionList: ({ context }) => context.sessionList,
    // The output of `reconcile` (`xstate.done.actor.*`).
    reconciled: ({ event }) => "output" in event && event.output === "reconciled",
  },
  delays: {
    settle: ({ context }) => context.settleMs,
    replayBound: ({ context }) => context.settleMs * REPLAY_WINDOW_FACTOR,
    retry: ({ context }) => backoffDelay(context.failures, RETRY, () => 0),
  },
}).createMachine({
  id: "resync",
  context: ({ input }) => ({ ...input, failures: 0 }),
  initial: "idle",
  on: {
    connecting: ".reconnecting",
    offline: { target: ".idle", actions: "cancelPings" },
  },
  states: {
    idle: {},
    reconnecting: {
      type: "parallel",
      entry: ["clearFailures", "newTally", "beginResync"],
      states: {
        replay: {
          initial: "awaitingAdvertisement",
          states: {
            awaitingAdvertisement: {
              tags: ["listening"],
              on: { advertisement: "open", other: "closed", online: "closed" },
            },
            open: {
              tags: ["listening", "open"],
              initial: "beforeOnline",
              on: { "replay.repeated": "closed", other: "closed" },
              states: {
                beforeOnline: {
                  on: {
                    advertisement: { target: "beforeOnline", reenter: true, actions: "forgetSeen" },
                    online: [{ guard: "replayed", target: "afterOnline" }, { target: closed }],
                  },
                },
                afterOnline: {
                  after: { replayBound: closed },
                  on: { advertisement: closed },
                },
              },
            },
            closed: { entry: "forgetSeen" },
          },
        },
        settle: {
          initial: "awaitingOnline",
          states: {
            awaitingOnline: { on: { online: "awaitingQuiet" } },
            awaitingQuiet: {
              after: {
                settle: [
                  { guard: "quiet", target: "#resync.settling" },
                  { target: "awaitingQuiet", reenter: true },
                ],
              },
            },
          },
        },
      },
    },
    settling: {
      initial: "choosing",
      states: {
        choosing: {
          always: [
            { guard: "hasSessionList", target: "listing" },
            { guard: "replayed", target: "dropping" },
            { target: "pinging" },
          ],
        },
        listing: {
          invoke: {
            src: "reconcile",
            onDone: [
              { guard: "reconciled", target: "#resync.idle" },
              { guard: "replayed", target: "dropping" },
              { target: "pinging" },
            ],
            onError: failed,
          },
        },
        dropping: {
          invoke: { src: "dropUnreplayed", onDone: "#resync.idle", onError: failed },
        },
        pinging: {
          invoke: { src: "verify", onDone: "#resync.idle", onError: failed },
        },
        failed: {
          entry: ["countFailure", "reportFailure"],
          after: { retry: "choosing" },
        },
      },
    },
  },
});
