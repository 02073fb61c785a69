import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EXCERPT_MAX, excerpt, LogLimiter } from "../../src/telemetry/log-limiter.js";

describe("LogLimiter", () => {
  it("logs the 1st, 2nd, 4th, 8th... occurrence of a key", () => {
    const limiter = new LogLimiter();
    const logged = Array.from({ length: 20 }, () => limiter.hit("a"))
      .filter((h) => h.log)
      .map((h) => h.count);
    expect(logged).toEqual([1, 2, 4, 8, 16]);
  });

  it("stays bounded in lines and memory whatever the keys (adversarial: every key new)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 16 }),
        fc.array(fc.oneof(fc.string({ maxLength: 4 }), fc.uuid()), { maxLength: 2_000 }),
        (maxKeys, keys) => {
          const limiter = new LogLimiter(maxKeys);
          const lines = keys.map((k) => limiter.hit(k)).filter((h) => h.log).length;
          const n = Math.max(1, keys.length);
          expect(limiter.size).toBeLessThanOrEqual(maxKeys);
          expect(lines).toBeLessThanOrEqual((maxKeys + 1) * (Math.floor(Math.log2(n)) + 1));
        },
      ),
    );
  });

  it("counts keys past its bound in one shared bucket", () => {
    const limiter = new LogLimiter(2);
    limiter.hit("a");
    limiter.hit("b");
    const hits = ["c", "d", "e", "f"].map((k) => limiter.hit(k));
    expect(hits.map((h) => [h.shared, h.count, h.log])).toEqual([
      [true, 1, true],
      [true, 2, true],
      [true, 3, false],
      [true, 4, true],
    ]);
    expect(limiter.hit("a")).toEqual({ log: true, count: 2, shared: false });
  });
});

describe("excerpt", () => {
  it("keeps short text as it is", () => {
    expect(excerpt("away")).toBe("away");
    expect(excerpt(undefined)).toBeUndefined();
  });

  it("cuts long text, says how much it left out, and never splits a surrogate pair", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 600 }), (text) => {
        const out = excerpt(text) as string;
        expect(out.length).toBeLessThanOrEqual(EXCERPT_MAX + 20);
        expect(out.isWellFormed()).toBe(text.isWellFormed());
        if (text.length > EXCERPT_MAX) expect(out).toMatch(/…\(\d+ more\)$/);
      }),
    );
    expect(excerpt("x".repeat(200_000))).toBe(`${"x".repeat(EXCERPT_MAX)}…(199800 more)`);
  });
});
