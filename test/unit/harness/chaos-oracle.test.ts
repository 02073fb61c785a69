import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { judge, type Note, type Truth } from "../../harness/chaos-oracle.js";
import { deck, Rng } from "../../harness/chaos-rng.js";

// The chaos run's judge (test/harness/chaos-oracle.ts) on hand-made
// notification lists: it must pass what a consumer can rebuild the truth
// from, and name every way of losing or forking it.

const truth = (online: Record<string, boolean>, flips?: Record<string, number>): Truth => ({
  online: () => new Map(Object.entries(online)),
  ...(flips === undefined ? {} : { flips: () => new Map(Object.entries(flips)) }),
});

let traces = 0;
const note = (user: string, presence: string, seq: number, trace = `t${traces++}`): Note => ({
  trace,
  user,
  presence,
  seq,
});

describe("the chaos oracle's judgement", () => {
  it("agrees with a story told in order, and one told out of order with resends", () => {
    const a = note("a@x/r", "available", 1);
    const b = note("a@x/r", "unavailable", 2);
    const c = note("a@x/r", "available", 3);
    expect(judge([a, b, c], truth({ "a@x/r": true }), "durable").diffs).toEqual([]);
    // A resend (same trace) arriving after a newer one: each trace once, by seq.
    expect(judge([a, c, b, b, a], truth({ "a@x/r": true }), "durable").diffs).toEqual([]);
  });

  it("names a gap, a fork (two announcements), a wrong ending and a missing transition", () => {
    const gap = [note("g@x/r", "available", 1), note("g@x/r", "available", 3)];
    const fork = [note("f@x/r", "available", 1), note("f@x/r", "available", 1)];
    const wrong = [note("w@x/r", "available", 1)];
    const diffs = judge(
      [...gap, ...fork, ...wrong],
      truth({ "g@x/r": true, "f@x/r": true, "w@x/r": false, "m@x/r": true }),
      "durable",
    ).diffs;
    expect(diffs.map((d) => d.split(":")[0])).toEqual(["f@x/r", "g@x/r", "m@x/r", "w@x/r"]);
    expect(diffs.find((d) => d.startsWith("m@x/r"))).toMatch(/view unavailable, truth online/);
  });

  it("with the transitions counted (broker route), fewer notifications than transitions is a loss", () => {
    const notes = [note("b@x/r", "available", 1)];
    expect(judge(notes, truth({ "b@x/r": true }, { "b@x/r": 3 }), "durable").diffs).toHaveLength(1);
    expect(judge(notes, truth({ "b@x/r": true }, { "b@x/r": 1 }), "durable").diffs).toEqual([]);
  });

  it("memory mode excuses differences only up to the losses the daemon counted", () => {
    const notes = [note("l@x/r", "available", 1)];
    const online = truth({ "l@x/r": false });
    expect(judge(notes, online, "memory", 0).diffs).toHaveLength(1);
    const excused = judge(notes, online, "memory", 1);
    expect(excused.diffs).toEqual([]);
    expect(excused.excused).toHaveLength(1);
    expect(judge(notes, online, "durable", 5).diffs).toHaveLength(1);
  });

  it("passes any session's flip story, however its resends are shuffled in", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 12 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (flips, shuffle) => {
          const story = Array.from({ length: flips }, (_, i) =>
            note("p@x/r", i % 2 === 0 ? "available" : "unavailable", i + 1),
          );
          const arrived = [...story];
          for (const k of shuffle)
            if (story.length > 0) arrived.push(story[k % story.length] as Note);
          arrived.sort(
            (x, y) =>
              (shuffle[(x.seq ?? 0) % (shuffle.length || 1)] ?? 0) -
              (shuffle[(y.seq ?? 0) % (shuffle.length || 1)] ?? 0),
          );
          const online = truth({ "p@x/r": flips % 2 === 1 });
          return judge(arrived, online, "durable").diffs.length === 0;
        },
      ),
    );
  });
});

describe("the chaos RNG", () => {
  it("replays the same draws from the same seed, and others from another", () => {
    const draws = (seed: number) => {
      const rng = new Rng(seed);
      return Array.from({ length: 50 }, () => rng.int(0, 1_000));
    };
    expect(draws(42)).toEqual(draws(42));
    expect(draws(42)).not.toEqual(draws(43));
  });

  it("draws weighted keys in proportion, never a zero-weight one", () => {
    const rng = new Rng(7);
    const counts = { a: 0, b: 0, never: 0 };
    for (let i = 0; i < 3_000; i++) counts[rng.weighted({ a: 1, b: 2, never: 0 })]++;
    expect(counts.never).toBe(0);
    expect(counts.b / counts.a).toBeGreaterThan(1.6);
    expect(counts.b / counts.a).toBeLessThan(2.5);
  });

  it("deals every fault kind with a weight once before drawing at random", () => {
    fc.assert(
      fc.property(fc.nat(), (seed) => {
        const next = deck(new Rng(seed), { a: 1, b: 5, c: 1, off: 0 });
        const pending = next.pending();
        const first = [next(), next(), next()];
        return (
          pending === 3 &&
          [...first].sort().join() === "a,b,c" &&
          next.pending() === 0 &&
          next() !== "off"
        );
      }),
    );
  });
});
