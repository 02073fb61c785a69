import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileFilter, globProblem, matchGlob } from "../../../src/config/glob.js";

/** The obvious exponential-time definition, as the oracle on small inputs. */
function reference(glob: readonly string[], subject: readonly string[]): boolean {
  if (glob.length === 0) return subject.length === 0;
  const [head, ...rest] = glob;
  if (head === "*") {
    return reference(rest, subject) || (subject.length > 0 && reference(glob, subject.slice(1)));
  }
  if (subject.length === 0) return false;
  return (head === "?" || head === subject[0]) && reference(rest, subject.slice(1));
}

describe("glob matching", () => {
  it.each([
    ["*", "", true],
    ["*", "anything", true],
    ["flux.actor.*", "flux.actor.1", true],
    ["flux.actor.*", "flux.actor.", true],
    ["flux.actor.*", "flux.actors", false],
    ["flux.actor.*", "Flux.actor.1", false],
    ["?", "é", true],
    ["?", "😀", true],
    ["??", "😀", false],
    ["a?c", "abc", true],
    ["a?c", "ac", false],
    ["*.sim.*", "flux.sim.7", true],
    ["alice", "alice", true],
    ["alice", "alice2", false],
    ["a*b*c", "aXbYc", true],
    ["a*b*c", "aXbY", false],
  ])("%j against %j is %s", (glob, localpart, expected) => {
    expect(matchGlob(glob, localpart)).toBe(expected);
  });

  it("agrees with the reference definition on small alphabets (property)", () => {
    const glob = fc.array(fc.constantFrom("a", "b", "*", "?"), { maxLength: 8 });
    const subject = fc.array(fc.constantFrom("a", "b"), { maxLength: 10 });
    fc.assert(
      fc.property(glob, subject, (g, s) => {
        expect(matchGlob(g.join(""), s.join(""))).toBe(reference(g, s));
      }),
      { numRuns: 2_000 },
    );
  });

  // Complexity guard, not a benchmark: a backtracking matcher takes
  // exponential time here; the two-pointer one is O(pattern x subject).
  // 200 ms is a generous bound for a few hundred thousand steps.
  it("matches a pathological pattern against 10,000 characters quickly", () => {
    const subject = "a".repeat(10_000);
    const started = performance.now();
    expect(matchGlob("a*a*a*a*a*a*a*b", subject)).toBe(false);
    expect(matchGlob("*a*a*a*a*a*a*a*a*a*a*", subject)).toBe(true);
    expect(compileFilter(["a*a*a*a*a*a*a*b"], [])(subject)).toBe(false);
    expect(performance.now() - started).toBeLessThan(200);
  });
});

describe("compileFilter", () => {
  it("keeps localparts included by any include and excluded by no exclude", () => {
    const keep = compileFilter(["flux.actor.*", "flux.sim.*"], ["flux.actor.test*"]);
    expect(keep("flux.actor.1")).toBe(true);
    expect(keep("flux.sim.2")).toBe(true);
    expect(keep("flux.actor.test1")).toBe(false);
    expect(keep("alice")).toBe(false);
  });

  it('lets ["*"] through everyone but the excluded', () => {
    const keep = compileFilter(["*"], ["server"]);
    expect(keep("alice")).toBe(true);
    expect(keep("server")).toBe(false);
  });

  it("keeps nobody with no include", () => {
    expect(compileFilter([], [])("alice")).toBe(false);
  });

  it("is the conjunction of matchGlob over the lists (property)", () => {
    const glob = fc.array(fc.constantFrom("a", "b", "*", "?"), { minLength: 1, maxLength: 5 });
    const globs = fc.array(
      glob.map((g) => g.join("")),
      { maxLength: 3 },
    );
    const subject = fc.array(fc.constantFrom("a", "b"), { maxLength: 6 }).map((s) => s.join(""));
    fc.assert(
      fc.property(globs, globs, subject, (include, exclude, s) => {
        const expected =
          include.some((g) => matchGlob(g, s)) && !exclude.some((g) => matchGlob(g, s));
        expect(compileFilter(include, exclude)(s)).toBe(expected);
      }),
    );
  });
});

describe("glob validation", () => {
  it.each([["*"], ["flux.actor.*"], ["?"], ["日本*"]])("accepts %j", (glob) => {
    expect(globProblem(glob)).toBeUndefined();
  });

  it.each([
    ["", "it is empty"],
    ["a".repeat(1024), "it is 1024 bytes long in UTF-8; the limit is 1023"],
    ["a\u0007", "it contains a control character (U+0007)"],
    ["alice@example.com", "could never match (globs match the localpart only, not the full JID)"],
    ["flux actor", "it contains a space"],
  ])("refuses %j: %s", (glob, reason) => {
    expect(globProblem(glob)).toContain(reason);
  });
});
