import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { REPLAY_WINDOW_FACTOR } from "../../../src/machines/resync.js";
import type { SessionEvent } from "../../../src/machines/session.js";
import { decode, type SessionCode } from "../../../src/machines/session-table.js";
import { settle } from "../../support/memory-link.js";
import { ADVERTISEMENT, gone, online, reconnect, stamped } from "../pipeline/resync-setup.js";
import { available, setup, unavailable } from "../pipeline/setup.js";
import { PING_TIMEOUT, resyncPipeline, SETTLE } from "./pipeline.js";

// The resync machine over event sequences, run by the real pipeline against
// the in-memory server (which answers pings from its live sessions): any
// order of connection events, replayed, forged, live and other stanzas, and
// time.

/** After "online", by when the settle has come and every ping has been answered or timed out. */
const BOUND = SETTLE * (REPLAY_WINDOW_FACTOR + 1) + 2 * PING_TIMEOUT;
const JIDS = ["a@localhost/1", "b@localhost/2", "c@localhost/3", "m@localhost/4"];

type Step =
  | { kind: "connecting" | "online" | "offline" | "advertisement" | "other" }
  | { kind: "stamped"; jid: string; byOwnHost: boolean }
  | { kind: "available" | "unavailable"; jid: string }
  | { kind: "tick"; ms: number };

const jid = fc.constantFrom(...JIDS);
/** What the server sends, and time passing: no connection event. */
const stanzaArb: fc.Arbitrary<Step> = fc.oneof(
  fc.constantFrom<Step>({ kind: "advertisement" }, { kind: "other" }),
  {
    arbitrary: fc.record({ kind: fc.constant("stamped" as const), jid, byOwnHost: fc.boolean() }),
    weight: 3,
  },
  fc.record({ kind: fc.constantFrom("available" as const, "unavailable" as const), jid }),
  fc.record({ kind: fc.constant("tick" as const), ms: fc.integer({ min: 1, max: 3 * SETTLE }) }),
);
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.constantFrom<Step>({ kind: "connecting" }, { kind: "online" }, { kind: "offline" }),
  stanzaArb,
);

/** The pipeline on the in-memory server, with every session event it takes observed. */
function observed() {
  const violations: string[] = [];
  const t = resyncPipeline({
    observeSessions: (jid: string, event: SessionEvent, before: SessionCode) => {
      const state = decode(before);
      if (event.type === "resync.lost" && state.confirmed !== false)
        violations.push(`${jid} lost while ${JSON.stringify(state)}`);
      if (event.type === "liveness.failed" && t.server.liveSessions.has(jid))
        violations.push(`${jid} reported gone by a ping while the server has it`);
    },
  });
  return { ...t, violations };
}

/**
 * Plays the steps as the component link would report them: "connecting",
 * stanzas, "online", stanzas, "offline"; a step the link could not produce
 * there (online without an attempt, a stanza with no connection) is skipped.
 */
async function play(
  t: ReturnType<typeof observed>,
  steps: readonly Step[],
  from: "down" | "connecting" | "up" = "down",
) {
  let link = from;
  for (const step of steps) {
    if (step.kind === "tick") {
      t.clock.increment(step.ms);
      await settle(2);
      continue;
    }
    if (step.kind === "connecting") {
      link = "connecting";
      t.server.emit("connecting");
    } else if (step.kind === "online") {
      if (link !== "connecting") continue;
      link = "up";
      t.server.online = true;
      t.server.emit("online");
    } else if (step.kind === "offline") {
      if (link === "down") continue;
      link = "down";
      t.server.drop();
    } else if (link === "down") {
      continue;
    } else if (step.kind === "advertisement") t.server.deliver(ADVERTISEMENT);
    else if (step.kind === "other")
      t.server.deliver(`<message from="x@localhost/r" to="presence.localhost"><body/></message>`);
    else if (step.kind === "stamped") {
      t.server.liveSessions.add(step.jid);
      t.server.deliver(stamped(step.jid, step.byOwnHost ? "localhost" : step.jid));
    } else if (step.kind === "available") {
      t.server.liveSessions.add(step.jid);
      t.server.deliver(available(step.jid));
    } else if (step.kind === "unavailable") {
      t.server.liveSessions.delete(step.jid);
      t.server.deliver(unavailable(step.jid));
    }
    await settle(1);
  }
  return link;
}

describe("the resync machine over event sequences", () => {
  it("never loses a confirmed session, and settles every session once the last attempt is online past the bound", async () => {
    const history = fc.array(stepArb, { maxLength: 30 });
    const handshake = fc.array(stanzaArb, { maxLength: 6 });
    const tail = fc.array(stanzaArb, { maxLength: 10 });
    await fc.assert(
      fc.asyncProperty(history, handshake, tail, async (before, withHandshake, after) => {
        const t = observed();
        // Known before: connected once, every session available, the link lost.
        t.server.connect();
        for (const j of JIDS) t.server.deliver(available(j));
        await settle();
        t.server.drop();
        // Any history, then the last attempt (wherever the history left it):
        // stanzas, "online", stanzas and time.
        const link = await play(t, before);
        if (link === "down") await play(t, [{ kind: "connecting" }], link);
        await play(t, [...withHandshake, { kind: "online" }], link === "up" ? "up" : "connecting");
        await play(t, after, "up");
        for (let waited = 0; waited < BOUND; waited += SETTLE) {
          t.clock.increment(SETTLE);
          await settle(3);
        }
        expect(t.service.intake.registry.counts().unconfirmed).toBe(0);
        expect(t.violations).toEqual([]);
        expect(t.records.filter((r) => r.supervisor === "resync")).toEqual([]);
        t.service.close();
      }),
      { numRuns: 150 },
    );
  });

  it("after a reconnect in either server's order, the server user's view is the server's truth", async () => {
    const scenario = fc.record({
      server: fc.constantFrom("prosody" as const, "ejabberd" as const),
      known: fc.subarray(JIDS.slice(0, 3)),
      left: fc.subarray(JIDS.slice(0, 3)),
      arrived: fc.subarray(JIDS.slice(0, 3)),
      // Where the socket's read ends: the rest of the replay comes after "online".
      split: fc.nat({ max: 3 }),
      forged: fc.boolean(),
      reversed: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const t = setup({ notify: { domains: ["localhost"] }, advertise: [] });
        await online(t, ...s.known);
        const stays = s.known.filter((j) => !s.left.includes(j));
        const fresh = s.arrived.filter((j) => !s.known.includes(j));
        const live = s.reversed ? [...stays, ...fresh].reverse() : [...stays, ...fresh];
        for (const j of live) t.server.liveSessions.add(j);
        if (s.server === "prosody") {
          const replay = [ADVERTISEMENT, ...live.map((j) => stamped(j))];
          reconnect(t, replay.slice(0, s.split + 1), replay.slice(s.split + 1));
        } else reconnect(t, [], [ADVERTISEMENT]);
        // A live user stamping its own presence after "online" is only a live presence.
        const forger = s.forged ? live[0] : undefined;
        if (forger !== undefined) t.server.deliver(stamped(forger));
        for (let waited = 0; waited < BOUND; waited += SETTLE) {
          t.clock.increment(SETTLE);
          await settle(3);
        }
        // ejabberd replays nothing: a session that came during the outage is
        // known once it sends a presence; every other one is as the server has it.
        const truth =
          s.server === "prosody" ? live : [...new Set([...stays, ...(forger ? [forger] : [])])];
        const believed = [...t.service.intake.registry.sessionsInState({ presence: "available" })];
        expect(believed.sort()).toEqual([...truth].sort());
        expect(gone(t)).toEqual(s.known.filter((j) => !truth.includes(j)).sort());
        t.service.close();
      }),
      { numRuns: 150 },
    );
  });
});
