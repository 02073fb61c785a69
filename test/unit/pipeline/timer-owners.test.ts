import { describe, expect, it } from "vitest";
import { SimulatedClock } from "xstate";
import { TimerGuard } from "../../../src/otp/timer-guard.js";
import { FlapDamper } from "../../../src/outbox/flap-damper.js";
import { UserRateLimiter } from "../../../src/outbox/user-rate.js";
import { Liveness } from "../../../src/sessions/liveness.js";
import { Counters } from "../../../src/telemetry/counters.js";
import { logSink } from "../../support/log-sink.js";

// Each mechanism's timers run on a TimerGuard clock (src/otp/timer-guard.ts):
// a throw in one of its callbacks is reported and the callback runs again.
// These tests pin what each mechanism must then still get right.

function guarded(fault?: (mechanism: string) => void) {
  const clock = new SimulatedClock();
  const counters = new Counters();
  const timers = new TimerGuard({
    clock,
    counters,
    logger: logSink().logger,
    ...(fault ? { fault } : {}),
  });
  return { clock, counters, timers };
}

/** A commit that throws its first `failures` times (a store error, a bug). */
function flakyCommits(failures: number) {
  const sent: string[] = [];
  let left = failures;
  const commit = (what: string) => () => {
    if (left-- > 0) throw new Error("commit failed");
    sent.push(what);
  };
  return { sent, commit };
}

describe("timers have an owner", () => {
  it("flap damper: a commit that throws is sent once when it runs again", () => {
    const { clock, timers } = guarded();
    const damper = new FlapDamper(timers.clock("flap_damper"), 500, new Counters());
    const { sent, commit } = flakyCommits(1);
    damper.offer("a@x/r", commit("available"));
    clock.increment(500); // throws
    clock.increment(1_000); // runs again
    clock.increment(60_000);
    expect(sent).toEqual(["available"]);
    expect(damper.waiting).toBe(0);
  });

  it("flap damper: a flip back while a failed commit waits to run again cancels both (regression: the reversal went out first, leaving the wrong state)", () => {
    const { clock, timers } = guarded();
    const damper = new FlapDamper(timers.clock("flap_damper"), 500, new Counters());
    const { sent, commit } = flakyCommits(1);
    damper.offer("a@x/r", commit("available"));
    clock.increment(500); // the commit throws; it runs again at 1,500
    clock.increment(100);
    damper.offer("a@x/r", commit("unavailable")); // the session went away again
    clock.increment(60_000);
    // Nothing was ever sent: the consumer's view (not there) is the truth.
    expect(sent).toEqual([]);
  });

  it("per-user rate: a release whose commit throws loses nothing and keeps the order", () => {
    const { clock, timers } = guarded();
    const limiter = new UserRateLimiter(timers.clock("user_rate"), 1, new Counters());
    const { sent, commit } = flakyCommits(1);
    limiter.offer("a@x", "a@x/1", () => sent.push("first")); // the burst's token
    limiter.offer("a@x", "a@x/2", commit("second")); // waits; throws when released
    limiter.offer("a@x", "a@x/3", () => sent.push("third"));
    for (let i = 0; i < 10; i++) clock.increment(1_000);
    expect(sent).toEqual(["first", "second", "third"]);
    expect(limiter.waiting).toBe(0);
  });

  it("liveness: a tick that throws does not end the checks (regression: the next tick was armed after the one that threw)", async () => {
    let failTicks = 1;
    const { clock, counters, timers } = guarded((mechanism) => {
      if (mechanism === "liveness" && failTicks-- > 0) throw new Error("injected");
    });
    const pinged: string[] = [];
    const liveness = new Liveness({
      clock: timers.clock("liveness"),
      ping: async (jid) => {
        pinged.push(jid);
        return "alive";
      },
      drive: () => {},
      online: () => true,
      canPing: () => true,
      counters,
      logger: logSink().logger,
      intervalMs: 10_000,
      maxRate: 10,
      tickMs: 100,
    });
    liveness.touch("a@x/r");
    liveness.start();
    for (let i = 0; i < 150; i++) {
      clock.increment(100);
      await Promise.resolve();
    }
    expect(counters.get("timer_failures")).toBe(1);
    expect(pinged).toContain("a@x/r");
    liveness.stop();
  });
});
