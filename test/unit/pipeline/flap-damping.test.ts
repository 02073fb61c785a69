import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { settle } from "../../support/memory-link.js";
import { available, setup, unavailable } from "./setup.js";

// notify.flap_window: storms from one session are damped, and the server
// user never ends with a wrong view of it.

describe("flap damping", () => {
  it("drops a flip and its flip back within the window, and sends a change that holds", async () => {
    const t = setup({ notify: { flapWindowMs: 2_000 } });
    t.server.connect();
    t.server.deliver(available("a@localhost/r"));
    t.clock.increment(2_000);
    await settle();
    expect(t.notified()).toEqual([{ user: "a@localhost/r", presence: "available" }]);
    // Gone for half a second, then back: nothing for the consumer to see.
    t.server.deliver(unavailable("a@localhost/r"));
    t.clock.increment(500);
    t.server.deliver(available("a@localhost/r"));
    t.clock.increment(5_000);
    await settle();
    expect(t.notified()).toHaveLength(1);
    expect(t.service.counters.get("notifications_damped")).toBe(2);
    // Gone for good.
    t.server.deliver(unavailable("a@localhost/r"));
    t.clock.increment(2_000);
    await settle();
    expect(t.notified().at(-1)).toEqual({ user: "a@localhost/r", presence: "unavailable" });
  });

  it("never leaves the server user with a wrong final state (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        // A storm: flips with random gaps (ms), some shorter than the window.
        fc.array(fc.integer({ min: 0, max: 3_000 }), { minLength: 1, maxLength: 30 }),
        async (gaps) => {
          const t = setup({ notify: { flapWindowMs: 1_000 } });
          t.server.connect();
          let online = false;
          for (const gap of gaps) {
            online = !online;
            t.server.deliver(online ? available("s@localhost/r") : unavailable("s@localhost/r"));
            t.clock.increment(gap);
          }
          t.clock.increment(1_000); // quiet for the window
          await settle();
          const seen = t.notified().map((n) => n.presence);
          // Still alternating, starting with available, and ending where the session is.
          seen.forEach((p, i) => {
            expect(p).toBe(i % 2 === 0 ? "available" : "unavailable");
          });
          expect(seen.at(-1) ?? "unavailable").toBe(online ? "available" : "unavailable");
        },
      ),
      { numRuns: 200 },
    );
    // 200 pipelines: about 2 s alone, past vitest's 5 s default on two loaded cores.
  }, 30_000);
});
