import { describe, expect, it } from "vitest";
import { createActor, type InspectionEvent } from "xstate";
import { sessionInspection } from "../../../src/inspect/session-inspection.js";
import { type SessionEvent, sessionMachine } from "../../../src/machines/session.js";
import { SessionRegistry } from "../../../src/sessions/session-registry.js";

// Sessions are table codes, not actors; under `start --inspect` the registry
// tells the inspector what a live session actor would have. These tests hold
// that account to a real `sessionMachine` actor fed the same events.

const JID = "alice@example.com/phone";

function inspected() {
  const events: InspectionEvent[] = [];
  const registry = new SessionRegistry(sessionInspection({ next: (e) => events.push(e) }));
  return { events, registry };
}

const values = (events: InspectionEvent[]) =>
  events.flatMap((e) => (e.type === "@xstate.snapshot" ? [Reflect.get(e.snapshot, "value")] : []));

describe("session inspection", () => {
  it("registers a session once, by full JID, with the session machine, in its state before the event", () => {
    const { events, registry } = inspected();
    registry.apply(JID, { type: "presence.available" });
    registry.apply(JID, { type: "presence.available", show: "away" });
    const actors = events.filter((e) => e.type === "@xstate.actor");
    expect(actors).toHaveLength(1);
    const ref = actors[0]?.actorRef as unknown as Record<string, unknown>;
    expect(ref).toMatchObject({ id: JID, sessionId: `session:${JID}`, logic: sessionMachine });
    expect(actors[0]?.actorRef.getSnapshot().value).toBe("offline");
    expect(actors[0]?.rootId).toBe(`session:${JID}`);
  });

  it("reports each event and the state it led to, as a live session actor goes", () => {
    const script: SessionEvent[] = [
      { type: "presence.available" },
      { type: "presence.available", show: "dnd" },
      { type: "resync.begin" },
      { type: "presence.available", show: "dnd", delay: "2026-01-01T00:00:00Z" },
      { type: "resync.begin" },
      { type: "resync.lost" },
    ];
    const { events, registry } = inspected();
    const live = createActor(sessionMachine, { input: { jid: JID } }).start();
    const expected: unknown[] = [];
    for (const event of script) {
      registry.apply(JID, event);
      live.send(event);
      expected.push(live.getSnapshot().value);
    }
    expect(values(events)).toEqual(expected);
    expect(events.filter((e) => e.type === "@xstate.event").map((e) => e.event)).toEqual(script);
    expect(expected.at(-1)).toBe("unavailable");
  });

  it("forgets a session that went away and registers it again, from offline, when it returns", () => {
    const { events, registry } = inspected();
    registry.apply(JID, { type: "presence.available" });
    registry.apply(JID, { type: "presence.unavailable", cause: "client" });
    registry.apply(JID, { type: "presence.available" });
    const actors = events.filter((e) => e.type === "@xstate.actor");
    expect(actors.map((e) => e.actorRef.getSnapshot().value)).toEqual(["offline", "offline"]);
    expect(values(events)).toEqual([
      { available: { show: "online", sync: "confirmed" } },
      "unavailable",
      { available: { show: "online", sync: "confirmed" } },
    ]);
  });
});
