import { describe, expect, it } from "vitest";
import { settle } from "../../support/memory-link.js";
import { available, setup, unavailable } from "./setup.js";

describe("presence pipeline", () => {
  it("notifies available and unavailable, not a show change", async () => {
    const t = setup();
    t.server.connect();
    t.server.deliver(available("alice@localhost/phone"));
    t.server.deliver(available("alice@localhost/phone", "<show>away</show>"));
    t.server.deliver(unavailable("alice@localhost/phone"));
    await settle();
    expect(t.notified()).toEqual([
      { user: "alice@localhost/phone", presence: "available" },
      { user: "alice@localhost/phone", presence: "unavailable" },
    ]);
    expect(t.server.messages().map((m) => m.attrs.to)).toEqual([
      "world@localhost",
      "world@localhost",
    ]);
  });

  it("never notifies the server user about itself, nor filtered or foreign users", async () => {
    const t = setup({ notify: { include: ["flux.actor.*"], domains: ["localhost"] } });
    t.server.connect();
    t.server.deliver(available("world@localhost/backend"));
    t.server.deliver(available("bob@localhost/x"));
    t.server.deliver(available("flux.actor.1@elsewhere/x"));
    t.server.deliver(available("flux.actor.1@localhost/x"));
    await settle();
    expect(t.notified()).toEqual([{ user: "flux.actor.1@localhost/x", presence: "available" }]);
    expect(t.service.counters.get("presence_filtered")).toBe(2);
    expect(t.service.counters.get("presence_rejected")).toBe(1);
  });

  it("counts and logs hostile stanzas without notifying or stopping", async () => {
    const t = setup();
    t.server.connect();
    t.server.deliver(`<presence from="localhost"/>`);
    t.server.deliver(`<presence type="weird" from="a@localhost/r"/>`);
    t.server.deliver(`<presence from="a@localhost"/>`);
    t.server.deliver(`<iq type="result" id="not-ours" from="a@localhost/r"/>`);
    t.server.deliver(available("ok@localhost/r"));
    await settle();
    expect(t.notified()).toEqual([{ user: "ok@localhost/r", presence: "available" }]);
    expect(t.service.counters.get("presence_rejected")).toBe(3);
    expect(t.records.some((r) => r.msg === "presence rejected")).toBe(true);
  });

  it("keeps notifications while the link is down and flushes them in order", async () => {
    const t = setup();
    t.server.connect();
    t.server.drop();
    for (let i = 0; i < 5; i++) t.server.deliver(available(`u${i}@localhost/r`));
    await settle();
    expect(t.notified()).toEqual([]);
    expect(t.service.outbox.mailbox.size).toBe(5);
    t.server.connect();
    await settle();
    expect(t.notified().map((a) => a.user)).toEqual(
      [0, 1, 2, 3, 4].map((i) => `u${i}@localhost/r`),
    );
    expect(t.service.outbox.mailbox.size).toBe(0);
  });

  it("logs presence_notify_error and keeps the notification when a send fails", async () => {
    const t = setup();
    t.server.connect();
    t.server.failSends = true;
    t.server.deliver(available("alice@localhost/r"));
    await settle();
    expect(t.service.outbox.mailbox.size).toBe(1);
    const errors = t.records.filter((r) => r.event === "presence_notify_error");
    expect(errors[0]).toMatchObject({
      user: "alice@localhost/r",
      presence: "available",
      to: "world@localhost",
    });
    t.server.failSends = false;
    t.server.drop();
    t.server.connect();
    await settle();
    expect(t.notified()).toEqual([{ user: "alice@localhost/r", presence: "available" }]);
  });
});

describe("XEP-0356 advertisement", () => {
  it("logs the permissions granted and warns when presence permission is missing", async () => {
    const t = setup({ advertise: [] });
    t.server.connect();
    t.server.deliver(
      `<message from="localhost"><privilege xmlns="urn:xmpp:privilege:1"><perm access="presence" type="roster"/></privilege></message>`,
    );
    await settle();
    expect(t.records.find((r) => r.msg === "privileges granted by the server")).toMatchObject({
      namespace: "urn:xmpp:privilege:1",
      perms: { presence: "roster" },
    });
    expect(
      t.records.some((r) => r.level === 40 && String(r.msg).includes("presence=managed_entity")),
    ).toBe(true);
    expect(t.service.privileges()?.ns).toBe("urn:xmpp:privilege:1");
  });
});

describe("mailbox.max_age", () => {
  it("drops notifications that waited longer than max_age, counted and logged, and sends the rest", async () => {
    const t = setup({ mailbox: { maxAgeMs: 60_000 } });
    t.server.connect();
    t.server.drop();
    t.server.deliver(available("old@localhost/r"));
    t.clock.increment(45_000);
    t.server.deliver(available("new@localhost/r"));
    t.clock.increment(30_000);
    t.server.connect();
    await settle();
    expect(t.notified()).toEqual([{ user: "new@localhost/r", presence: "available" }]);
    expect(t.service.counters.get("notifications_expired")).toBe(1);
    expect(t.records.find((r) => r.event === "presence_notify_error")).toMatchObject({
      user: "old@localhost/r",
      ageMs: 75_000,
    });
  });
});

describe("notify.max_rate", () => {
  it("spreads sends at the cap and keeps the rest queued, in order, dropping nothing", async () => {
    const t = setup({ notify: { maxRate: 20 } });
    t.server.connect();
    for (let i = 0; i < 90; i++) t.server.deliver(available(`u${i}@localhost/r`));
    await settle();
    const perSecond: number[] = [];
    let before = t.notified().length;
    for (let second = 0; second < 3; second++) {
      for (let tick = 0; tick < 20; tick++) {
        t.clock.increment(50);
        await settle(3);
      }
      perSecond.push(t.notified().length - before);
      before = t.notified().length;
    }
    // 20 a second, after the first tenth of a second's worth at once.
    for (const n of perSecond) expect(n).toBeLessThanOrEqual(22);
    expect(perSecond.every((n) => n >= 18)).toBe(true);
    for (let tick = 0; tick < 40; tick++) {
      t.clock.increment(50);
      await settle(3);
    }
    expect(t.notified().map((n) => n.user)).toEqual(
      Array.from({ length: 90 }, (_, i) => `u${i}@localhost/r`),
    );
  });
});

describe('notify.sequence = "session"', () => {
  it("numbers each session's notifications, across its comings and goings", async () => {
    const t = setup({ notify: { sequence: "session" } });
    t.server.connect();
    t.server.deliver(available("a@localhost/r"));
    t.server.deliver(available("b@localhost/r"));
    t.server.deliver(unavailable("a@localhost/r"));
    t.server.deliver(available("a@localhost/r"));
    await settle();
    expect(t.notified()).toEqual([
      { user: "a@localhost/r", presence: "available", seq: 1 },
      { user: "b@localhost/r", presence: "available", seq: 1 },
      { user: "a@localhost/r", presence: "unavailable", seq: 2 },
      { user: "a@localhost/r", presence: "available", seq: 3 },
    ]);
  });

  it("is off by default: the original module's bytes", async () => {
    const t = setup();
    t.server.connect();
    t.server.deliver(available("a@localhost/r"));
    await settle();
    const text = t.server.messages()[0]?.getChild("event", "flux:xmpp")?.getText() ?? "";
    expect(Object.keys(JSON.parse(text).args)).toEqual(["user", "presence"]);
  });
});
