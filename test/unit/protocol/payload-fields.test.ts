import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  batchStanza,
  NS_FLUX,
  newNotification,
  notificationXml,
  payloadJson,
} from "../../../src/protocol/notification.js";
import {
  extrasText,
  fieldsFor,
  parseExtras,
  REASONS,
  reasonOf,
} from "../../../src/protocol/payload-fields.js";
import {
  canonicalNotification,
  signer,
  verifyNotification,
} from "../../../src/protocol/signature.js";
import { parseXml } from "../../support/xml.js";

// The opt-in payload fields (`notify.fields`, `notify.level = "user"`): only
// ever added after the original module's keys and seq, never changing the
// default bytes; signed in a form of their own that leaves v1 as it was.

const alice = { full: "alice@example.com/phone", bare: "alice@example.com", domain: "example.com" };
const KEY = { id: "k1", secret: "0123456789abcdef0123456789abcdef" };
const KEYS = new Map([[KEY.id, KEY.secret]]);

describe("payload fields", () => {
  it("leave the default bytes exactly the original module's", () => {
    const n = newNotification(alice, "available", "server", 1_733_100_000_123, undefined, {});
    expect(payloadJson(n)).toBe(
      `{"trace":"${n.trace}","type":"PRESENCE_DID_CHANGE","args":{"user":"alice@example.com/phone","presence":"available"}}`,
    );
    expect(notificationXml(n, "presence.example.com")).toBe(
      `<message type="chat" id="${n.trace}" from="presence.example.com" to="server@example.com">` +
        `<body>Presence update</body><event xmlns="flux:xmpp" mime="application/json">` +
        `{"trace":"${n.trace}","type":"PRESENCE_DID_CHANGE","args":{"user":"alice@example.com/phone","presence":"available"}}` +
        `</event></message>`,
    );
  });

  it("come after user, presence and seq, in a fixed order", () => {
    const at = 1_733_100_000_123.7;
    const n = newNotification(alice, "unavailable", "server", at, 4, {
      ...fieldsFor(["reason", "ts"], at, "liveness"),
      resources: 0,
    });
    expect(payloadJson(n)).toBe(
      `{"trace":"${n.trace}","type":"PRESENCE_DID_CHANGE","args":{"user":"alice@example.com/phone","presence":"unavailable","seq":4,"ts":1733100000123,"reason":"liveness","resources":0}}`,
    );
  });

  it("are only those asked for", () => {
    expect(fieldsFor([], 5, "login")).toEqual({});
    expect(fieldsFor(["ts"], 5, "login")).toEqual({ ts: 5 });
    expect(fieldsFor(["reason"], 5, "login")).toEqual({ reason: "login" });
  });

  it("are carried by each change of a batch", () => {
    const a = newNotification(alice, "available", "server", 10, undefined, { ts: 10 });
    const b = newNotification(
      { ...alice, full: "alice@example.com/pc" },
      "available",
      "server",
      11,
    );
    const el = parseXml(batchStanza([a, b], "batch-1", "presence.example.com").toString());
    const json = JSON.parse(el.getChild("event", NS_FLUX)?.getText() ?? "");
    expect(json.args.changes).toEqual([
      { trace: a.trace, user: "alice@example.com/phone", presence: "available", ts: 10 },
      { trace: b.trace, user: "alice@example.com/pc", presence: "available" },
    ]);
  });

  it("have a reason for every cause the session machine gives", () => {
    const causes = ["presence", "replay", "client", "server", "liveness", "reconnect"] as const;
    expect(causes.map((c) => reasonOf(c))).toEqual([
      "login",
      "replay",
      "unavailable",
      "server",
      "liveness",
      "reconciliation",
    ]);
    expect(reasonOf("replay", true)).toBe("listed");
    expect(reasonOf("store_recovered")).toBe("store-recovered");
    for (const c of causes) expect(REASONS).toContain(reasonOf(c));
  });

  it("survive being stored, and what this version would not write is left out", () => {
    const n = { ts: 7, reason: "server" as const, resources: 2 };
    expect(parseExtras(extrasText(n))).toEqual(n);
    expect(extrasText({})).toBeNull();
    expect(parseExtras(null)).toEqual({});
    expect(parseExtras("not json")).toEqual({});
    expect(parseExtras('{"ts":-1,"reason":"because","resources":1.5}')).toEqual({});
  });
});

describe("signatures over payload fields", () => {
  const signed = (extras: Parameters<typeof newNotification>[5]) =>
    JSON.parse(
      payloadJson(newNotification(alice, "available", "world", 0, undefined, extras), signer(KEY)),
    );

  it("keep the v1 form for a notification without them", () => {
    expect(
      canonicalNotification({ trace: "t", to: "w@d", user: "u@d/r", presence: "available" }),
    ).toBe("presence-notify-v1\nt\nw@d\nu@d/r\navailable\n");
  });

  it("sign them in a v2 form a consumer in any language can rebuild", () => {
    expect(
      canonicalNotification({
        trace: "t",
        to: "w@d",
        user: "u@d",
        presence: "unavailable",
        ts: 1733100000123,
        reason: "liveness",
        resources: 0,
      }),
    ).toBe("presence-notify-v2\nt\nw@d\nu@d\nunavailable\n\n1733100000123\nliveness\n0");
  });

  it("verify, and fail when any field is changed, added or taken away (property)", () => {
    const payload = signed({ ts: 1_733_100_000_123, reason: "login", resources: 1 });
    expect(verifyNotification(payload, "world@example.com", KEYS)).toBe(true);
    const edits = fc.constantFrom(
      "ts",
      "reason",
      "resources",
      "drop-ts",
      "drop-reason",
      "drop-all",
    );
    fc.assert(
      fc.property(edits, fc.integer({ min: 1, max: 1000 }), (edit, k) => {
        const p = structuredClone(payload);
        if (edit === "ts") p.args.ts += k;
        if (edit === "reason") p.args.reason = "server";
        if (edit === "resources") p.args.resources += k;
        if (edit === "drop-ts") delete p.args.ts;
        if (edit === "drop-reason") delete p.args.reason;
        if (edit === "drop-all") p.args = { user: p.args.user, presence: p.args.presence };
        expect(verifyNotification(p, "world@example.com", KEYS)).toBe(false);
      }),
    );
    // A v1-signed notification cannot be given a reason after the fact.
    const plain = signed({});
    expect(verifyNotification(plain, "world@example.com", KEYS)).toBe(true);
    plain.args.reason = "login";
    expect(verifyNotification(plain, "world@example.com", KEYS)).toBe(false);
  });

  it("refuse a reason with a line break or fields of the wrong type", () => {
    for (const args of [{ reason: "a\nb" }, { ts: "1" }, { resources: "1" }, { reason: 1 }]) {
      const p = signed({ reason: "login" });
      Object.assign(p.args, args);
      expect(verifyNotification(p, "world@example.com", KEYS)).toBe(false);
    }
  });
});
