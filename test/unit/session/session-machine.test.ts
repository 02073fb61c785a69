import { describe, expect, it } from "vitest";
import { createActor } from "xstate";
import {
  type SessionEvent,
  type SessionTransitionEvent,
  sessionMachine,
  sessionStateOf,
} from "../../../src/machines/session.js";

const JID = "alice@example.com/phone";

/** Runs `events` on a live actor; returns what each event emitted and the final state. */
function run(...events: SessionEvent[]) {
  const actor = createActor(sessionMachine, { input: { jid: JID } });
  const emitted: SessionTransitionEvent[][] = [];
  let current: SessionTransitionEvent[] = [];
  actor.on("transition", (event) => current.push(event));
  actor.start();
  for (const event of events) {
    current = [];
    actor.send(event);
    emitted.push(current);
  }
  const state = sessionStateOf(actor.getSnapshot().value);
  actor.stop();
  return { emitted, last: emitted.at(-1) ?? [], state };
}

const available: SessionEvent = { type: "presence.available" };
const replay: SessionEvent = { type: "presence.available", delay: "2024-05-01T12:00:00Z" };
const unavailable: SessionEvent = { type: "presence.unavailable", cause: "client" };

describe("a session never seen", () => {
  it("starts offline", () => {
    expect(run().state).toEqual({ presence: "offline" });
  });

  it("notifies available on its first available presence, show defaulting to online", () => {
    const { last, state } = run(available);
    expect(state).toEqual({ presence: "available", show: "online", confirmed: true });
    expect(last).toEqual([
      {
        type: "transition",
        jid: JID,
        from: "offline",
        to: "available",
        show: "online",
        cause: "presence",
        notify: true,
      },
    ]);
  });

  it("enters the show its first presence names", () => {
    expect(run({ type: "presence.available", show: "dnd" }).state.show).toBe("dnd");
  });

  it("notifies on a replayed first presence too (it came online while we were away)", () => {
    expect(run(replay).last).toMatchObject([{ from: "offline", cause: "replay", notify: true }]);
  });

  it.each<SessionEvent>([
    unavailable,
    { type: "liveness.ok" },
    { type: "liveness.failed" },
    { type: "resync.begin" },
    { type: "resync.lost" },
  ])("ignores $type", (event) => {
    const { last, state } = run(event);
    expect(last).toEqual([]);
    expect(state).toEqual({ presence: "offline" });
  });

  it("reads a show outside RFC 6121's four as no show element", () => {
    const odd = { type: "presence.available", show: "busy" } as unknown as SessionEvent;
    expect(run(odd).state.show).toBe("online");
  });
});

describe("an available session", () => {
  it("ignores a duplicate presence", () => {
    expect(run(available, { ...available, status: "hi", priority: 5 }).last).toEqual([]);
  });

  it("records a show change without notifying", () => {
    const { last, state } = run(available, { type: "presence.available", show: "away" });
    expect(state.show).toBe("away");
    expect(last).toEqual([
      expect.objectContaining({ from: "available", to: "available", show: "away", notify: false }),
    ]);
  });

  it("emits nothing for a replay of its presence", () => {
    expect(run(available, replay).last).toEqual([]);
  });

  it.each(["client", "server", "liveness", "reconnect"] as const)(
    "notifies unavailable with cause %s",
    (cause) => {
      const { last, state } = run(available, { type: "presence.unavailable", cause });
      expect(state).toEqual({ presence: "unavailable" });
      expect(last).toEqual([
        { type: "transition", jid: JID, from: "available", to: "unavailable", cause, notify: true },
      ]);
    },
  );

  it("notifies unavailable when a liveness check fails", () => {
    expect(run(available, { type: "liveness.failed" }).last).toMatchObject([
      { to: "unavailable", cause: "liveness", notify: true },
    ]);
  });

  it("is not lost by resync.lost unless it was unconfirmed", () => {
    const { last, state } = run(available, { type: "resync.lost" });
    expect(last).toEqual([]);
    expect(state.presence).toBe("available");
  });
});

describe("resync after the daemon reconnects", () => {
  it("marks an available session unconfirmed, silently", () => {
    const { last, state } = run(available, { type: "resync.begin" });
    expect(last).toEqual([]);
    expect(state).toEqual({ presence: "available", show: "online", confirmed: false });
  });

  it.each<[string, SessionEvent]>([
    ["a replayed presence", replay],
    ["a live presence", available],
    ["a liveness answer", { type: "liveness.ok" }],
  ])("confirms it with %s, without a notification", (_, event) => {
    const { last, state } = run(available, { type: "resync.begin" }, event);
    expect(last).toEqual([]);
    expect(state).toEqual({ presence: "available", show: "online", confirmed: true });
  });

  it("keeps a show change that arrives as the confirming replay", () => {
    const { last, state } = run(
      { type: "presence.available", show: "xa" },
      { type: "resync.begin" },
      { ...replay, show: "chat" },
    );
    expect(state).toEqual({ presence: "available", show: "chat", confirmed: true });
    expect(last).toMatchObject([{ to: "available", show: "chat", cause: "replay", notify: false }]);
  });

  it.each<[SessionEvent, string]>([
    [{ type: "resync.lost" }, "reconnect"],
    [{ type: "liveness.failed" }, "liveness"],
  ])("notifies unavailable when found gone ($0.type)", (event, cause) => {
    const { last, state } = run(available, { type: "resync.begin" }, event);
    expect(state).toEqual({ presence: "unavailable" });
    expect(last).toMatchObject([{ from: "available", to: "unavailable", cause, notify: true }]);
  });
});

describe("an unavailable session", () => {
  it("ignores a second unavailable", () => {
    expect(run(available, unavailable, unavailable).last).toEqual([]);
  });

  it("notifies available again when the same full JID comes back", () => {
    const { last } = run(available, unavailable, { type: "presence.available", show: "chat" });
    expect(last).toMatchObject([
      { from: "unavailable", to: "available", show: "chat", notify: true },
    ]);
  });
});

describe("the machine definition", () => {
  it("serialises for the Stately visualizer", () => {
    const json = JSON.parse(JSON.stringify(sessionMachine.toJSON()));
    expect(json.id).toBe("session");
    expect(Object.keys(json.states)).toEqual(["offline", "available", "unavailable"]);
    expect(Object.keys(json.states.available.states.show.states)).toEqual([
      "chat",
      "online",
      "away",
      "xa",
      "dnd",
    ]);
  });
});
