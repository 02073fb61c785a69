import { describe, expect, it } from "vitest";
import { NS_FLUX, NS_RECEIPTS } from "../../../src/protocol/notification.js";
import { settle } from "../../support/memory-link.js";
import { available, setup, unavailable } from "./setup.js";

// Opt-in XEP-0184 receipts (notify.receipt_timeout): a notification the
// server took but the server user never confirmed is sent again, so a server
// that loses accepted messages (a crash) cannot lose notifications unseen.

const TIMEOUT = 30_000;
const traces = (t: ReturnType<typeof setup>) =>
  t.server
    .messages()
    .map((m) => JSON.parse(m.getChild("event", NS_FLUX)?.getText() ?? "{}").trace as string);

describe("XEP-0184 receipts", () => {
  it("asks for a receipt in every notification and forgets it once acknowledged", async () => {
    const t = setup({ notify: { receiptTimeoutMs: TIMEOUT } });
    t.server.answersReceipts.add("world@localhost");
    t.server.connect();
    t.server.deliver(available("u@localhost/a"));
    t.server.deliver(unavailable("u@localhost/a"));
    await settle();
    const sent = t.server.messages();
    expect(sent).toHaveLength(2);
    for (const m of sent) expect(m.getChild("request", NS_RECEIPTS)).toBeDefined();
    expect(t.service.outbox.awaiting?.size).toBe(0);
    expect(t.service.counters.get("notifications_acknowledged")).toBe(2);
    t.clock.increment(TIMEOUT * 3);
    await settle();
    expect(t.server.messages()).toHaveLength(2);
  });

  it("sends again, same traces and in order, what the server took and lost", async () => {
    const t = setup({ notify: { receiptTimeoutMs: TIMEOUT } });
    t.server.answersReceipts.add("world@localhost");
    t.server.connect();
    t.server.swallow = true; // accepted, then lost without a bounce
    for (const r of ["a", "b", "c"]) t.server.deliver(available(`u@localhost/${r}`));
    await settle();
    const lost = traces(t);
    expect(lost).toEqual([]);
    expect(t.service.outbox.awaiting?.size).toBe(3);
    t.server.swallow = false;
    t.clock.increment(TIMEOUT); // the receipts are overdue: held, released after a backoff
    await settle();
    t.clock.increment(2_000);
    await settle();
    expect(t.notified().map((n) => n.user)).toEqual(["a", "b", "c"].map((r) => `u@localhost/${r}`));
    expect(t.service.counters.get("notifications_resent_no_receipt")).toBe(3);
    expect(t.service.outbox.awaiting?.size).toBe(0);
    expect(t.service.outbox.held.size).toBe(0);
  });

  it("a resend after a timeout can come after newer mail: the trace and seq tell", async () => {
    // Without a dropped link, newer mail is not held back behind mail that
    // awaits a receipt (that would be one message in flight at a time), so a
    // notification lost silently arrives again after it. `notify.sequence`
    // lets the consumer see it is older than what it has.
    const t = setup({ notify: { receiptTimeoutMs: TIMEOUT, sequence: "session" } });
    t.server.answersReceipts.add("world@localhost");
    t.server.connect();
    t.server.swallow = true;
    t.server.deliver(available("u@localhost/a"));
    await settle();
    t.server.swallow = false;
    t.server.deliver(unavailable("u@localhost/a"));
    await settle();
    t.clock.increment(TIMEOUT);
    await settle();
    t.clock.increment(2_000);
    await settle();
    expect(t.notified()).toEqual([
      { user: "u@localhost/a", presence: "unavailable", seq: 2 },
      { user: "u@localhost/a", presence: "available", seq: 1 },
    ]);
  });

  it("sends again after a reconnect what was unacknowledged when the link dropped", async () => {
    const t = setup({ notify: { receiptTimeoutMs: TIMEOUT } });
    t.server.connect();
    t.server.deliver(available("u@localhost/a"));
    await settle();
    const [first] = traces(t);
    t.server.drop();
    t.server.answersReceipts.add("world@localhost");
    t.server.connect();
    // The server's replay shows the server user online: held mail goes at once.
    t.server.deliver(available("world@localhost/game"));
    await settle();
    expect(traces(t)).toEqual([first, first]);
    expect(t.service.counters.get("notifications_resent_link_lost")).toBe(1);
    expect(t.service.outbox.awaiting?.size).toBe(0);
  });

  it("ignores a receipt from anyone but the server user the notification went to", async () => {
    const t = setup({ notify: { receiptTimeoutMs: TIMEOUT } });
    t.server.connect();
    t.server.deliver(available("u@localhost/a"));
    await settle();
    const [trace] = traces(t);
    t.server.deliver(
      `<message from="mallory@localhost/x" to="presence.localhost"><received xmlns="${NS_RECEIPTS}" id="${trace}"/></message>`,
    );
    await settle();
    expect(t.service.outbox.awaiting?.size).toBe(1);
    expect(t.service.counters.get("receipts_unmatched")).toBe(1);
    t.server.deliver(
      `<message from="world@localhost/game" to="presence.localhost"><received xmlns="${NS_RECEIPTS}" id="${trace}"/></message>`,
    );
    await settle();
    expect(t.service.outbox.awaiting?.size).toBe(0);
  });

  it("pauses sending while mailbox.capacity notifications await a receipt", async () => {
    const t = setup({ notify: { receiptTimeoutMs: TIMEOUT }, mailbox: { capacity: 3 } });
    t.server.connect();
    for (const r of ["a", "b", "c"]) t.server.deliver(available(`u@localhost/${r}`));
    await settle();
    t.server.deliver(available("u@localhost/d"));
    await settle();
    expect(t.notified()).toHaveLength(3);
    expect(t.service.outbox.mailbox.size).toBe(1);
    t.server.deliver(
      `<message from="world@localhost/game" to="presence.localhost"><received xmlns="${NS_RECEIPTS}" id="${traces(t)[0]}"/></message>`,
    );
    await settle();
    expect(t.notified().map((n) => n.user)).toEqual(
      ["a", "b", "c", "d"].map((r) => `u@localhost/${r}`),
    );
  });

  it("a bounce hands the notification to held mail, not to the receipt timer", async () => {
    const t = setup({ notify: { receiptTimeoutMs: TIMEOUT } });
    t.server.offline.add("world@localhost");
    t.server.connect();
    t.server.deliver(available("u@localhost/a"));
    await settle();
    expect(t.service.outbox.awaiting?.size).toBe(0);
    expect(t.service.outbox.held.size).toBe(1);
    expect(t.service.counters.get("notifications_resent_no_receipt")).toBe(0);
  });
});
