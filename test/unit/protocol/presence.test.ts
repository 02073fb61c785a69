import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseFullJid } from "../../../src/protocol/jid.js";
import { parsePresence } from "../../../src/protocol/presence.js";
import { parsePrivilegeAdvertisement } from "../../../src/protocol/privilege.js";
import { parseXml } from "../../support/xml.js";

describe("parsePresence", () => {
  it("reads an available presence with show, status, priority and a replay's delay", () => {
    const el = parseXml(
      `<presence from="alice@localhost/phone" to="presence.localhost"><show>away</show><status>brb</status><priority>5</priority><delay xmlns="urn:xmpp:delay" from="localhost" stamp="2026-11-29T01:00:00Z"/></presence>`,
    );
    expect(parsePresence(el)).toEqual({
      kind: "session",
      jid: {
        full: "alice@localhost/phone",
        bare: "alice@localhost",
        local: "alice",
        domain: "localhost",
        resource: "phone",
      },
      event: {
        type: "presence.available",
        show: "away",
        status: "brb",
        priority: 5,
        delay: "2026-11-29T01:00:00Z",
      },
    });
  });

  it("rejects a presence in a foreign namespace, reads the stream's and the client's", () => {
    const foreign = parsePresence(parseXml('<presence xmlns="wrong:ns" from="u@localhost/r"/>'));
    expect(foreign).toMatchObject({ kind: "rejected", reason: "presence in a foreign namespace" });
    for (const ns of ["jabber:component:accept", "jabber:client", "jabber:server"]) {
      expect(parsePresence(parseXml(`<presence xmlns="${ns}" from="u@localhost/r"/>`)).kind).toBe(
        "session",
      );
    }
  });

  it("reads type=unavailable", () => {
    const parsed = parsePresence(parseXml(`<presence type="unavailable" from="a@h/r"/>`));
    expect(parsed).toMatchObject({ kind: "session", event: { type: "presence.unavailable" } });
  });

  it.each([
    ["subscription requests", `<presence type="subscribe" from="a@h"/>`, "ignored"],
    ["probes", `<presence type="probe" from="a@h/r"/>`, "ignored"],
    ["unknown types", `<presence type="bogus" from="a@h/r"/>`, "rejected"],
    ["a bare JID (no session)", `<presence from="a@h"/>`, "rejected"],
    ["a server JID", `<presence from="localhost"/>`, "rejected"],
    ["a missing from", `<presence/>`, "rejected"],
    ["an empty resource", `<presence from="a@h/"/>`, "rejected"],
  ])("does not track %s", (_name, stanza, kind) => {
    expect(parsePresence(parseXml(stanza)).kind).toBe(kind);
  });

  it("reads an unknown show as plain available and ignores a bad priority", () => {
    const parsed = parsePresence(
      parseXml(`<presence from="a@h/r"><show>dancing</show><priority>x</priority></presence>`),
    );
    expect(parsed).toMatchObject({ kind: "session", event: { type: "presence.available" } });
    if (parsed.kind === "session") expect(parsed.event).toEqual({ type: "presence.available" });
  });
});

describe("parseFullJid", () => {
  it.each([
    ["no localpart", "localhost/res"],
    ["no resource", "alice@localhost"],
    ["a control character", "ali\u0001ce@localhost/r"],
    ["a forbidden localpart character", "al:ice@localhost/r"],
    ["a localpart over 1023 bytes", `${"é".repeat(512)}@localhost/r`],
    ["a lone surrogate", "alice@localhost/\ud800"],
  ])("refuses a JID with %s", (_name, text) => {
    expect(parseFullJid(text).ok).toBe(false);
  });

  it("keeps non-ASCII and XML-special resources exactly as given (the localpart case-folded)", () => {
    const text = `Zoë@localhost/café & <"friends">/ü`;
    const parsed = parseFullJid(text);
    expect(parsed).toEqual({
      ok: true,
      jid: {
        full: `zoë@localhost/café & <"friends">/ü`,
        bare: "zoë@localhost",
        local: "zoë",
        domain: "localhost",
        resource: `café & <"friends">/ü`,
      },
    });
  });

  it("never throws, whatever the text", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        parseFullJid(s);
      }),
    );
  });
});

describe("parsePrivilegeAdvertisement (XEP-0356 section 4)", () => {
  it("reads Prosody's v2 advertisement", () => {
    const el = parseXml(
      `<message from="localhost" to="presence.localhost"><privilege xmlns="urn:xmpp:privilege:2"><perm access="presence" type="managed_entity"/><perm access="message" type="outgoing"/></privilege></message>`,
    );
    expect(parsePrivilegeAdvertisement(el)).toEqual({
      ns: "urn:xmpp:privilege:2",
      perms: { presence: "managed_entity", message: "outgoing" },
    });
  });

  it("reads ejabberd 23's v1 advertisement", () => {
    const el = parseXml(
      `<message from="localhost"><privilege xmlns="urn:xmpp:privilege:1"><perm access="presence" type="managed_entity"/></privilege></message>`,
    );
    expect(parsePrivilegeAdvertisement(el)?.ns).toBe("urn:xmpp:privilege:1");
  });

  it("ignores an advertisement sent by a user, who cannot grant privileges", () => {
    const el = parseXml(
      `<message from="mallory@localhost/x"><privilege xmlns="urn:xmpp:privilege:2"><perm access="presence" type="managed_entity"/></privilege></message>`,
    );
    expect(parsePrivilegeAdvertisement(el)).toBeUndefined();
  });
});
