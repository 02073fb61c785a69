import { describe, expect, it } from "vitest";
import { settle } from "../../support/memory-link.js";
import { ADVERTISEMENT, gone, online, reconnect, stamped } from "./resync-setup.js";
import { available, setup } from "./setup.js";

// After a reconnect: the server's replay (Prosody) is the whole truth; a
// server that replays nothing (ejabberd) has each doubtful session pinged.

describe("the server's real replay is still the whole truth", () => {
  it("replayed sessions stay, silently; a session the server did not replay is gone", async () => {
    const t = setup();
    await online(t, "u@localhost/a", "u@localhost/b", "u@localhost/c");
    // b is still connected but sent unavailable while we were away: not replayed.
    t.server.liveSessions.add("u@localhost/b");
    // Prosody replays all sessions once per privileged virtual host.
    reconnect(t, [
      ADVERTISEMENT,
      stamped("u@localhost/a"),
      ADVERTISEMENT,
      stamped("u@localhost/a"),
    ]);
    await settle();
    expect(t.service.intake.registry.counts().unconfirmed).toBe(2);
    t.clock.increment(1_000);
    await settle();
    expect(t.server.sent.filter((s) => s.name === "iq")).toEqual([]);
    expect(gone(t)).toEqual(["u@localhost/b", "u@localhost/c"]);
  });

  it("a replay longer than one read goes on after the link is online, until another stanza comes", async () => {
    const t = setup();
    const jids = Array.from({ length: 6 }, (_, i) => `u@localhost/${i}`);
    await online(t, ...jids, "left@localhost/x");
    reconnect(
      t,
      [ADVERTISEMENT, stamped(jids[0] as string)],
      jids.slice(1).map((j) => stamped(j)),
    );
    t.clock.increment(1_000);
    await settle();
    expect(gone(t)).toEqual(["left@localhost/x"]);
    expect(t.server.sent.filter((s) => s.name === "iq")).toEqual([]);
  });

  it("a replayed presence that carries the user's own delay before the server's still counts", async () => {
    const t = setup();
    await online(t, "u@localhost/a", "mallory@localhost/m", "left@localhost/x");
    const both = available(
      "mallory@localhost/m",
      `<delay xmlns="urn:xmpp:delay" from="evil" stamp="1999-01-01T00:00:00Z"/><delay xmlns="urn:xmpp:delay" from="localhost" stamp="2026-01-01T00:00:00Z"/>`,
    );
    reconnect(t, [ADVERTISEMENT, both, stamped("u@localhost/a")]);
    t.clock.increment(1_000);
    await settle();
    expect(gone(t)).toEqual(["left@localhost/x"]);
  });
});

describe("a server that replays nothing", () => {
  it("pings the sessions of a server that replays nothing (ejabberd)", async () => {
    const t = setup();
    t.server.connect();
    for (const r of ["a", "b"]) t.server.deliver(available(`u@localhost/${r}`));
    await settle();
    t.server.drop();
    t.server.liveSessions.add("u@localhost/a");
    t.server.connect();
    t.clock.increment(1_000);
    await settle();
    const pinged = t.server.sent
      .filter((s) => s.name === "iq")
      .map((s) => s.attrs.to)
      .sort();
    expect(pinged).toEqual(["u@localhost/a", "u@localhost/b"]);
    expect(t.notified().slice(2)).toEqual([{ user: "u@localhost/b", presence: "unavailable" }]);
    expect(t.service.intake.registry.counts()).toMatchObject({ available: 1, unconfirmed: 0 });
  });

  it("retries a ping that timed out once, then reports the session gone", async () => {
    const t = setup();
    t.server.connect();
    t.server.deliver(available("u@localhost/silent"));
    await settle();
    t.server.drop();
    // A server that swallows the ping: nothing answers.
    t.server.send = async (el) => {
      t.server.sent.push(el);
    };
    t.server.connect();
    t.clock.increment(1_000);
    await settle();
    expect(t.server.sent.filter((s) => s.name === "iq")).toHaveLength(1);
    t.clock.increment(10_000);
    await settle();
    expect(t.server.sent.filter((s) => s.name === "iq")).toHaveLength(2);
    expect(t.service.intake.registry.stateOf("u@localhost/silent").presence).toBe("available");
    t.clock.increment(10_000);
    await settle();
    expect(t.service.intake.registry.stateOf("u@localhost/silent").presence).toBe("offline");
    expect(t.notified().at(-1)).toEqual({ user: "u@localhost/silent", presence: "unavailable" });
  });
});
