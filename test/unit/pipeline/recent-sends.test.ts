import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RecentSends } from "../../../src/outbox/recent-sends.js";
import { type Notification, newNotification } from "../../../src/protocol/notification.js";

const note = (r: string): Notification =>
  newNotification({ full: `u@h/${r}`, bare: "u@h", domain: "h" }, "available", "world", 0);

describe("recent sends (what a bounce is logged with)", () => {
  it("keeps the last `limit` sends, gives each back once, also under its fwd- id", () => {
    const recent = new RecentSends(3);
    const sent = ["a", "b", "c", "d"].map((r) => [note(r)]);
    sent.forEach((s, i) => {
      recent.add(`id-${i}`, s);
    });
    expect(recent.take("id-0")).toEqual([]);
    expect(recent.take("fwd-id-1")).toBe(sent[1]);
    expect(recent.take("id-1")).toEqual([]);
    expect(recent.take("id-3")).toBe(sent[3]);
    expect(recent.take(undefined)).toEqual([]);
  });

  it("agrees with a list of the last `limit` sends, resends of an id included (property)", () => {
    const op = fc.oneof(
      fc.record({ add: fc.integer({ min: 0, max: 4 }) }),
      fc.record({ take: fc.integer({ min: 0, max: 4 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.array(op, { maxLength: 80 }), (limit, ops) => {
        const recent = new RecentSends(limit);
        // The model: every add in order; an entry counts while among the
        // last `limit` adds, is the newest for its id, and was not taken.
        const log: { id: string; sent: Notification[]; taken: boolean }[] = [];
        for (const o of ops) {
          if ("add" in o) {
            const entry = { id: `m${o.add}`, sent: [note(String(log.length))], taken: false };
            log.push(entry);
            recent.add(entry.id, entry.sent);
          } else {
            const id = `m${o.take}`;
            const live = log
              .slice(-limit)
              .filter((e) => e.id === id)
              .at(-1);
            const newest = log.filter((e) => e.id === id).at(-1);
            const expected = live && live === newest && !live.taken ? live.sent : [];
            for (const e of log) if (e.id === id) e.taken = true;
            expect(recent.take(id)).toEqual(expected);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
