import { describe, expect, it } from "vitest";
import { settle } from "../../support/memory-link.js";
import { setup } from "./setup.js";

// Servers that replay nothing (ejabberd) but list their sessions (admin API):
// on every connect our view is made equal to the server's list.

describe("reconciliation with the server's session list", () => {
  it("learns sessions at connect, and after an outage announces arrivals and reports departures", async () => {
    let online = ["a@localhost/r", "b@localhost/r"];
    const t = setup({ sessionList: async () => online.map((jid) => ({ jid, show: undefined })) });
    t.server.connect();
    t.clock.increment(1_000);
    await settle();
    expect(t.notified()).toEqual([
      { user: "a@localhost/r", presence: "available" },
      { user: "b@localhost/r", presence: "available" },
    ]);

    t.server.drop();
    online = ["a@localhost/r", "c@localhost/r"]; // b left, c came, while we were away
    t.server.connect();
    t.clock.increment(1_000);
    await settle();
    expect(t.notified().slice(2)).toEqual([
      { user: "c@localhost/r", presence: "available" },
      { user: "b@localhost/r", presence: "unavailable" },
    ]);
    expect(
      [...t.service.intake.registry.sessionsInState({ presence: "available" })].sort(),
    ).toEqual(online);
  });

  it("filters listed sessions like presences, the server user included", async () => {
    const t = setup({
      notify: { include: ["flux.*"] },
      sessionList: async () => [
        { jid: "world@localhost/backend", show: undefined },
        { jid: "human@localhost/r", show: undefined },
        { jid: "flux.actor.1@localhost/r", show: "away" },
        { jid: "not a jid", show: undefined },
      ],
    });
    t.server.connect();
    t.clock.increment(1_000);
    await settle();
    expect(t.notified()).toEqual([{ user: "flux.actor.1@localhost/r", presence: "available" }]);
    expect(t.service.intake.registry.stateOf("flux.actor.1@localhost/r").show).toBe("away");
  });

  it("falls back to pings when the list cannot be had", async () => {
    const t = setup({
      sessionList: async () => {
        throw new Error("connection refused");
      },
    });
    t.server.connect();
    t.server.deliver(`<presence from="gone@localhost/r"/>`);
    await settle();
    t.server.drop();
    t.server.connect();
    t.clock.increment(1_000);
    await settle();
    expect(t.records.some((r) => r.msg === "the server's session list failed; falling back")).toBe(
      true,
    );
    expect(t.notified().at(-1)).toEqual({ user: "gone@localhost/r", presence: "unavailable" });
  });
});
