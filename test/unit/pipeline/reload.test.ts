import { describe, expect, it } from "vitest";
import { settle } from "../../support/memory-link.js";
import { available, setup, unavailable } from "./setup.js";

// A reload (SIGHUP) changes the filters, read on every presence, and retunes
// the limits in place: notify.max_rate, notify.flap_window and
// notify.user_rate change without rebuilding the pipeline, and whatever an
// old limit was holding back is not lost.

const LIVENESS_OFF = { intervalMs: 30_000, timeoutMs: 10_000, maxRate: 0 };

const users = (n: number, user = "u") =>
  Array.from({ length: n }, (_, i) => `${user}${i}@localhost/r`);

describe("limits changed by a reload", () => {
  it("max_rate: turning the cap off sends what waited behind it at once", async () => {
    const t = setup({ notify: { maxRate: 1 } });
    t.server.connect();
    for (const jid of users(4)) t.server.deliver(available(jid));
    await settle();
    expect(t.notified()).toHaveLength(1);
    t.reload({ notify: { maxRate: 0 } });
    await settle();
    expect(t.notified().map((n) => n.user)).toEqual(users(4));
  });

  it("max_rate: a higher cap wakes the notifier without waiting out the old token", async () => {
    const t = setup({ notify: { maxRate: 1 } });
    t.server.connect();
    for (const jid of users(3)) t.server.deliver(available(jid));
    await settle();
    expect(t.notified()).toHaveLength(1);
    t.reload({ notify: { maxRate: 100 } }); // burst of 10: the two waiting go now
    await settle();
    expect(t.notified()).toHaveLength(3);
  });

  it("flap_window: turning damping off queues what waits, and later changes pass straight through", async () => {
    const t = setup({ notify: { flapWindowMs: 60_000 } });
    t.server.connect();
    t.server.deliver(available("a@localhost/r"));
    await settle();
    expect(t.notified()).toEqual([]);
    t.reload({ notify: { flapWindowMs: 0, userRate: 0 }, liveness: LIVENESS_OFF });
    await settle();
    expect(t.notified()).toEqual([{ user: "a@localhost/r", presence: "available" }]);
    t.server.deliver(available("b@localhost/r"));
    await settle();
    expect(t.notified()).toHaveLength(2);
  });

  it("flap_window: turning damping on holds new changes for the window", async () => {
    const t = setup();
    t.server.connect();
    t.reload({ notify: { flapWindowMs: 2_000, userRate: 0 }, liveness: LIVENESS_OFF });
    t.server.deliver(available("a@localhost/r"));
    await settle();
    expect(t.notified()).toEqual([]);
    t.clock.increment(2_000);
    await settle();
    expect(t.notified()).toHaveLength(1);
  });

  it("user_rate: turning the limit on holds a noisy user's excess; off releases it", async () => {
    const t = setup();
    t.server.connect();
    t.reload({ notify: { flapWindowMs: 0, userRate: 1 }, liveness: LIVENESS_OFF });
    for (let i = 0; i < 3; i++) t.server.deliver(available(`noisy@localhost/${i}`));
    await settle();
    expect(t.notified()).toHaveLength(1);
    t.reload({ notify: { flapWindowMs: 0, userRate: 0 }, liveness: LIVENESS_OFF });
    await settle();
    expect(t.notified().map((n) => n.user)).toEqual([0, 1, 2].map((i) => `noisy@localhost/${i}`));
  });

  it("user_rate: a new rate applies to notifications already waiting", async () => {
    const t = setup({ notify: { userRate: 1 }, liveness: LIVENESS_OFF });
    t.server.connect();
    for (let i = 0; i < 4; i++) t.server.deliver(available(`noisy@localhost/${i}`));
    await settle();
    expect(t.notified()).toHaveLength(1);
    t.reload({ notify: { flapWindowMs: 0, userRate: 10 }, liveness: LIVENESS_OFF }); // buckets restart full
    await settle();
    expect(t.notified()).toHaveLength(4);
  });
});

describe("filters changed by a reload", () => {
  it("a narrower include stops new sessions but follows tracked ones to their end", async () => {
    const t = setup();
    t.server.connect();
    t.server.deliver(available("alice@localhost/r"));
    await settle();
    t.reload({ notify: { include: ["flux.*"] } });
    t.server.deliver(available("bob@localhost/r"));
    t.server.deliver(available("flux.1@localhost/r"));
    // alice's show change is no news; her going away is.
    t.server.deliver(available("alice@localhost/r", "<show>away</show>"));
    t.server.deliver(unavailable("alice@localhost/r"));
    // Untracked now, so filtered like anyone else.
    t.server.deliver(available("alice@localhost/r"));
    await settle();
    expect(t.notified()).toEqual([
      { user: "alice@localhost/r", presence: "available" },
      { user: "flux.1@localhost/r", presence: "available" },
      { user: "alice@localhost/r", presence: "unavailable" },
    ]);
  });

  it("a wider include admits sessions at their next presence, without touching tracked ones", async () => {
    const t = setup({ notify: { include: ["alice"] } });
    t.server.connect();
    t.server.deliver(available("alice@localhost/r"));
    t.server.deliver(available("bob@localhost/r"));
    await settle();
    t.reload({ notify: { include: ["*"] } });
    t.server.deliver(available("alice@localhost/r", "<show>dnd</show>"));
    t.server.deliver(available("bob@localhost/r", "<show>dnd</show>"));
    await settle();
    expect(t.notified()).toEqual([
      { user: "alice@localhost/r", presence: "available" },
      { user: "bob@localhost/r", presence: "available" },
    ]);
  });
});

describe("liveness checks changed by a reload", () => {
  const pingsTo = (t: ReturnType<typeof setup>) =>
    t.server.sent
      .filter((s) => s.name === "iq" && s.getChild("ping", "urn:xmpp:ping"))
      .map((s) => s.attrs.to);

  it("turning the checks on pings sessions quiet since before the reload; off stops them", async () => {
    const t = setup(); // liveness off (max_rate 0)
    t.server.connect();
    t.server.deliver(available("dead@localhost/r"));
    await settle();
    t.clock.increment(60_000);
    await settle();
    expect(pingsTo(t)).toEqual([]);
    t.reload({
      notify: { flapWindowMs: 0, userRate: 0 },
      liveness: { intervalMs: 30_000, timeoutMs: 1_000, maxRate: 100 },
    });
    t.clock.increment(100);
    await settle();
    expect(pingsTo(t)).toEqual(["dead@localhost/r"]);
    expect(t.notified().at(-1)).toEqual({ user: "dead@localhost/r", presence: "unavailable" });
    t.server.deliver(available("quiet@localhost/r"));
    t.reload({ notify: { flapWindowMs: 0, userRate: 0 }, liveness: LIVENESS_OFF });
    t.clock.increment(120_000);
    await settle();
    expect(pingsTo(t)).toEqual(["dead@localhost/r"]);
  });

  it("a shorter interval applies to sessions already tracked", async () => {
    const t = setup({ liveness: { intervalMs: 60_000, timeoutMs: 1_000, maxRate: 100 } });
    t.server.connect();
    t.server.deliver(available("live@localhost/r"));
    t.server.liveSessions.add("live@localhost/r");
    await settle();
    t.reload({
      notify: { flapWindowMs: 0, userRate: 0 },
      liveness: { intervalMs: 5_000, timeoutMs: 1_000, maxRate: 100 },
    });
    t.clock.increment(5_100);
    await settle();
    expect(pingsTo(t)).toEqual(["live@localhost/r"]);
  });

  it("is ignored once the service is closed (the daemon is stopping)", async () => {
    const t = setup();
    t.server.connect();
    t.server.deliver(available("a@localhost/r"));
    t.service.close();
    t.reload({
      notify: { flapWindowMs: 0, userRate: 0 },
      liveness: { intervalMs: 1_000, timeoutMs: 1_000, maxRate: 100 },
    });
    t.clock.increment(10_000);
    await settle();
    expect(pingsTo(t)).toEqual([]);
  });
});
