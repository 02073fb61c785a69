import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createActor } from "xstate";
import {
  type SessionChange,
  type SessionEvent,
  type SessionTransitionEvent,
  sessionMachine,
} from "../../../src/machines/session.js";
import {
  actorOf,
  decode,
  encode,
  INITIAL_CODE,
  STATE_VALUES,
  step,
} from "../../../src/machines/session-table.js";
import { sessionEvent, sessionEvents } from "./session-arbitraries.js";

const JID = "alice@example.com/phone";
const numRuns = 300;

/** Runs events through the table; returns each event's record (or undefined). */
function runTable(events: readonly SessionEvent[], from = INITIAL_CODE) {
  let code = from;
  const records: (SessionChange | undefined)[] = [];
  for (const event of events) {
    const result = step(code, event);
    code = result.code;
    records.push(result.transition);
  }
  return { code, records };
}

/**
 * An independent reference for the default notification policy, written from
 * the contract (PROTOCOL.md) rather than from the machine: one bit for
 * "online", one for "awaiting confirmation after a reconnect".
 */
function referenceNotifications(events: readonly SessionEvent[]): string[] {
  let online = false;
  let unconfirmed = false;
  const out: string[] = [];
  const goOffline = () => {
    if (online) out.push("unavailable");
    online = false;
  };
  for (const event of events) {
    switch (event.type) {
      case "presence.available":
        if (!online) out.push("available");
        online = true;
        unconfirmed = false;
        break;
      case "presence.unavailable":
      case "liveness.failed":
        goOffline();
        break;
      case "resync.begin":
        unconfirmed = online;
        break;
      case "liveness.ok":
        unconfirmed = false;
        break;
      case "resync.lost":
        if (unconfirmed) goOffline();
        break;
    }
  }
  return out;
}

describe("the compact session table", () => {
  it("notifies exactly on available <-> unavailable edges, alternating from available", () => {
    fc.assert(
      fc.property(sessionEvents, (events) => {
        const notified = runTable(events)
          .records.filter((record) => record?.notify === true)
          .map((record) => record?.to);
        notified.forEach((to, index) => {
          expect(to).toBe(index % 2 === 0 ? "available" : "unavailable");
        });
        expect(notified).toEqual(referenceNotifications(events));
      }),
      { numRuns },
    );
  });

  it("records nothing when an event is repeated immediately", () => {
    fc.assert(
      fc.property(sessionEvents, sessionEvent, (prefix, event) => {
        const { code } = runTable(prefix);
        const once = step(code, event);
        expect(step(once.code, event)).toEqual({ code: once.code, transition: undefined });
      }),
      { numRuns },
    );
  });

  it("agrees with a live actor of sessionMachine on state and records", () => {
    fc.assert(
      fc.property(sessionEvents, (events) => {
        const actor = createActor(sessionMachine, { input: { jid: JID } });
        let emitted: SessionTransitionEvent[] = [];
        actor.on("transition", (event) => emitted.push(event));
        actor.start();
        let code = INITIAL_CODE;
        for (const event of events) {
          emitted = [];
          actor.send(event);
          const result = step(code, event);
          code = result.code;
          expect(encode(actor.getSnapshot().value)).toBe(code);
          expect(emitted).toEqual(
            result.transition === undefined
              ? []
              : [{ type: "transition", jid: JID, ...result.transition }],
          );
        }
        actor.stop();
      }),
      { numRuns },
    );
  });

  it("starts a live actor from any code that then behaves like the table", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: STATE_VALUES.length - 1 }),
        sessionEvents,
        (start, events) => {
          const actor = actorOf(start, JID);
          expect(encode(actor.getSnapshot().value)).toBe(start);
          for (const event of events) actor.send(event);
          expect(encode(actor.getSnapshot().value)).toBe(runTable(events, start).code);
          actor.stop();
        },
      ),
      { numRuns: 100 },
    );
  });

  it("encodes every state once and decodes the initial state as offline", () => {
    const codes = STATE_VALUES.map((value) => encode(value));
    expect(codes).toEqual(STATE_VALUES.map((_, index) => index));
    expect(STATE_VALUES).toHaveLength(12);
    expect(decode(INITIAL_CODE)).toEqual({ presence: "offline" });
  });
});
