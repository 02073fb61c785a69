import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Secret } from "../../../src/config/redacted.js";
import { newNotification, payloadJson } from "../../../src/protocol/notification.js";
import {
  canonicalNotification,
  signer,
  verifyNotification,
} from "../../../src/protocol/signature.js";
import { settle } from "../../support/memory-link.js";
import { available, setup } from "../pipeline/setup.js";

// [signing]: an HMAC-SHA256 over the canonical notification, verified the
// way a consumer would, from the JSON it received.

const KEY = { id: "k1", secret: "0123456789abcdef0123456789abcdef" };
const KEYS = new Map([[KEY.id, KEY.secret]]);
const session = {
  full: "alice@example.com/phone",
  bare: "alice@example.com",
  domain: "example.com",
};

function signedPayload(seq?: number) {
  const n = newNotification(session, "available", "world", 0, seq);
  return JSON.parse(payloadJson(n, signer(KEY)));
}

describe("notification signatures", () => {
  it("verify for the server user they were made for", () => {
    const payload = signedPayload(3);
    expect(payload.sig.kid).toBe("k1");
    expect(verifyNotification(payload, "world@example.com", KEYS)).toBe(true);
    expect(verifyNotification(payload, "other@example.com", KEYS)).toBe(false);
  });

  it("fail when any signed field changes (property)", () => {
    const fields = fc.constantFrom("trace", "user", "presence", "seq");
    fc.assert(
      fc.property(fields, fc.string({ minLength: 1, maxLength: 20 }), (field, value) => {
        const payload = signedPayload(1);
        if (field === "trace") payload.trace = `${payload.trace}${value}`;
        if (field === "user") payload.args.user = `${payload.args.user}${value}`;
        if (field === "presence") payload.args.presence = "unavailable";
        if (field === "seq") payload.args.seq = payload.args.seq + value.length;
        expect(verifyNotification(payload, "world@example.com", KEYS)).toBe(false);
      }),
    );
  });

  it("fail without a signature, with an unknown kid, or under another key", () => {
    const unsigned = JSON.parse(payloadJson(newNotification(session, "available", "world", 0)));
    expect(verifyNotification(unsigned, "world@example.com", KEYS)).toBe(false);
    const payload = signedPayload();
    expect(verifyNotification(payload, "world@example.com", new Map([["k2", KEY.secret]]))).toBe(
      false,
    );
    expect(
      verifyNotification(
        payload,
        "world@example.com",
        new Map([["k1", "another key, 32 chars long!!"]]),
      ),
    ).toBe(false);
    for (const junk of [
      null,
      1,
      "x",
      {},
      { args: null },
      { type: "PRESENCE_DID_CHANGE_BATCH", args: { changes: [] } },
    ]) {
      expect(verifyNotification(junk, "world@example.com", KEYS)).toBe(false);
    }
  });

  it("have a canonical form a consumer in any language can rebuild", () => {
    // Newline-separated: unambiguous because no field the router lets through
    // contains a control character (JIDs with one are refused, src/protocol/jid.ts).
    expect(
      canonicalNotification({ trace: "t", to: "w@d", user: "u@d/r", presence: "available" }),
    ).toBe("presence-notify-v1\nt\nw@d\nu@d/r\navailable\n");
    expect(
      canonicalNotification({
        trace: "t",
        to: "w@d",
        user: "u@d/r",
        presence: "available",
        seq: 7,
      }),
    ).toBe("presence-notify-v1\nt\nw@d\nu@d/r\navailable\n7");
  });

  it("are added by the notifier, and a batch verifies change by change", async () => {
    const t = setup({
      signing: { key: new Secret(KEY.secret), keyId: KEY.id },
      notify: { batch: 5 },
    });
    for (const r of ["a", "b", "c"]) t.server.deliver(available(`u@localhost/${r}`));
    t.server.connect();
    await settle();
    const payloads = t.server
      .messages()
      .map((m) => JSON.parse(m.getChild("event", "flux:xmpp")?.getText() ?? "{}"));
    expect(payloads.length).toBeGreaterThan(0);
    expect(payloads.some((p) => p.type === "PRESENCE_DID_CHANGE_BATCH")).toBe(true);
    for (const p of payloads) {
      expect(verifyNotification(p, "world@localhost", KEYS), JSON.stringify(p)).toBe(true);
    }
  });
});
