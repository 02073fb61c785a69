import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SHARDS, ShardedMap, shardIndex } from "../../../src/collections/sharded-map.js";

describe("ShardedMap", () => {
  it("holds what a Map holds, whatever is set and deleted (property)", () => {
    const key = fc.string({ maxLength: 6 });
    const op = fc.oneof(
      fc.record({ set: key, value: fc.integer() }),
      fc.record({ last: key, value: fc.integer() }),
      fc.record({ del: key }),
      fc.record({ get: key }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 100 }), (ops) => {
        const sharded = new ShardedMap<number>();
        const model = new Map<string, number>();
        for (const o of ops) {
          if ("set" in o) {
            sharded.set(o.set, o.value);
            model.set(o.set, o.value);
          } else if ("last" in o) {
            sharded.setLast(o.last, o.value);
            model.delete(o.last);
            model.set(o.last, o.value);
            const shard = [...sharded.shardOf(o.last).keys()];
            expect(shard.at(-1)).toBe(o.last);
          } else if ("del" in o) {
            expect(sharded.delete(o.del)).toBe(model.delete(o.del));
          } else {
            expect(sharded.get(o.get)).toBe(model.get(o.get));
            expect(sharded.has(o.get)).toBe(model.has(o.get));
          }
          expect(sharded.size).toBe(model.size);
        }
        expect(new Map(sharded.entries())).toEqual(model);
        expect(new Set(sharded.keys())).toEqual(new Set(model.keys()));
      }),
      { numRuns: 300 },
    );
  });

  it("spreads session JIDs evenly over the shards", () => {
    const counts = new Array<number>(SHARDS).fill(0);
    const n = 64_000;
    for (let i = 0; i < n; i++) {
      const shard = shardIndex(`flux.actor.${i}@world.example.com/sim-${i % 7}`);
      counts[shard] = (counts[shard] ?? 0) + 1;
    }
    // 1,000 expected in each; a skewed hash would put far more in some.
    expect(Math.max(...counts)).toBeLessThan(1_150);
    expect(Math.min(...counts)).toBeGreaterThan(850);
  });
});
