import { describe, expect, it } from "vitest";
import { SimulatedClock } from "xstate";
import type { SessionEvent } from "../../../src/machines/session.js";
import { Resync } from "../../../src/sessions/resync.js";
import { SessionRegistry } from "../../../src/sessions/session-registry.js";
import { Counters } from "../../../src/telemetry/counters.js";
import { Pinger } from "../../../src/xmpp/ping.js";
import { logSink } from "../../support/log-sink.js";
import { settle } from "../../support/memory-link.js";

// A settle step that throws is a bug in it, not the end of the resync: the
// machine reports it once with the fixed keys and runs the step again after
// a backoff, until it completes.

describe("a resync settle step that throws", () => {
  it("is reported and run again after 1 s, and the departure is still reported", async () => {
    const clock = new SimulatedClock();
    const registry = new SessionRegistry();
    const counters = new Counters();
    const { logger, records } = logSink();
    for (const jid of ["stays@localhost/r", "left@localhost/r"])
      registry.apply(jid, { type: "presence.available" });
    let failing = 1;
    const drive = (jid: string, event: SessionEvent) => {
      if (failing-- > 0) throw new Error("a bug in drive");
      registry.apply(jid, event);
    };
    const resync = new Resync({
      registry,
      drive,
      admit: () => {},
      pinger: new Pinger({
        clock,
        from: () => "presence.localhost",
        send: async () => {},
        timeoutMs: 10_000,
      }),
      liveness: { enabled: false, checkSoon: () => {} },
      clock,
      counters,
      logger,
      settleMs: 1_000,
      concurrency: 64,
    });
    resync.connecting();
    resync.advertised();
    resync.replayed("stays@localhost/r", true);
    registry.apply("stays@localhost/r", {
      type: "presence.available",
      delay: "2026-01-01T00:00:00Z",
    });
    resync.online();
    clock.increment(1_000);
    await settle(2);
    expect(registry.stateOf("left@localhost/r").presence).toBe("available");
    expect(records.filter((r) => r.supervisor === "resync")).toEqual([
      expect.objectContaining({
        level: 50,
        child: "settle",
        reason: expect.objectContaining({ message: "a bug in drive" }),
        restarts: 1,
      }),
    ]);
    expect(counters.get("resync_failures")).toBe(1);
    clock.increment(1_000);
    await settle(2);
    expect(registry.stateOf("left@localhost/r").presence).toBe("offline");
    expect(registry.stateOf("stays@localhost/r")).toMatchObject({ presence: "available" });
    expect(counters.get("resync_lost")).toBe(1);
  });
});
