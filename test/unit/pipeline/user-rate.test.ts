import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { settle } from "../../support/memory-link.js";
import { available, setup, unavailable } from "./setup.js";

// notify.user_rate: one noisy user cannot flood the server user, nor hold
// other users up, and the final state is always right.

async function tick(t: ReturnType<typeof setup>, ms: number) {
  for (let i = 0; i < ms / 50; i++) {
    t.clock.increment(50);
    await settle(2);
  }
}

describe("per-user rate limit", () => {
  it("holds one user's excess without holding up another user", async () => {
    const t = setup({ notify: { userRate: 2 } });
    t.server.connect();
    for (let i = 0; i < 6; i++) t.server.deliver(available(`noisy@localhost/${i}`));
    t.server.deliver(available("quiet@localhost/r"));
    await settle();
    expect(t.notified().map((n) => n.user)).toEqual([
      "noisy@localhost/0",
      "noisy@localhost/1",
      "quiet@localhost/r",
    ]);
    await tick(t, 1_000);
    expect(t.notified()).toHaveLength(5);
    await tick(t, 1_000);
    expect(
      t
        .notified()
        .map((n) => n.user)
        .slice(3),
    ).toEqual([2, 3, 4, 5].map((i) => `noisy@localhost/${i}`));
  });

  it("always ends with each session's real state (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 400 })), {
          minLength: 1,
          maxLength: 40,
        }),
        async (steps) => {
          const t = setup({ notify: { userRate: 3 } });
          t.server.connect();
          const online = [false, false, false];
          for (const [session, gap] of steps) {
            online[session] = !online[session];
            const jid = `u@localhost/${session}`;
            t.server.deliver(online[session] ? available(jid) : unavailable(jid));
            await tick(t, gap - (gap % 50));
          }
          await tick(t, 20_000);
          for (const session of [0, 1, 2]) {
            const seen = t.notified().filter((n) => n.user === `u@localhost/${session}`);
            seen.forEach((n, i) => {
              expect(n.presence).toBe(i % 2 === 0 ? "available" : "unavailable");
            });
            expect(seen.at(-1)?.presence ?? "unavailable").toBe(
              online[session] ? "available" : "unavailable",
            );
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
