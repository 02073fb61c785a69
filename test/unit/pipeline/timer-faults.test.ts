import { describe, expect, it } from "vitest";
import { settle } from "../../support/memory-link.js";
import { available, setup, unavailable } from "./setup.js";

// Issue #15, "timers have an owner": a throw injected into one timer callback
// of each mechanism (the service's `faults.timers`, which no configuration
// reaches) is reported like a supervised crash, never reaches the event loop,
// and the mechanism still does its job.

/** A fault hook that throws the first `times` callbacks of `mechanism`. */
function failing(mechanism: string, times = 1) {
  let left = times;
  return (m: string) => {
    if (m === mechanism && left-- > 0) throw new Error(`injected into ${m}`);
  };
}

async function advance(t: ReturnType<typeof setup>, ms: number, step = 500) {
  for (let done = 0; done < ms; done += step) {
    t.clock.increment(step);
    await settle();
  }
}

const crashLines = (t: ReturnType<typeof setup>, child: string) =>
  t.records.filter((r) => r.supervisor === "timers" && r.child === child);

describe("timers have an owner", () => {
  it("liveness: a tick that throws is reported and the checks go on", async () => {
    const t = setup({
      liveness: { intervalMs: 10_000, timeoutMs: 5_000, maxRate: 200 },
      faults: { timers: failing("liveness", 3) },
    });
    t.server.connect();
    t.server.deliver(available("dead@localhost/r"));
    await advance(t, 20_000);
    expect(t.notified().at(-1)).toEqual({ user: "dead@localhost/r", presence: "unavailable" });
    expect(crashLines(t, "liveness")[0]).toMatchObject({
      reason: { message: "injected into liveness" },
      restarts: 1,
    });
    expect(t.service.counters.get("timer_failures")).toBe(3);
  });

  it("resync: a settle that throws still settles, and the departure during the outage is reported", async () => {
    const t = setup({ faults: { timers: failing("resync") } });
    t.server.connect();
    t.server.deliver(available("stays@localhost/r"));
    t.server.deliver(available("leaves@localhost/r"));
    t.server.liveSessions.add("stays@localhost/r");
    await settle();
    t.server.drop();
    t.server.connect(); // nothing replayed: each unconfirmed session is pinged
    await advance(t, 5_000);
    expect(t.notified().at(-1)).toEqual({ user: "leaves@localhost/r", presence: "unavailable" });
    expect(t.notified().filter((n) => n.presence === "unavailable")).toHaveLength(1);
    expect(crashLines(t, "resync")).toHaveLength(1);
  });

  it("pings: a ping timeout that throws still times out, and two make the session gone", async () => {
    const t = setup({
      liveness: { intervalMs: 10_000, timeoutMs: 5_000, maxRate: 200 },
      faults: { timers: failing("pings") },
    });
    t.server.connect();
    t.server.silentSessions.add("mute@localhost/r");
    t.server.deliver(available("mute@localhost/r"));
    await advance(t, 40_000);
    expect(t.notified().at(-1)).toEqual({ user: "mute@localhost/r", presence: "unavailable" });
    expect(crashLines(t, "pings")).toHaveLength(1);
  });

  it("held mail: a retry that throws runs again, and the held notification is delivered", async () => {
    const t = setup({ faults: { timers: failing("held_mail") } });
    t.server.offline.add("world@localhost");
    t.server.connect();
    t.server.deliver(available("u@localhost/r"));
    await settle();
    expect(t.service.outbox.held.size).toBe(1);
    t.server.offline.delete("world@localhost"); // back, but says nothing: the retry timer must do it
    await advance(t, 10_000);
    expect(t.notified()).toEqual([{ user: "u@localhost/r", presence: "available" }]);
    expect(crashLines(t, "held_mail")).toHaveLength(1);
  });

  it("receipts: an expiry that throws runs again, and the unacknowledged notification is sent again", async () => {
    const t = setup({
      notify: { receiptTimeoutMs: 5_000 },
      faults: { timers: failing("receipts") },
    });
    t.server.connect();
    t.server.swallow = true;
    t.server.deliver(available("u@localhost/r"));
    await settle();
    t.server.swallow = false;
    t.server.answersReceipts.add("world@localhost");
    await advance(t, 15_000);
    expect(t.notified()).toEqual([{ user: "u@localhost/r", presence: "available" }]);
    expect(t.service.outbox.awaiting?.size).toBe(0);
    expect(crashLines(t, "receipts")).toHaveLength(1);
  });

  it("send rate: a wake-up that throws runs again, and every queued notification goes out in order", async () => {
    const t = setup({ notify: { maxRate: 2 }, faults: { timers: failing("send_rate") } });
    t.server.connect();
    for (const r of ["a", "b", "c", "d", "e"]) t.server.deliver(available(`u@localhost/${r}`));
    await advance(t, 10_000, 100);
    expect(t.notified().map((n) => n.user)).toEqual(
      ["a", "b", "c", "d", "e"].map((r) => `u@localhost/${r}`),
    );
    expect(crashLines(t, "send_rate")).toHaveLength(1);
  });

  it("per-user rate: a release that throws runs again; nothing lost, order kept", async () => {
    const t = setup({ notify: { userRate: 1 }, faults: { timers: failing("user_rate") } });
    t.server.connect();
    for (const r of ["a", "b", "c"]) t.server.deliver(available(`u@localhost/${r}`));
    await advance(t, 10_000, 100);
    expect(t.notified().map((n) => n.user)).toEqual(["a", "b", "c"].map((r) => `u@localhost/${r}`));
    expect(crashLines(t, "user_rate")).toHaveLength(1);
  });

  it("flap damper: a window's end that throws runs again; the change that held goes out once", async () => {
    const t = setup({
      notify: { flapWindowMs: 1_000 },
      faults: { timers: failing("flap_damper") },
    });
    t.server.connect();
    t.server.deliver(available("u@localhost/r"));
    await advance(t, 5_000);
    t.server.deliver(unavailable("u@localhost/r"));
    await advance(t, 5_000);
    expect(t.notified()).toEqual([
      { user: "u@localhost/r", presence: "available" },
      { user: "u@localhost/r", presence: "unavailable" },
    ]);
    expect(crashLines(t, "flap_damper")).toHaveLength(1);
  });
});
