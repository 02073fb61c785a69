import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type Notification,
  NS_FLUX,
  NS_FORWARD,
  newNotification,
  notificationStanza,
  notificationXml,
  privilegedNotificationStanza,
  withReceiptRequest,
} from "../../../src/protocol/notification.js";
import { NS_PRIVILEGE_V2 } from "../../../src/protocol/privilege.js";
import { UnwritableXml } from "../../../src/protocol/xml-char.js";
import { parseXml } from "../../support/xml.js";

const alice = { full: "alice@example.com/phone", bare: "alice@example.com", domain: "example.com" };
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("default notification stanza (PROTOCOL.md)", () => {
  it("has the structure of mod_presence_notify's message", () => {
    const n = newNotification(alice, "available", "server", 0);
    const el = parseXml(notificationStanza(n, "presence.example.com").toString());
    expect(el.name).toBe("message");
    expect(el.attrs).toMatchObject({
      type: "chat",
      id: n.trace,
      from: "presence.example.com",
      to: "server@example.com",
    });
    expect(el.getChildElements().map((c) => c.name)).toEqual(["body", "event"]);
    expect(el.getChildText("body")).toBe("Presence update");
    const event = el.getChild("event", NS_FLUX);
    expect(event?.attrs.mime).toBe("application/json");
    expect(event?.getChildElements()).toEqual([]);
    expect(JSON.parse(event?.getText() ?? "")).toEqual({
      trace: n.trace,
      type: "PRESENCE_DID_CHANGE",
      args: { user: "alice@example.com/phone", presence: "available" },
    });
    expect(Object.keys(JSON.parse(event?.getText() ?? ""))).toEqual(["trace", "type", "args"]);
  });

  it("gives every notification a fresh random trace (UUID v4)", () => {
    const traces = new Set(
      Array.from({ length: 1000 }, () => newNotification(alice, "unavailable", "s", 0).trace),
    );
    expect(traces.size).toBe(1000);
    for (const t of traces) expect(t).toMatch(UUID_V4);
  });

  it("carries any resource byte-exact through XML escaping and JSON", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }), (resource) => {
        const session = { ...alice, full: `alice@example.com/${resource}` };
        const n = newNotification(session, "unavailable", "world", 0);
        const el = parseXml(notificationStanza(n, "p.example.com").toString());
        const payload = JSON.parse(el.getChild("event", NS_FLUX)?.getText() ?? "");
        expect(payload.args.user).toBe(session.full);
        expect(el.attrs.to).toBe("world@example.com");
      }),
      { numRuns: 300 },
    );
  });

  it("escapes XML-special characters instead of letting them open markup", () => {
    const session = { ...alice, full: `alice@example.com/</event><x a='"'>&amp;` };
    const text = notificationStanza(newNotification(session, "available", "s", 0), "p").toString();
    const el = parseXml(text);
    expect(el.getChild("event", NS_FLUX)?.getChildElements()).toEqual([]);
    expect(JSON.parse(el.getChild("event", NS_FLUX)?.getText() ?? "").args.user).toBe(session.full);
  });
});

describe("the template serialiser (the notifier's hot path)", () => {
  // Any text at all, markup characters and astral planes included.
  const text = fc.string({ unit: "binary", maxLength: 30 });
  const notification: fc.Arbitrary<Notification> = fc.record(
    {
      trace: fc.oneof(fc.uuid(), text),
      user: text,
      presence: fc.constantFrom("available" as const, "unavailable" as const),
      to: text,
      userBare: text,
      queuedAt: fc.nat(),
      seq: fc.nat(),
    },
    { requiredKeys: ["trace", "user", "presence", "to", "userBare", "queuedAt"] },
  );

  it("writes exactly the bytes the element builder serialises to, or refuses exactly as it does", () => {
    const outcome = (build: () => string) => {
      try {
        return build();
      } catch (err) {
        if (err instanceof UnwritableXml) return { refused: err.message };
        throw err;
      }
    };
    fc.assert(
      fc.property(notification, text, fc.option(text), fc.boolean(), (n, from, sig, receipt) => {
        const sign = sig === null ? undefined : () => ({ kid: sig, hmac: sig });
        const built = outcome(() => {
          const el = notificationStanza(n, from, sign);
          if (receipt) withReceiptRequest(el);
          return el.toString();
        });
        expect(outcome(() => notificationXml(n, from, sign, receipt))).toEqual(built);
      }),
      { numRuns: 500 },
    );
  });
});

describe("privileged notification (XEP-0356 message=outgoing)", () => {
  it("wraps the same message from the user's bare JID in privilege/forwarded", () => {
    const n = newNotification(alice, "available", "server", 0);
    const outer = parseXml(
      privilegedNotificationStanza(n, "presence.example.com", NS_PRIVILEGE_V2).toString(),
    );
    expect(outer.attrs).toMatchObject({ from: "presence.example.com", to: "example.com" });
    const inner = outer
      .getChild("privilege", NS_PRIVILEGE_V2)
      ?.getChild("forwarded", NS_FORWARD)
      ?.getChild("message");
    expect(inner?.attrs).toMatchObject({
      xmlns: "jabber:client",
      type: "chat",
      id: n.trace,
      from: "alice@example.com",
      to: "server@example.com",
    });
    expect(JSON.parse(inner?.getChild("event", NS_FLUX)?.getText() ?? "").trace).toBe(n.trace);
  });
});
