import { describe, expect, it } from "vitest";
import { Readiness } from "../../../src/admin/readiness.js";
import { ServedDomains } from "../../../src/sessions/served-domains.js";
import { settle } from "../../support/memory-link.js";
import { advertisement, available, setup } from "./setup.js";

// With notify.domains empty, the domains served are the server's own hosts
// (those that advertised presence on this connection), else the component's
// parent domain: a remote server (s2s) can neither create tracked sessions
// nor replace the privileges the server granted (src/sessions/served-domains.ts).

describe("served domains with notify.domains empty", () => {
  it("a remote server's users cannot become tracked sessions", async () => {
    const t = setup({ advertise: [] });
    t.server.connect();
    t.server.deliver(advertisement("localhost"));
    t.server.deliver(available("u@localhost/r"));
    for (let i = 0; i < 100; i++) t.server.deliver(available(`m${i}@evil.example/r`));
    await settle();
    expect(t.service.intake.registry.size).toBe(1);
    expect(t.notified()).toEqual([{ user: "u@localhost/r", presence: "available" }]);
    expect(t.service.counters.get("presence_rejected")).toBe(100);
    const logged = t.records.filter((r) => r.reason === "domain not served");
    expect(logged.length).toBeLessThan(10);
  });

  it("a remote server's privilege advertisement replaces nothing and readiness stays green", async () => {
    const t = setup({ advertise: [] });
    const readiness = new Readiness({
      link: t.server,
      privileges: t.service.privileges,
      counters: t.service.counters,
    });
    t.server.connect();
    t.server.deliver(advertisement("localhost"));
    t.server.deliver(available("u@localhost/r"));
    t.server.deliver("<iq type='result' id='x' from='u@localhost/r'/>");
    t.server.deliver(advertisement("evil.example", "<perm access='presence' type='roster'/>"));
    t.server.deliver(available("m@evil.example/r"));
    await settle();
    expect(readiness.state().ready).toBe(true);
    expect(t.service.counters.get("privileges_refused")).toBe(1);
    expect(t.service.intake.registry.size).toBe(1);
  });

  it("a new host advertising after the connect burst went quiet is not believed", async () => {
    const t = setup({ advertise: [] });
    t.server.connect();
    t.server.deliver(advertisement("localhost"));
    t.clock.increment(5_000);
    t.server.deliver(advertisement("evil.example"));
    t.server.deliver(available("m@evil.example/r"));
    await settle();
    expect(t.service.counters.get("privileges_refused")).toBe(1);
    expect(t.service.intake.registry.size).toBe(0);
  });

  it("serves every host that advertises in the connect burst (Prosody: each host, then its presences)", async () => {
    const t = setup({ advertise: [] });
    t.server.connect();
    t.server.deliver(advertisement("a.test"));
    t.server.deliver(
      available("x@a.test/r", "<delay xmlns='urn:xmpp:delay' stamp='2024-01-01T00:00:00Z'/>"),
    );
    t.server.deliver(advertisement("b.test"));
    t.server.deliver(
      available("y@b.test/r", "<delay xmlns='urn:xmpp:delay' stamp='2024-01-01T00:00:00Z'/>"),
    );
    t.server.deliver(available("z@localhost/r"));
    await settle();
    expect(t.notified().map((n) => n.user)).toEqual(["x@a.test/r", "y@b.test/r"]);
    expect(t.service.counters.get("privileges_refused")).toBe(0);
  });

  it("without an advertisement (MongooseIM, the broker route) serves only the component's parent domain", async () => {
    const t = setup({ advertise: [] });
    t.server.connect();
    const jid = (full: string) => {
      const [bare = "", resource = ""] = full.split("/");
      const [local = "", domain = ""] = bare.split("@");
      return { full, bare, local, domain, resource };
    };
    t.service.intake.sink.accept(jid("u@localhost/r"), { type: "presence.available" });
    t.service.intake.sink.accept(jid("m@evil.example/r"), { type: "presence.available" });
    t.server.deliver(available("n@evil.example/r"));
    await settle();
    expect(t.notified().map((n) => n.user)).toEqual(["u@localhost/r"]);
    expect(t.service.counters.get("presence_rejected")).toBe(2);
  });

  it("forgets the last connection's hosts on a reconnect", async () => {
    const t = setup({ advertise: [] });
    t.server.connect();
    t.server.deliver(advertisement("b.test"));
    t.server.drop();
    t.server.connect();
    t.server.deliver(available("y@b.test/r"));
    await settle();
    expect(t.service.intake.registry.size).toBe(0);
  });

  it("with notify.domains set, serves exactly those and believes only their advertisements", async () => {
    const t = setup({ notify: { domains: ["example.test"] }, advertise: [] });
    t.server.connect();
    t.server.deliver(advertisement("localhost"));
    t.server.deliver(available("u@localhost/r"));
    t.server.deliver(available("v@example.test/r"));
    await settle();
    expect(t.notified().map((n) => n.user)).toEqual(["v@example.test/r"]);
    expect(t.service.counters.get("privileges_refused")).toBe(1);
  });
});

describe("the connect burst counts from the handshake", () => {
  const grant = { ns: "urn:xmpp:privilege:2", perms: { presence: "managed_entity" } };

  it("believes the server's advertisement after a slow connect (regression: a handshake slower than a second made the server's own advertisement 'not served', seen on a loaded CI run)", () => {
    let now = 0;
    const served = new ServedDomains({
      configured: () => [],
      component: () => "presence.localhost",
      now: () => now,
      quietMs: 1_000,
    });
    served.connecting();
    now += 5_000; // TCP connect, stream open and handshake on a loaded machine
    expect(served.advertisement("localhost", grant)).toBe(true);
    served.online();
    now += 500;
    expect(served.advertisement("example.test", grant)).toBe(true);
    now += 1_500; // quiet for longer than the burst may be
    expect(served.advertisement("evil.example", grant)).toBe(false);
    expect(served.serves("localhost")).toBe(true);
    expect(served.serves("evil.example")).toBe(false);
  });
});

describe("Prosody's real burst with two virtual hosts", () => {
  it("believes both hosts' advertisements when a presence of the other host comes between them (regression: seen on Prosody 0.12, the second host was 'not served')", async () => {
    const t = setup({ advertise: [] });
    t.server.connect();
    // What the daemon read from a real Prosody with localhost and example.test,
    // world@localhost online: the replay after one host's advertisement
    // carries every host's sessions.
    t.server.deliver(advertisement("example.test"));
    t.server.deliver(available("world@localhost/backend"));
    t.server.deliver(advertisement("localhost"));
    t.server.deliver(available("world@localhost/backend"));
    t.server.deliver(available("alice@localhost/phone"));
    t.server.deliver(available("dave@example.test/home"));
    await settle();
    expect(t.notified()).toEqual([
      { user: "alice@localhost/phone", presence: "available" },
      { user: "dave@example.test/home", presence: "available" },
    ]);
    expect(t.service.counters.get("privileges_refused")).toBe(0);
  });
});
