import { afterAll, describe, expect, it } from "vitest";
import { settle } from "../../support/memory-link.js";
import { tempDir } from "../store/temp-store.js";
import { available, unavailable } from "./setup.js";
import { durableDaemon, pass, view } from "./store-failure-setup.js";

// Durable mode with the opt-in payload fields and notify.level = "user": a
// queued notification keeps its fields across a restart, the user level's
// counts come back from the stored sessions, and a reconcile after the
// state file refused too many commits is told per user.

const NOTIFY = {
  level: "user" as const,
  fields: ["ts" as const, "reason" as const],
  sequence: "session" as const,
};

describe("durable mode at user level", () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it("keeps queued fields, each user's resources and its numbers across a restart", async () => {
    const path = dir.file();
    const before = durableDaemon(path, { notify: NOTIFY });
    before.server.connect();
    before.clock.increment(1_000);
    for (const jid of ["alice@localhost/phone", "alice@localhost/laptop", "bob@localhost/x"]) {
      before.server.deliver(available(jid));
    }
    await settle();
    before.server.drop();
    before.clock.increment(1_000);
    before.server.deliver(unavailable("alice@localhost/phone")); // not told: laptop is left
    before.server.deliver(unavailable("bob@localhost/x")); // queued, the link is down
    await settle();
    expect(before.notified().map((a) => [a.user, a.presence])).toEqual([
      ["alice@localhost", "available"],
      ["bob@localhost", "available"],
    ]);
    before.stop();

    const after = durableDaemon(path, { notify: NOTIFY });
    // Every session change was committed, told or not.
    expect(after.store.sessions.load()).toEqual(["alice@localhost/laptop"]);
    after.server.liveSessions.add("alice@localhost/laptop"); // answers the resync's ping
    after.server.connect();
    await pass(after, 2_000);
    after.server.deliver(available("alice@localhost/tablet")); // her second resource: not told
    after.server.deliver(unavailable("alice@localhost/laptop"));
    after.server.deliver(unavailable("alice@localhost/tablet"));
    await settle();
    expect(after.notified()).toEqual([
      {
        user: "bob@localhost",
        presence: "unavailable",
        seq: 2,
        ts: 2_000,
        reason: "unavailable",
        resources: 0,
      },
      {
        user: "alice@localhost",
        presence: "unavailable",
        seq: 2,
        ts: after.clock.now(),
        reason: "unavailable",
        resources: 0,
      },
    ]);
    after.stop();
  });

  it("after the state file refused more than it could keep, the reconcile is told per user", async () => {
    const t = durableDaemon(dir.file(), {
      capacity: 3,
      notify: { level: "user", fields: ["reason"] },
    });
    t.server.connect();
    t.server.deliver(available("alice@localhost/a"));
    t.server.deliver(available("bob@localhost/b"));
    await settle();
    t.disk.full = true;
    for (let i = 0; i < 6; i++) t.server.deliver(available(`u${i}@localhost/r`));
    t.server.deliver(available("alice@localhost/a2"));
    t.server.deliver(unavailable("alice@localhost/a"));
    t.server.deliver(unavailable("bob@localhost/b"));
    await pass(t, 5_000);
    t.disk.full = false;
    await pass(t, 10_000);
    expect(t.service.counters.get("store_backlog_overflows")).toBe(1);
    const told = t.notified() as { user: string; presence: string; reason?: string }[];
    const users = ["alice@localhost", ...Array.from({ length: 6 }, (_, i) => `u${i}@localhost`)];
    expect(view(told)).toEqual(users.sort());
    // What the overflow dropped was told by the reconcile, per user.
    const recovered = told.filter((n) => n.reason === "store-recovered");
    expect(recovered.length).toBeGreaterThan(0);
    expect(recovered.every((n) => !n.user.includes("/"))).toBe(true);
    t.stop();
  });
});
