import { describe, expect, it } from "vitest";
import { settle } from "../../support/memory-link.js";
import { available, setup } from "./setup.js";

// Issue #14, item 7: a type="error" bounce is acted on only when it comes
// from whom it concerns: the server user the notification went to (bare or
// full JID) or that server user's server. Anyone else who learned a trace
// could otherwise stall the server user's mail with backoff.

const bounce = (from: string, id: string, condition = "service-unavailable") =>
  `<message type="error" from="${from}" to="presence.localhost" id="${id}"><error type="cancel"><${condition} xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error></message>`;

describe("bounces only from whom they concern (issue #14, item 7)", () => {
  it.each([
    ["another user", "mallory@localhost"],
    ["another user's session", "mallory@localhost/x"],
    ["another server", "evil.example"],
    ["the server user's name on another server", "world@evil.example/x"],
  ])("a bounce from %s changes nothing", async (_who, from) => {
    const t = setup({ notify: { receiptTimeoutMs: 5_000 } });
    t.server.connect();
    t.server.deliver(available("u@localhost/a"));
    await settle();
    const trace = t.server.messages()[0]?.attrs.id ?? "";
    t.server.deliver(bounce(from, trace));
    t.server.deliver(bounce(from, trace, "item-not-found"));
    await settle();
    expect(t.service.outbox.held.size).toBe(0);
    // Still awaiting its receipt: the refused bounce did not take it over.
    expect(t.service.outbox.awaiting?.size).toBe(1);
    expect(t.service.counters.get("bounces_refused")).toBe(2);
    expect(t.records.some((r) => r.event === "presence_notify_error")).toBe(false);
  });

  it.each([
    ["the server user's bare JID", "world@localhost"],
    ["the server user's session, spelled otherwise", "World@localhost/game"],
    ["its server", "localhost"],
  ])("a bounce from %s holds the notification", async (_who, from) => {
    const t = setup();
    t.server.connect();
    t.server.deliver(available("u@localhost/a"));
    await settle();
    const trace = t.server.messages()[0]?.attrs.id ?? "";
    t.server.deliver(bounce(from, trace));
    await settle();
    expect(t.service.outbox.held.size).toBe(1);
    expect(t.service.counters.get("bounces_refused")).toBe(0);
  });
});

describe("bounces for nothing we sent", () => {
  it("a flood of bounces with unknown ids is counted and rate-logged, not one error line each (regression: each logged presence_notify_error)", async () => {
    const t = setup();
    t.server.connect();
    await settle();
    for (let i = 0; i < 1_000; i++) t.server.deliver(bounce("mallory@localhost", `made-up-${i}`));
    await settle();
    expect(t.service.counters.get("bounces_unknown")).toBe(1_000);
    expect(t.records.filter((r) => r.event === "presence_notify_error")).toHaveLength(0);
    expect(t.records.filter((r) => r.count !== undefined).length).toBeLessThanOrEqual(11);
  });
});
