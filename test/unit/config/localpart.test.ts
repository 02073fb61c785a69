import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  isValidLocalpart,
  LOCALPART_FORBIDDEN,
  localpartProblem,
} from "../../../src/config/localpart.js";

describe("localpart validation (RFC 7622 section 3.3)", () => {
  it.each([
    ["server"],
    ["world"],
    ["flux.actor.1"],
    ["ünïcødé"],
    ["日本語"],
    ["a".repeat(1023)],
    ["é".repeat(511)], // 1022 bytes
    ["#!$%()*+,-.;=?[]^_`{|}~"],
  ])("accepts %j", (value) => {
    expect(localpartProblem(value)).toBeUndefined();
  });

  it.each([
    ["", "it is empty"],
    ["my user", "it contains a space"],
    ["a@b", 'it contains "@", which RFC 7622 forbids in a localpart'],
    ["a/b", 'it contains "/"'],
    ['a"b', `it contains "\\""`],
    ["a&b", 'it contains "&"'],
    ["a'b", `it contains "'"`],
    ["a:b", 'it contains ":"'],
    ["a<b", 'it contains "<"'],
    ["a>b", 'it contains ">"'],
    ["tab\there", "it contains a control character (U+0009)"],
    ["nul\u0000", "it contains a control character (U+0000)"],
    ["del\u007f", "it contains a control character (U+007F)"],
    ["nbsp\u00a0", "it contains whitespace (U+00A0)"],
    ["ideographic\u3000space", "it contains whitespace (U+3000)"],
    ["zero\u200bwidth", "it contains an invisible format character (U+200B)"],
    ["lone\ud800", "it contains a lone surrogate (U+D800)"],
    ["a".repeat(1024), "it is 1024 bytes long in UTF-8; the limit is 1023"],
    ["é".repeat(512), "it is 1024 bytes long in UTF-8; the limit is 1023"],
    ["\ufb01", 'it changes under Unicode NFKC normalisation (it would become "fi")'],
    ["ｆｕｌｌ", "it changes under Unicode NFKC normalisation"],
    ["e\u0301", "it changes under Unicode NFKC normalisation"],
    ["World", "it is not in the canonical form the server compares localparts in"],
    ["Ünïcødé", 'write "ünïcødé"'],
  ])("refuses %j: %s", (value, reason) => {
    expect(localpartProblem(value)).toContain(reason);
  });

  const forbidden = fc.constantFrom(
    ...LOCALPART_FORBIDDEN,
    " ",
    "\t",
    "\n",
    "\r",
    "\u0000",
    "\u001b",
    "\u0085",
    "\u00a0",
    "\u2028",
    "\u3000",
    "\u200b",
  );

  it("refuses any string that contains a forbidden character (property)", () => {
    fc.assert(
      fc.property(fc.string(), forbidden, fc.string(), (before, bad, after) => {
        expect(isValidLocalpart(`${before}${bad}${after}`)).toBe(false);
      }),
    );
  });

  const allowedAscii = fc.constantFrom(
    ...Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i)).filter(
      (c) => !(LOCALPART_FORBIDDEN as readonly string[]).includes(c) && !/[A-Z]/.test(c),
    ),
  );

  it("accepts every printable-ASCII string without forbidden characters or capitals (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: allowedAscii, minLength: 1, maxLength: 1023 }), (value) => {
        expect(localpartProblem(value)).toBeUndefined();
      }),
    );
  });

  // Issue #14, item 4: the server folds case, so "World" named no server user
  // the daemon would ever recognise; it is refused with the spelling to use.
  it("refuses a server user with capitals, naming its lower-case spelling (property)", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: allowedAscii, maxLength: 20 }),
        fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
        (rest, capital) => {
          const value = `${capital}${rest}`;
          expect(localpartProblem(value)).toContain(`write ${JSON.stringify(value.toLowerCase())}`);
        },
      ),
    );
  });
});
