import { describe, expect, it } from "vitest";
import { Secret } from "../../../src/config/redacted.js";
import { payloadPseudonym } from "../../../src/protocol/pseudonym.js";
import { verifyNotification } from "../../../src/protocol/signature.js";
import { settle } from "../../support/memory-link.js";
import { available, setup, unavailable } from "../pipeline/setup.js";

// [pseudonyms]: the consumer sees a keyed pseudonym instead of each JID, and
// with the key can compute it for the JIDs it knows.

const KEY = "pseudonym-key-0123456789abcdef0123";

describe("payload pseudonyms", () => {
  it("replace the JID in the payload, stably, and the consumer can compute them", async () => {
    const t = setup({ pseudonyms: { key: new Secret(KEY) } });
    t.server.connect();
    t.server.deliver(available("alice@localhost/phone"));
    t.server.deliver(unavailable("alice@localhost/phone"));
    t.server.deliver(available("bob@localhost/pc"));
    await settle();
    const users = t.notified().map((n) => n.user);
    expect(users[0]).toMatch(/^u-[0-9a-f]{16}@localhost\/r-[0-9a-f]{16}$/);
    expect(users[1]).toBe(users[0]);
    expect(users[2]).not.toBe(users[0]);
    // What a consumer holding the key does: compute, then join.
    expect(payloadPseudonym(KEY)("alice@localhost/phone")).toBe(users[0]);
    expect(payloadPseudonym("another key, also 32 chars long!")("alice@localhost/phone")).not.toBe(
      users[0],
    );
    const wire = t.server
      .messages()
      .map((m) => m.toString())
      .join("");
    expect(wire).not.toMatch(/alice|phone|bob/);
  });

  it("keep the real JID for bounces and held mail, and sign what is shown", async () => {
    const key = { id: "k1", secret: "0123456789abcdef0123456789abcdef" };
    const t = setup({
      pseudonyms: { key: new Secret(KEY) },
      signing: { key: new Secret(key.secret), keyId: key.id },
    });
    t.server.offline.add("world@localhost");
    t.server.connect();
    t.server.deliver(available("alice@localhost/phone"));
    await settle();
    expect(t.service.outbox.held.size).toBe(1);
    t.server.offline.delete("world@localhost");
    t.server.deliver(available("world@localhost/game"));
    await settle();
    const [payload] = t.server
      .messages()
      .map((m) => JSON.parse(m.getChild("event", "flux:xmpp")?.getText() ?? "{}"));
    expect(payload.args.user).toBe(payloadPseudonym(KEY)("alice@localhost/phone"));
    expect(verifyNotification(payload, "world@localhost", new Map([["k1", key.secret]]))).toBe(
      true,
    );
  });
});
