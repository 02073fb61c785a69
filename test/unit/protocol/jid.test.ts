import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  canonicalBare,
  canonicalLocalpart,
  parseFullJid,
  parseJid,
} from "../../../src/protocol/jid.js";

// Issue #14, item 4: the server folds case (PRECIS UsernameCaseMapped for the
// localpart, lower case for the domain); the daemon keys and compares on the
// same canonical form, so two spellings of one session are one session.

describe("canonical JIDs (RFC 7622, RFC 8265)", () => {
  it.each([
    ["a capitalised localpart", "Alice@localhost/r", "alice@localhost/r"],
    ["a capitalised domain", "alice@LocalHost/r", "alice@localhost/r"],
    ["a trailing dot on the domain", "alice@localhost./r", "alice@localhost/r"],
    ["fullwidth letters in the localpart", "\uff21lice@localhost/r", "alice@localhost/r"],
    ["a decomposed accent", "zoe\u0301@localhost/r", "zo\u00e9@localhost/r"],
    ["non-ASCII capitals", "ÄLICE@localhost/r", "älice@localhost/r"],
    ["a resource's case, which is kept", "alice@localhost/Phone", "alice@localhost/Phone"],
    ["a decomposed accent in the resource (NFC)", "a@h/cafe\u0301", "a@h/caf\u00e9"],
  ])("%s", (_what, text, canonical) => {
    const parsed = parseFullJid(text);
    expect(parsed.ok && parsed.jid.full).toBe(canonical);
  });

  it("keeps the very string the wire gave when it is already canonical", () => {
    const text = "alice@localhost/phone";
    const parsed = parseFullJid(text);
    expect(parsed.ok && parsed.jid.full).toBe(text);
  });

  it("any two spellings that differ only in localpart or domain case are one JID (or both refused)", () => {
    const ascii = fc.string({
      unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789.-_"),
      minLength: 1,
      maxLength: 12,
    });
    const flip = (s: string, mask: boolean[]) =>
      [...s].map((c, i) => (mask[i % mask.length] ? c.toUpperCase() : c)).join("");
    fc.assert(
      fc.property(ascii, ascii, ascii, fc.array(fc.boolean(), { minLength: 1 }), (l, d, r, m) => {
        const a = parseFullJid(`${l}@${d}/${r}`);
        const b = parseFullJid(`${flip(l, m)}@${flip(d, m)}/${r}`);
        expect(b.ok).toBe(a.ok);
        if (a.ok && b.ok) expect(b.jid).toEqual(a.jid);
      }),
      { numRuns: 200 },
    );
  });

  it("canonical form is stable: parsing a canonical JID again changes nothing", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 20 }), (s) => {
        const once = parseFullJid(`${s}@localhost/r`);
        if (!once.ok) return;
        const twice = parseFullJid(once.jid.full);
        expect(twice.ok && twice.jid.full).toBe(once.jid.full);
        expect(canonicalLocalpart(once.jid.local)).toBe(once.jid.local);
      }),
      { numRuns: 300 },
    );
  });

  it("reads a domain, a bare or a full JID for a receipt's or a bounce's sender", () => {
    expect(canonicalBare("World@LocalHost/game")).toBe("world@localhost");
    expect(canonicalBare("World@LocalHost")).toBe("world@localhost");
    expect(canonicalBare("LocalHost.")).toBe("localhost");
    expect(canonicalBare("a\uffff@localhost")).toBeUndefined();
    expect(parseJid("localhost")).toEqual({
      ok: true,
      jid: { local: undefined, domain: "localhost", resource: undefined, bare: "localhost" },
    });
  });
});
