import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fullBucket, refill, take } from "../../../src/collections/token-bucket.js";
import { settle } from "../../support/memory-link.js";
import { available, setup } from "./setup.js";

// Liveness: quiet sessions are pinged (XEP-0199), dead ones reported,
// pings spread at a bounded rate. Time is the simulated clock.

const pingsTo = (t: ReturnType<typeof setup>) =>
  t.server.sent.filter((s) => s.name === "iq" && s.getChild("ping", "urn:xmpp:ping"));

describe("liveness checks", () => {
  it("reports a quiet session whose ping gets service-unavailable", async () => {
    const t = setup({ liveness: { intervalMs: 30_000, timeoutMs: 10_000, maxRate: 200 } });
    t.server.connect();
    t.server.deliver(available("dead@localhost/r"));
    t.server.deliver(available("live@localhost/r"));
    t.server.liveSessions.add("live@localhost/r");
    await settle();
    t.clock.increment(29_900);
    await settle();
    expect(pingsTo(t)).toEqual([]);
    t.clock.increment(200);
    await settle();
    expect(
      pingsTo(t)
        .map((p) => p.attrs.to)
        .sort(),
    ).toEqual(["dead@localhost/r", "live@localhost/r"]);
    expect(t.notified()).toEqual([
      { user: "dead@localhost/r", presence: "available" },
      { user: "live@localhost/r", presence: "available" },
      { user: "dead@localhost/r", presence: "unavailable" },
    ]);
    // The live one is checked again one interval later, the dead one never.
    t.clock.increment(30_000);
    await settle();
    expect(pingsTo(t).map((p) => p.attrs.to)).toHaveLength(3);
    expect(pingsTo(t).at(-1)?.attrs.to).toBe("live@localhost/r");
  });

  it("does not ping a session that showed signs of life", async () => {
    const t = setup({ liveness: { intervalMs: 10_000, timeoutMs: 5_000, maxRate: 200 } });
    t.server.connect();
    t.server.deliver(available("chatty@localhost/r"));
    for (let i = 0; i < 5; i++) {
      t.clock.increment(6_000);
      t.server.deliver(available("chatty@localhost/r", "<show>away</show>"));
      await settle();
    }
    expect(pingsTo(t)).toEqual([]);
  });

  it("reports a session that misses two answers in a row", async () => {
    const t = setup({ liveness: { intervalMs: 10_000, timeoutMs: 5_000, maxRate: 200 } });
    t.server.connect();
    t.server.deliver(available("mute@localhost/r"));
    await settle();
    t.server.send = async (el) => {
      t.server.sent.push(el); // a server that swallows pings
    };
    t.clock.increment(10_100);
    await settle();
    t.clock.increment(5_000);
    await settle();
    expect(pingsTo(t)).toHaveLength(2);
    expect(t.service.intake.registry.stateOf("mute@localhost/r").presence).toBe("available");
    t.clock.increment(5_000);
    await settle();
    expect(t.service.intake.registry.stateOf("mute@localhost/r").presence).toBe("offline");
  });

  it("spreads pings at no more than max_rate, however many sessions are due", async () => {
    const t = setup({ liveness: { intervalMs: 10_000, timeoutMs: 5_000, maxRate: 50 } });
    t.server.connect();
    for (let i = 0; i < 1_000; i++) {
      t.server.liveSessions.add(`u${i}@localhost/r`);
      t.server.deliver(available(`u${i}@localhost/r`));
    }
    await settle();
    t.clock.increment(10_000);
    const perSecond: number[] = [];
    for (let s = 0; s < 5; s++) {
      const before = pingsTo(t).length;
      for (let tick = 0; tick < 10; tick++) {
        t.clock.increment(100);
        await settle(2);
      }
      perSecond.push(pingsTo(t).length - before);
    }
    // 50 a second, plus at most one tick's banked burst in the first second.
    for (const n of perSecond) expect(n).toBeLessThanOrEqual(55);
    expect(perSecond.slice(1).every((n) => n >= 45)).toBe(true);
    expect(t.service.intake.registry.size).toBe(1_000); // all alive: no one reported gone
  });

  it("does nothing with max_rate = 0", async () => {
    const t = setup({ liveness: { intervalMs: 1_000, timeoutMs: 500, maxRate: 0 } });
    t.server.connect();
    t.server.deliver(available("a@localhost/r"));
    t.clock.increment(60_000);
    await settle();
    expect(pingsTo(t)).toEqual([]);
  });
});

describe("token bucket", () => {
  it("never grants more than rate x time + burst", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.integer({ min: 0, max: 500 }), { maxLength: 200 }),
        (rate, burst, steps) => {
          let bucket = fullBucket(burst, 0);
          let now = 0;
          let granted = 0;
          for (const step of steps) {
            now += step;
            bucket = refill(bucket, now, rate, burst);
            const next = take(bucket);
            if (next) {
              bucket = next;
              granted++;
            }
          }
          expect(granted).toBeLessThanOrEqual(Math.floor((rate * now) / 1000) + burst);
        },
      ),
    );
  });
});

describe("verification after a reconnect with liveness on", () => {
  it("pings the unconfirmed sessions first, within max_rate, and confirms the live ones", async () => {
    const t = setup({ liveness: { intervalMs: 30_000, timeoutMs: 5_000, maxRate: 20 } });
    t.server.connect();
    for (let i = 0; i < 40; i++) t.server.deliver(available(`u${i}@localhost/r`));
    for (let i = 0; i < 30; i++) t.server.liveSessions.add(`u${i}@localhost/r`);
    await settle();
    t.server.drop();
    t.server.connect(); // nothing replayed: all 40 are pinged, 20 a second
    t.clock.increment(1_000);
    await settle();
    for (let tick = 0; tick < 10; tick++) {
      t.clock.increment(100);
      await settle(2);
    }
    expect(pingsTo(t).length).toBeLessThanOrEqual(22);
    for (let tick = 0; tick < 20; tick++) {
      t.clock.increment(100);
      await settle(2);
    }
    expect(pingsTo(t)).toHaveLength(40);
    expect(t.service.intake.registry.counts()).toMatchObject({ available: 30, unconfirmed: 0 });
    expect(t.notified().filter((n) => n.presence === "unavailable")).toHaveLength(10);
  });
});
