import { describe, expect, it } from "vitest";
import { SimulatedClock } from "xstate";
import { Linger } from "../../../src/outbox/linger.js";
import { settle } from "../../support/memory-link.js";

// How a live delivery loop waits for more mail (src/outbox/linger.ts), on a
// simulated clock.

function waiting(linger: Linger) {
  const result: { more?: boolean } = {};
  void linger.more().then((more) => {
    result.more = more;
  });
  return result;
}

describe("Linger", () => {
  it("resolves true at the next wake", async () => {
    const clock = new SimulatedClock();
    const linger = new Linger(clock, 1_000, new AbortController().signal);
    const w = waiting(linger);
    clock.increment(999);
    linger.wake();
    await settle(2);
    expect(w.more).toBe(true);
    expect(linger.woken).toBe(true);
  });

  it("resolves false once a whole period passed without a wake", async () => {
    const clock = new SimulatedClock();
    const linger = new Linger(clock, 1_000, new AbortController().signal);
    const w = waiting(linger);
    clock.increment(999);
    await settle(2);
    expect(w.more).toBeUndefined();
    clock.increment(1);
    await settle(2);
    expect(w.more).toBe(false);
  });

  it("keeps waiting while wakes keep coming: a period with one is not quiet", async () => {
    const clock = new SimulatedClock();
    const linger = new Linger(clock, 1_000, new AbortController().signal);
    waiting(linger);
    clock.increment(500);
    linger.wake();
    await settle(2);
    const w = waiting(linger);
    // The first period ends with a wake heard in it: one more period.
    clock.increment(500);
    await settle(2);
    expect(w.more).toBeUndefined();
    clock.increment(1_000);
    await settle(2);
    expect(w.more).toBe(false);
  });

  it("does not wait with a linger of 0, nor once aborted or closed, and tells its closers once", async () => {
    const clock = new SimulatedClock();
    expect(await new Linger(clock, 0, new AbortController().signal).more()).toBe(false);
    const abort = new AbortController();
    const linger = new Linger(clock, 1_000, abort.signal);
    let closed = 0;
    linger.onClose(() => closed++);
    const w = waiting(linger);
    abort.abort();
    await settle(2);
    expect(w.more).toBe(false);
    expect(await linger.more()).toBe(false);
    linger.close();
    expect(closed).toBe(1);
  });
});
