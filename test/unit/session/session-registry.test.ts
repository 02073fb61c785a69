import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { SessionEvent, SessionTransitionEvent } from "../../../src/machines/session.js";
import { bareJidOf, SessionRegistry } from "../../../src/sessions/session-registry.js";
import { sessionEvent } from "./session-arbitraries.js";

const phone = "alice@example.com/phone";
const laptop = "alice@example.com/laptop";
const bob = "bob@example.com/desk";
const online: SessionEvent = { type: "presence.available" };
const replay: SessionEvent = { type: "presence.available", delay: "2024-05-01T12:00:00Z" };
const offline: SessionEvent = { type: "presence.unavailable", cause: "client" };

describe("SessionRegistry", () => {
  it("returns the session's transition with its JID, and the user's first resource online", () => {
    const registry = new SessionRegistry();
    expect(registry.apply(phone, { type: "presence.available", show: "away" })).toEqual({
      session: {
        jid: phone,
        from: "offline",
        to: "available",
        show: "away",
        cause: "presence",
        notify: true,
      },
      user: { user: "alice@example.com", presence: "available", session: phone, cause: "presence" },
    });
    expect(registry.stateOf(phone)).toEqual({
      presence: "available",
      show: "away",
      confirmed: true,
    });
  });

  it("returns nothing for a duplicate presence or an unavailable for an unknown session", () => {
    const registry = new SessionRegistry();
    registry.apply(phone, online);
    expect(registry.apply(phone, online)).toBeUndefined();
    expect(registry.apply(bob, offline)).toBeUndefined();
    expect(registry.size).toBe(1);
  });

  it("reports a user online at the first resource and offline at the last", () => {
    const registry = new SessionRegistry();
    expect(registry.apply(phone, online)?.user?.presence).toBe("available");
    expect(registry.apply(laptop, online)?.user).toBeUndefined();
    expect(registry.resourcesOf("alice@example.com")).toBe(2);
    expect(registry.apply(phone, offline)?.user).toBeUndefined();
    expect(registry.apply(laptop, { type: "liveness.failed" })?.user).toEqual({
      user: "alice@example.com",
      presence: "unavailable",
      session: laptop,
      cause: "liveness",
    });
    expect(registry.resourcesOf("alice@example.com")).toBe(0);
  });

  it("forgets a session that went unavailable, and notifies again when the full JID comes back", () => {
    const registry = new SessionRegistry();
    registry.apply(phone, online);
    registry.apply(phone, offline);
    expect(registry.size).toBe(0);
    expect(registry.stateOf(phone)).toEqual({ presence: "offline" });
    expect(registry.apply(phone, online)?.session).toMatchObject({
      from: "offline",
      to: "available",
      notify: true,
    });
  });

  it("resyncs after a reconnect: confirmed sessions stay silently, the rest go unavailable", () => {
    const registry = new SessionRegistry();
    for (const jid of [phone, laptop, bob]) registry.apply(jid, online);
    expect([...registry.sessionsInState({ presence: "available" })].sort()).toEqual(
      [bob, laptop, phone].sort(),
    );

    expect(registry.beginResync()).toBe(3);
    expect(registry.apply(phone, replay)).toBeUndefined();
    expect(registry.apply(bob, { type: "liveness.ok" })).toBeUndefined();
    expect([...registry.sessionsInState({ confirmed: false })]).toEqual([laptop]);

    // What src/sessions/resync.ts does once the replay is over.
    const gone = [...registry.sessionsInState({ confirmed: false })].map((jid) =>
      registry.apply(jid, { type: "resync.lost" }),
    );
    expect(registry.apply(phone, { type: "resync.lost" })).toBeUndefined();
    expect(gone).toEqual([
      {
        session: {
          jid: laptop,
          from: "available",
          to: "unavailable",
          cause: "reconnect",
          notify: true,
        },
      },
    ]);
    expect(registry.size).toBe(2);
    expect(registry.counts()).toEqual({
      available: 2,
      unconfirmed: 0,
      users: 2,
      show: { chat: 0, online: 2, away: 0, xa: 0, dnd: 0 },
    });
  });

  it("counts sessions by show and confirmation", () => {
    const registry = new SessionRegistry();
    registry.apply(phone, { type: "presence.available", show: "dnd" });
    registry.apply(laptop, { type: "presence.available", show: "xa" });
    registry.beginResync();
    registry.apply(bob, { type: "presence.available", show: "dnd" });
    expect(registry.counts()).toEqual({
      available: 3,
      unconfirmed: 2,
      users: 2,
      show: { chat: 0, online: 0, away: 0, xa: 1, dnd: 2 },
    });
    expect([...registry.entries()]).toContainEqual([
      bob,
      { presence: "available", show: "dnd", confirmed: true },
    ]);
  });

  it("runs a session as a live actor from its current state, without writing back", () => {
    const registry = new SessionRegistry();
    registry.apply(phone, { type: "presence.available", show: "chat" });
    const actor = registry.asActor(phone);
    expect(actor.getSnapshot().value).toEqual({ available: { show: "chat", sync: "confirmed" } });
    const emitted: SessionTransitionEvent[] = [];
    actor.on("transition", (event) => emitted.push(event));
    actor.send(offline);
    expect(emitted).toMatchObject([{ jid: phone, to: "unavailable", notify: true }]);
    expect(registry.stateOf(phone).presence).toBe("available");
    actor.stop();
  });

  it("keeps its own copy of a JID without changing it, even a lone surrogate", () => {
    // The registry copies new keys so they do not pin the parser's network chunk.
    const odd = "alice@example.com/\ud800phone";
    const registry = new SessionRegistry();
    registry.apply(odd, online);
    expect([...registry.sessionsInState()]).toEqual([odd]);
    expect(registry.stateOf(odd).presence).toBe("available");
    expect(registry.apply(odd, offline)?.session.jid).toBe(odd);
    expect(registry.size).toBe(0);
  });

  it("takes the bare JID up to the first '/', since a resource may contain '/'", () => {
    expect(bareJidOf("a@b/c/d")).toBe("a@b");
    expect(bareJidOf("a@b")).toBe("a@b");
  });
});

describe("SessionRegistry per-user view (property)", () => {
  const jids = ["a@x/1", "a@x/2", "a@x/3", "b@x/1", "b@x/2/3", "c@y/1"];
  const users = [...new Set(jids.map(bareJidOf))];
  const operation = fc.oneof(
    { weight: 8, arbitrary: fc.tuple(fc.constantFrom(...jids), sessionEvent) },
    { weight: 1, arbitrary: fc.constant("beginResync" as const) },
    { weight: 1, arbitrary: fc.constant("resyncOver" as const) },
  );

  it("counts each user's available sessions and transitions the user exactly at 0 <-> 1", () => {
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 60 }), (operations) => {
        const registry = new SessionRegistry();
        const availableOf = (user: string) =>
          jids.filter(
            (jid) => bareJidOf(jid) === user && registry.stateOf(jid).presence === "available",
          ).length;
        const perform = (op: (typeof operations)[number]) => {
          // The end of a resync, as src/sessions/resync.ts does it.
          if (op === "resyncOver") {
            return [...registry.sessionsInState({ confirmed: false })].map((jid) =>
              registry.apply(jid, { type: "resync.lost" }),
            );
          }
          if (op === "beginResync") {
            registry.beginResync();
            return [];
          }
          return [registry.apply(op[0], op[1])];
        };
        for (const op of operations) {
          const before = new Map(users.map((user) => [user, availableOf(user) > 0]));
          const userChanges = perform(op).flatMap((result) =>
            result?.user ? [`${result.user.user} ${result.user.presence}`] : [],
          );
          // A user transitions once per operation exactly when it crossed 0 <-> 1,
          // even when the end of a resync takes several of its sessions at once.
          const crossed = users
            .filter((user) => before.get(user) !== availableOf(user) > 0)
            .map((user) => `${user} ${availableOf(user) > 0 ? "available" : "unavailable"}`);
          expect(userChanges.sort()).toEqual(crossed.sort());
          for (const user of users) expect(registry.resourcesOf(user)).toBe(availableOf(user));
          expect(registry.size).toBe(
            jids.filter((jid) => registry.stateOf(jid).presence === "available").length,
          );
          expect(registry.counts().users).toBe(
            users.filter((user) => availableOf(user) > 0).length,
          );
        }
      }),
      { numRuns: 300 },
    );
  });
});
