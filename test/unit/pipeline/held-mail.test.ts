import { describe, expect, it } from "vitest";
import { settle } from "../../support/memory-link.js";
import { available, setup } from "./setup.js";

// A server user offline: the server bounces its notifications; they are held
// and sent again, in order, when it is back.

describe("bounced notifications", () => {
  it("are held while the server user is offline and delivered in order when it comes back", async () => {
    const t = setup();
    t.server.offline.add("world@localhost");
    t.server.connect();
    for (const r of ["a", "b", "c"]) t.server.deliver(available(`u@localhost/${r}`));
    await settle();
    expect(t.notified()).toEqual([]);
    expect(t.service.outbox.held.size).toBe(3);
    // A newer one must not overtake the held ones.
    t.server.offline.delete("world@localhost");
    t.server.deliver(available("u@localhost/d"));
    await settle();
    expect(t.notified()).toEqual([]);
    // The server user's session comes online: the component sees its presence.
    t.server.deliver(available("world@localhost/backend"));
    await settle();
    expect(t.notified().map((n) => n.user)).toEqual(
      ["a", "b", "c", "d"].map((r) => `u@localhost/${r}`),
    );
    expect(t.service.outbox.held.size).toBe(0);
    expect(t.records.some((r) => r.event === "presence_notify_error")).toBe(false);
  });

  it("are retried with backoff even without seeing the server user come back", async () => {
    const t = setup();
    t.server.offline.add("world@localhost");
    t.server.connect();
    t.server.deliver(available("u@localhost/a"));
    await settle();
    t.clock.increment(1_000); // first retry: still offline, bounced again
    await settle();
    expect(t.service.counters.get("notifications_bounced")).toBe(2);
    t.clock.increment(1_000); // the backoff doubled: not yet
    await settle();
    expect(t.service.counters.get("notifications_bounced")).toBe(2);
    t.server.offline.delete("world@localhost");
    t.clock.increment(1_000); // second retry, 2 s after the first
    await settle();
    expect(t.notified().map((n) => n.user)).toEqual(["u@localhost/a"]);
  });

  it("keep other server users' mail flowing", async () => {
    const t = setup();
    t.server.offline.add("world@localhost");
    t.server.connect();
    t.server.deliver(available("u@localhost/a"));
    t.server.deliver(available("v@example.test/b"));
    await settle();
    expect(t.notified().map((n) => n.user)).toEqual(["v@example.test/b"]);
  });
});

describe("mail queued while a server user's held mail is released", () => {
  it("goes out right after the released mail, in order, without waiting for a retry", async () => {
    const t = setup();
    t.server.offline.add("world@localhost");
    t.server.connect();
    t.server.drop();
    for (const r of ["a", "b"]) t.server.deliver(available(`u@localhost/${r}`));
    t.server.connect();
    await settle();
    expect(t.service.outbox.held.size).toBe(2);
    // The link goes down before the server user comes back: the release and
    // a newer notification meet in the queue.
    t.server.drop();
    t.server.offline.delete("world@localhost");
    t.server.deliver(available("world@localhost/backend"));
    t.server.deliver(available("u@localhost/c"));
    t.server.connect();
    await settle();
    expect(t.notified().map((n) => n.user)).toEqual(["a", "b", "c"].map((r) => `u@localhost/${r}`));
    expect(t.service.outbox.held.size).toBe(0);
  });
});
