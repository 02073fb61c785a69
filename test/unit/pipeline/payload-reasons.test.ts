import { describe, expect, it } from "vitest";
import { settle } from "../../support/memory-link.js";
import { ADVERTISEMENT, online, reconnect, stamped } from "./resync-setup.js";
import { available, setup, unavailable } from "./setup.js";

// notify.fields = ["ts", "reason"]: each reason produced by the path that
// really causes it, through the whole service (router, machines, resync,
// liveness, the outbound stages, the notifier), on a simulated clock.

const FIELDS = { fields: ["ts", "reason"] as const };

/** `args` of every notification sent about `user`. */
const about = (t: ReturnType<typeof setup>, user: string) =>
  t.notified().filter((a) => a.user === user);

describe("args.reason and args.ts", () => {
  it("a login and a goodbye: login, unavailable, each at the moment its machine took it", async () => {
    const t = setup({ notify: FIELDS });
    t.server.connect();
    t.clock.increment(1_733_100_000_000);
    t.server.deliver(available("alice@localhost/phone"));
    t.clock.increment(250);
    t.server.deliver(unavailable("alice@localhost/phone"));
    await settle();
    expect(about(t, "alice@localhost/phone")).toEqual([
      {
        user: "alice@localhost/phone",
        presence: "available",
        ts: 1_733_100_000_000,
        reason: "login",
      },
      {
        user: "alice@localhost/phone",
        presence: "unavailable",
        ts: 1_733_100_000_250,
        reason: "unavailable",
      },
    ]);
  });

  it("a session Prosody ended on a stream error: server", async () => {
    const t = setup({ notify: FIELDS });
    t.server.connect();
    t.server.deliver(available("carol@localhost/laptop"));
    // mod_presence's presence on resource-unbind with an error (a stream error).
    t.server.deliver(
      `<presence type="unavailable" from="carol@localhost/laptop" to="presence.localhost"><status>Disconnected: not-well-formed</status></presence>`,
    );
    await settle();
    expect(about(t, "carol@localhost/laptop").map((a) => a.reason)).toEqual(["login", "server"]);
  });

  it("a socket lost without a word (ejabberd): liveness, when two pings go unanswered", async () => {
    const t = setup({
      notify: FIELDS,
      liveness: { intervalMs: 10_000, timeoutMs: 5_000, maxRate: 200 },
    });
    t.server.connect();
    t.server.deliver(available("dave@localhost/r"));
    await settle();
    // A half-open socket: the server still routes the ping, nobody answers.
    t.server.silentSessions.add("dave@localhost/r");
    for (const ms of [10_100, 5_000, 5_000]) {
      t.clock.increment(ms);
      await settle();
    }
    const gone = about(t, "dave@localhost/r").at(-1);
    expect(gone).toEqual({
      user: "dave@localhost/r",
      presence: "unavailable",
      ts: t.clock.now(),
      reason: "liveness",
    });
  });

  it("after a reconnect, a session the replay left out: reconciliation; one it brought: replay", async () => {
    const t = setup({ notify: FIELDS });
    await online(t, "u@localhost/a", "u@localhost/b");
    reconnect(t, [ADVERTISEMENT, stamped("u@localhost/a"), stamped("new@localhost/c")]);
    t.clock.increment(1_000);
    await settle();
    expect(about(t, "u@localhost/b").map((a) => a.reason)).toEqual(["login", "reconciliation"]);
    expect(about(t, "new@localhost/c").map((a) => a.reason)).toEqual(["replay"]);
    expect(about(t, "u@localhost/a").map((a) => a.reason)).toEqual(["login"]);
  });

  it("the server's session list: listed for a session it names, reconciliation for one it does not", async () => {
    let listed = ["a@localhost/r"];
    const t = setup({
      notify: FIELDS,
      sessionList: async () => listed.map((jid) => ({ jid, show: undefined })),
    });
    t.server.connect();
    t.clock.increment(1_000);
    await settle();
    t.server.drop();
    listed = ["b@localhost/r"];
    t.server.connect();
    t.clock.increment(1_000);
    await settle();
    expect(t.notified().map((a) => [a.user, a.presence, a.reason])).toEqual([
      ["a@localhost/r", "available", "listed"],
      ["b@localhost/r", "available", "listed"],
      ["a@localhost/r", "unavailable", "reconciliation"],
    ]);
  });

  it("ts is when the change happened, not when it was sent (flap damping, an outage)", async () => {
    const t = setup({ notify: { ...FIELDS, flapWindowMs: 2_000 } });
    t.server.connect();
    t.clock.increment(5_000);
    t.server.deliver(available("erin@localhost/r"));
    t.server.drop();
    t.clock.increment(2_000); // the damper lets it go, into a mailbox that waits for the link
    await settle();
    t.clock.increment(60_000);
    t.server.connect();
    await settle();
    expect(t.notified()).toEqual([
      { user: "erin@localhost/r", presence: "available", ts: 5_000, reason: "login" },
    ]);
  });

  it("a reload applies notify.fields to the changes after it, the default bytes before", async () => {
    const t = setup();
    t.server.connect();
    t.server.deliver(available("f@localhost/r"));
    await settle();
    t.reload({ notify: { fields: ["reason"] } });
    t.server.deliver(unavailable("f@localhost/r"));
    await settle();
    expect(t.notified()).toEqual([
      { user: "f@localhost/r", presence: "available" },
      { user: "f@localhost/r", presence: "unavailable", reason: "unavailable" },
    ]);
  });
});
