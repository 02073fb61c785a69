import { describe, expect, it } from "vitest";
import { settle } from "../../support/memory-link.js";
import { setup } from "./setup.js";

// A XEP-0203 <delay/> is something any client can put in its own presence,
// and Prosody and ejabberd forward it unchanged, even with from="localhost"
// (SERVERS.md). So a delayed presence alone must never be taken as the
// server's replay: not to postpone the post-reconnect settle, not to make
// the daemon believe "the server replayed, the rest are gone".

import { ADVERTISEMENT, gone, online, reconnect, stamped } from "./resync-setup.js";

describe("a forged replay cannot steer the resync", () => {
  it("a user's stream of delayed presences after the replay does not keep the settle from ever coming (departures during the outage are reported)", async () => {
    const t = setup();
    await online(t, "u@localhost/a", "left@localhost/x", "mallory@localhost/m");
    // Prosody: the advertisement and the replay of who is online come with the handshake.
    reconnect(t, [ADVERTISEMENT, stamped("u@localhost/a"), stamped("mallory@localhost/m")]);
    await settle();
    for (let i = 0; i < 20; i++) {
      t.clock.increment(500);
      t.server.deliver(stamped("mallory@localhost/m"));
      await settle(2);
    }
    expect(gone(t)).toEqual(["left@localhost/x"]);
    expect(t.service.intake.registry.counts()).toMatchObject({ available: 2, unconfirmed: 0 });
  });

  it("on a server that does not replay (ejabberd), a user's delayed presence does not make every unreplayed session gone", async () => {
    const t = setup();
    await online(t, "u@localhost/a", "v@localhost/b", "mallory@localhost/m");
    for (const jid of ["u@localhost/a", "v@localhost/b", "mallory@localhost/m"])
      t.server.liveSessions.add(jid);
    // ejabberd: the advertisement after the handshake, then whatever users send.
    reconnect(t, [], [ADVERTISEMENT, stamped("mallory@localhost/m")]);
    t.clock.increment(1_000);
    await settle();
    expect(gone(t)).toEqual([]);
    expect(t.service.intake.registry.counts()).toMatchObject({ available: 3, unconfirmed: 0 });
  });

  it("a delayed presence that reaches the component with its handshake but without an advertisement is not a replay", async () => {
    const t = setup();
    await online(t, "u@localhost/a", "mallory@localhost/m");
    for (const jid of ["u@localhost/a", "mallory@localhost/m"]) t.server.liveSessions.add(jid);
    reconnect(t, [stamped("mallory@localhost/m")], [ADVERTISEMENT]);
    t.clock.increment(1_000);
    await settle();
    expect(gone(t)).toEqual([]);
  });

  it("a delay stamped by anyone but the session's own server is not a replay", async () => {
    const t = setup();
    await online(t, "u@localhost/a", "mallory@localhost/m");
    for (const jid of ["u@localhost/a", "mallory@localhost/m"]) t.server.liveSessions.add(jid);
    reconnect(t, [ADVERTISEMENT, stamped("mallory@localhost/m", "mallory@localhost")]);
    t.clock.increment(1_000);
    await settle();
    expect(gone(t)).toEqual([]);
    expect(t.server.sent.filter((s) => s.name === "iq").length).toBeGreaterThan(0);
  });

  it("a filtered or foreign user's delayed presence never steers the resync", async () => {
    const t = setup({ notify: { exclude: ["mallory"], domains: ["localhost"] } });
    await online(t, "u@localhost/a", "v@localhost/b");
    for (const jid of ["u@localhost/a", "v@localhost/b"]) t.server.liveSessions.add(jid);
    reconnect(
      t,
      [],
      [ADVERTISEMENT, stamped("mallory@localhost/m"), stamped("eve@elsewhere/e", "elsewhere")],
    );
    t.clock.increment(1_000);
    await settle();
    expect(gone(t)).toEqual([]);
    // ...nor postpones the settle of a real replay.
    const p = setup({ notify: { exclude: ["mallory"], domains: ["localhost"] } });
    await online(p, "u@localhost/a", "left@localhost/x");
    reconnect(p, [ADVERTISEMENT, stamped("mallory@localhost/m"), stamped("u@localhost/a")]);
    for (let i = 0; i < 20; i++) {
      p.clock.increment(500);
      p.server.deliver(stamped(`mallory@localhost/m${i}`));
      p.server.deliver(stamped(`eve@elsewhere/e${i}`, "elsewhere"));
      await settle(2);
    }
    expect(gone(p)).toEqual(["left@localhost/x"]);
  });

  it("settles within a bound even when new sessions keep coming with delayed presences", async () => {
    const t = setup();
    await online(t, "u@localhost/a", "left@localhost/x");
    reconnect(t, [ADVERTISEMENT, stamped("u@localhost/a")]);
    // Each a session not replayed yet, each just before the quiet window closes.
    for (let i = 0; i < 40; i++) {
      t.clock.increment(900);
      t.server.deliver(stamped(`mallory@localhost/m${i}`));
      await settle(2);
    }
    expect(gone(t)).toEqual(["left@localhost/x"]);
  });
});
