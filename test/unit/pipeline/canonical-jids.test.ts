import { describe, expect, it } from "vitest";
import { NS_RECEIPTS } from "../../../src/protocol/notification.js";
import { parseMongooseImEvent } from "../../../src/sources/mongooseim-event.js";
import { settle } from "../../support/memory-link.js";
import { available, setup, unavailable } from "./setup.js";

// Issue #14, item 4: the server folds a localpart's case and a domain's, so
// "World@Localhost" and "world@localhost" are one account and
// "Alice@Localhost/r" and "alice@localhost/r" one session. Every comparison
// the daemon makes (the registry key, the server user filter, held mail,
// receipts) is on the canonical form.

const broker = (user_id: string, present: boolean) => {
  const parsed = parseMongooseImEvent(Buffer.from(JSON.stringify({ user_id, present })));
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed;
};

describe("JIDs compared in canonical form (issue #14, item 4)", () => {
  it("two spellings of one session from the broker are one session, notified under one name", async () => {
    const t = setup();
    t.server.connect();
    for (const [user, present] of [
      ["Alice@Localhost/r", true],
      ["alice@localhost/r", true],
      ["alice@LOCALHOST./r", false],
    ] as const) {
      const { jid, event } = broker(user, present);
      t.service.intake.sink.accept(jid, event);
    }
    await settle();
    expect(t.notified()).toEqual([
      { user: "alice@localhost/r", presence: "available" },
      { user: "alice@localhost/r", presence: "unavailable" },
    ]);
    expect(t.service.intake.registry.size).toBe(0);
  });

  it("two spellings of one session over XMPP are one session", async () => {
    const t = setup();
    t.server.connect();
    t.server.deliver(available("Alice@Localhost/r"));
    t.server.deliver(unavailable("alice@localhost/r"));
    await settle();
    expect(t.notified().map((n) => n.presence)).toEqual(["available", "unavailable"]);
    expect(t.service.intake.registry.size).toBe(0);
  });

  it("the server user's own session spelled with capitals is not notified to itself", async () => {
    const t = setup();
    t.server.connect();
    t.server.deliver(available("World@Localhost/backend"));
    await settle();
    expect(t.notified()).toEqual([]);
    expect(t.service.counters.get("presence_filtered")).toBe(1);
  });

  it("held mail is released when the server user comes online under another spelling", async () => {
    const t = setup();
    t.server.offline.add("world@localhost");
    t.server.connect();
    t.server.deliver(available("u@localhost/a"));
    await settle();
    expect(t.service.outbox.held.size).toBe(1);
    t.server.offline.delete("world@localhost");
    t.server.deliver(available("WORLD@localhost/backend"));
    await settle();
    expect(t.notified().map((n) => n.user)).toEqual(["u@localhost/a"]);
    expect(t.service.outbox.held.size).toBe(0);
  });

  it("a receipt from the server user under another spelling acknowledges its notification", async () => {
    const t = setup({ notify: { receiptTimeoutMs: 5_000 } });
    t.server.connect();
    t.server.deliver(available("u@localhost/a"));
    await settle();
    const trace = t.server.messages()[0]?.attrs.id;
    t.server.deliver(
      `<message from="World@LocalHost/game" to="presence.localhost"><received xmlns="${NS_RECEIPTS}" id="${trace}"/></message>`,
    );
    await settle();
    expect(t.service.outbox.awaiting?.size).toBe(0);
    expect(t.service.counters.get("receipts_unmatched")).toBe(0);
  });

  it("a session the server's list spells otherwise is the session already known", async () => {
    let listed = ["alice@localhost/r"];
    const t = setup({ sessionList: async () => listed.map((jid) => ({ jid, show: undefined })) });
    t.server.connect();
    t.clock.increment(1_000);
    await settle();
    t.server.drop();
    listed = ["Alice@LocalHost/r"];
    t.server.connect();
    t.clock.increment(1_000);
    await settle();
    expect(t.notified()).toEqual([{ user: "alice@localhost/r", presence: "available" }]);
    expect(t.service.intake.registry.size).toBe(1);
  });
});
