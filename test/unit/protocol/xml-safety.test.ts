import { xml } from "@xmpp/component";
import fc from "fast-check";
import { SaxesParser } from "saxes";
import { describe, expect, it } from "vitest";
import { parseFullJid } from "../../../src/protocol/jid.js";
import {
  batchStanza,
  type Notification,
  newNotification,
  notificationStanza,
  notificationXml,
  privilegedNotificationStanza,
  withReceiptRequest,
} from "../../../src/protocol/notification.js";
import { parsePresence } from "../../../src/protocol/presence.js";
import { NS_PRIVILEGE_V2 } from "../../../src/protocol/privilege.js";
import { payloadPseudonym } from "../../../src/protocol/pseudonym.js";
import { signer } from "../../../src/protocol/signature.js";
import { UnwritableXml } from "../../../src/protocol/xml-char.js";
import { parseMongooseImEvent } from "../../../src/sources/mongooseim-event.js";

// Issue #14, item 3: a JID carrying a character XML 1.0 cannot carry (U+FFFF,
// U+FFFE, a lone surrogate, a C0 control) must never reach the component
// stream: the server would close it and lose (or, with receipts, resend
// forever) whatever went out in the same write.

/** The reason a strict XML 1.0 parser (Char production, well-formedness) refuses `text`, if any. */
function xmlError(text: string): string | undefined {
  const parser = new SaxesParser({ xmlns: true });
  let error: string | undefined;
  parser.on("error", (err) => {
    error ??= err.message;
  });
  parser.write(text).close();
  return error;
}

// Characters XML forbids or that JIDs and XML treat specially, mixed into any text.
const hostile = fc.constantFrom(
  "\uFFFF",
  "\uFFFE",
  "\uD800",
  "\uDFFF",
  "\u0000",
  "\u0001",
  "\u000B",
  "\u001F",
  "\u007F",
  "\u0085",
  "\u2028",
  "\uFDD0",
  "\u{1FFFF}",
  "\u{10FFFF}",
  "<",
  "&",
  "]]>",
  '"',
  "'",
  "/",
  "@",
  "A",
  "İ",
  "\uFF21",
  "e\u0301",
);
const part = fc.oneof(
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.string({ unit: "grapheme", maxLength: 6 }),
  fc
    .array(fc.oneof(hostile, fc.string({ unit: "binary", maxLength: 3 })), { maxLength: 6 })
    .map((a) => a.join("")),
);
const SIGN = signer({ id: "k1", secret: "0123456789abcdef0123456789abcdef" });
const PSEUDONYM = payloadPseudonym("a pseudonym key that is long enough");

/** Every way the notifier can write `n`, each building one byte sequence. */
function everyStanza(n: Notification): (() => string)[] {
  const withSeq = { ...n, seq: 7 };
  const pseudonymised = { ...n, user: PSEUDONYM(n.user) };
  const out: (() => string)[] = [];
  for (const m of [n, withSeq, pseudonymised]) {
    for (const sign of [undefined, SIGN]) {
      out.push(() => notificationStanza(m, "presence.localhost", sign).toString());
      out.push(() =>
        withReceiptRequest(notificationStanza(m, "presence.localhost", sign)).toString(),
      );
      out.push(() => notificationXml(m, "presence.localhost", sign));
      out.push(() => notificationXml(m, "presence.localhost", sign, true));
      out.push(() =>
        privilegedNotificationStanza(m, "presence.localhost", NS_PRIVILEGE_V2, sign).toString(),
      );
      out.push(() => batchStanza([m, m], "batch-trace", "presence.localhost", sign).toString());
    }
  }
  return out;
}

/** What the daemon accepts from each entry point for `text`, as the session it would notify about. */
function admitted(text: string) {
  const fromJid = parseFullJid(text);
  const fromPresence = parsePresence(xml("presence", { from: text, to: "presence.localhost" }));
  // JSON.stringify writes a lone surrogate as \udXXX, so the broker's bytes can carry one.
  const body = Buffer.from(JSON.stringify({ user_id: text, present: true }), "utf8");
  const fromBroker = parseMongooseImEvent(body);
  return [
    fromJid.ok ? fromJid.jid : undefined,
    fromPresence.kind === "session" ? fromPresence.jid : undefined,
    fromBroker.ok ? fromBroker.jid : undefined,
  ];
}

describe("nothing XML forbids is ever written (issue #14, item 3)", () => {
  it.each([
    ["U+FFFF", "alice@localhost/r\uFFFF"],
    ["U+FFFE", "alice\uFFFE@localhost/r"],
    ["a lone surrogate", "alice@localhost/r\uD800"],
    ["a noncharacter in the domain", "alice@local\uFDD0host/r"],
  ])("a broker JID with %s is refused with a reason, not written raw", (_what, text) => {
    const body = Buffer.from(JSON.stringify({ user_id: text, present: true }), "utf8");
    const parsed = parseMongooseImEvent(body);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toMatch(/^user_id: /);
    expect(parseFullJid(text).ok).toBe(false);
  });

  it("the serialiser refuses to build a stanza with a non-Char rather than write it", () => {
    const n = newNotification(
      { full: "alice@localhost/r\uFFFF", bare: "alice@localhost", domain: "localhost" },
      "available",
      "world",
      0,
    );
    expect(() => notificationXml(n, "presence.localhost")).toThrow(UnwritableXml);
    expect(() => notificationStanza(n, "presence.localhost")).toThrow(UnwritableXml);
    expect(() => batchStanza([n], "t", "presence.localhost")).toThrow(UnwritableXml);
    expect(() => privilegedNotificationStanza(n, "presence.localhost", NS_PRIVILEGE_V2)).toThrow(
      UnwritableXml,
    );
  });

  it("for any input, every notification written from what an entry point admitted is well-formed XML", () => {
    fc.assert(
      fc.property(part, part, part, fc.boolean(), (local, domain, resource, online) => {
        for (const jid of admitted(`${local}@${domain}/${resource}`)) {
          if (jid === undefined) continue;
          const n = newNotification(jid, online ? "available" : "unavailable", "world", 0);
          for (const build of everyStanza(n)) {
            const text = build();
            expect(xmlError(text), text).toBeUndefined();
          }
        }
      }),
      { numRuns: 150 },
    );
  }, 60_000);

  it("for any notification at all, the serialiser either refuses it or writes well-formed XML", () => {
    const anyNotification = fc.record({
      trace: fc.oneof(fc.uuid(), part),
      user: part,
      presence: fc.constantFrom("available" as const, "unavailable" as const),
      to: part,
      userBare: part,
      queuedAt: fc.nat(),
    });
    fc.assert(
      fc.property(anyNotification, (n) => {
        for (const build of everyStanza(n)) {
          let text: string;
          try {
            text = build();
          } catch (err) {
            expect(err).toBeInstanceOf(UnwritableXml);
            continue;
          }
          expect(xmlError(text), text).toBeUndefined();
        }
      }),
      { numRuns: 150 },
    );
  }, 60_000);
});
