import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LruMap } from "../../../src/collections/lru-map.js";

describe("LruMap", () => {
  it("evicts the least recently set key first", () => {
    const lru = new LruMap<string, number>(2);
    lru.set("a", 1);
    lru.set("b", 2);
    lru.set("a", 3);
    lru.set("c", 4);
    expect([...lru.keys()]).toEqual(["a", "c"]);
    expect(lru.get("b")).toBeUndefined();
    expect(lru.get("a")).toBe(3);
  });

  it("keeps a key its owner says may not go, over the limit until it may", () => {
    const pinned = new Set(["a"]);
    const lru = new LruMap<string, number>(1, (k) => !pinned.has(k));
    lru.set("a", 1);
    lru.set("b", 2);
    expect(lru.size).toBe(2);
    pinned.clear();
    lru.set("c", 3);
    expect([...lru.keys()]).toEqual(["b", "c"]);
  });

  it("agrees with a list in recency order (property)", () => {
    const op = fc.oneof(
      fc.record({ set: fc.integer({ min: 0, max: 6 }), value: fc.nat() }),
      fc.record({ del: fc.integer({ min: 0, max: 6 }) }),
      fc.record({ get: fc.integer({ min: 0, max: 6 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(op, { maxLength: 60 }), (limit, ops) => {
        const lru = new LruMap<number, number>(limit);
        let model: [number, number][] = [];
        for (const o of ops) {
          if ("set" in o) {
            model = [...model.filter(([k]) => k !== o.set), [o.set, o.value]];
            if (model.length > limit) model = model.slice(1);
            lru.set(o.set, o.value);
          } else if ("del" in o) {
            const had = model.some(([k]) => k === o.del);
            model = model.filter(([k]) => k !== o.del);
            expect(lru.delete(o.del)).toBe(had);
          } else {
            expect(lru.get(o.get)).toBe(model.find(([k]) => k === o.get)?.[1]);
          }
          expect([...lru.keys()]).toEqual(model.map(([k]) => k));
          expect(lru.size).toBe(model.length);
        }
      }),
      { numRuns: 300 },
    );
  });
});
