import { describe, expect, it } from "vitest";
import { clientAgainst, sorted } from "./setup.js";

// The client's own lifecycle: reconnecting with backoff on the injected
// clock, giving up only on refused credentials, a new snapshot after every
// reconnect and resync signal, and a daemon without the snapshot feature.

const A = "a@localhost/r";
const B = "b@localhost/r";

describe("reconnecting", () => {
  it("retries a failed login after 1 s doubling to the cap (8 s here), then resets once in", async () => {
    const t = clientAgainst();
    t.peer.nextLogin = "fail";
    t.client.start();
    await t.settle();
    const loginsAfter = async (ms: number) => {
      t.clock.increment(ms);
      await t.settle();
      return t.peer.logins;
    };
    expect(t.peer.logins).toBe(1);
    expect(await loginsAfter(999)).toBe(1);
    expect(await loginsAfter(1)).toBe(2);
    expect(await loginsAfter(2_000)).toBe(3);
    expect(await loginsAfter(4_000)).toBe(4);
    expect(await loginsAfter(8_000)).toBe(5);
    expect(await loginsAfter(7_999)).toBe(5);
    expect(await loginsAfter(1)).toBe(6);
    expect(t.client.health()).toMatchObject({ connected: false, phase: "backoff" });
    expect(t.client.health().lastError).toBe("connection refused");
    t.peer.nextLogin = "ok";
    expect(await loginsAfter(8_000)).toBe(7);
    expect(t.client.health().connected).toBe(true);
    t.peer.drop();
    await t.settle();
    expect(t.client.health()).toMatchObject({ connected: false, phase: "backoff" });
    expect(await loginsAfter(1_000)).toBe(8); // the count started again
    await t.client.stop();
  });

  it("stops for good, with a fatal event, when the server refuses the credentials", async () => {
    const t = clientAgainst();
    t.peer.nextLogin = "refuse";
    t.client.start();
    await t.settle();
    t.clock.increment(120_000);
    await t.settle();
    expect(t.peer.logins).toBe(1);
    expect(t.client.health().phase).toBe("failed");
    expect(t.fatal.map((e) => e.message)).toEqual(["not-authorized"]);
  });

  it("takes a new snapshot after a reconnect and keeps no session the daemon no longer has", async () => {
    const t = clientAgainst();
    t.client.start();
    t.peer.transition(A, "available");
    await t.flush();
    t.peer.drop();
    t.peer.transition(A, "unavailable");
    t.peer.pending.length = 0; // lost with the old session
    await t.flush();
    expect(t.client.online().size).toBe(0);
    expect(t.client.health()).toMatchObject({ snapshots: 2, reconnects: 1, phase: "live" });
  });

  it("a session lost while its initial presence goes out is a failed attempt, retried", async () => {
    // Regression: the loss was ignored before the session was recorded, and
    // the client stayed "connected" on a dead connection for good.
    const t = clientAgainst();
    t.peer.dropOnPresence = true;
    t.client.start();
    await t.settle();
    expect(t.client.health()).toMatchObject({ connected: false, phase: "backoff" });
    t.clock.increment(1_000);
    await t.flush();
    expect(t.peer.logins).toBe(2);
    expect(t.client.health()).toMatchObject({ connected: true, phase: "live" });
  });

  it("stop() ends the session and any retry; nothing reconnects afterwards", async () => {
    const t = clientAgainst();
    t.client.start();
    await t.flush();
    await t.client.stop();
    expect(t.peer.connected).toBe(false);
    t.clock.increment(600_000);
    await t.settle();
    expect(t.peer.logins).toBe(1);
    expect(t.client.health()).toMatchObject({ phase: "stopped", connected: false });
  });
});

describe("the resync signal", () => {
  it("takes a new snapshot, reported with the signal's reason", async () => {
    const t = clientAgainst();
    t.client.start();
    t.peer.transition(A, "available");
    await t.flush();
    t.peer.resync("takeover");
    await t.flush();
    expect(t.snapshots.map((s) => [s.trigger, s.reason])).toEqual([
      ["connect", undefined],
      ["resync", "takeover"],
    ]);
    expect(t.client.health().resyncs).toBe(1);
  });

  /** Paging a snapshot of A and B one page at a time, the first page answered (frozen at 1002). */
  async function midPaging() {
    const t = clientAgainst({}, { pageSize: 1 });
    t.client.start();
    t.peer.transition(A, "available");
    t.peer.transition(B, "available");
    t.peer.pending.length = 0;
    await t.settle();
    t.peer.answer(); // disco
    await t.settle();
    t.peer.answer(); // page 1
    await t.settle();
    return t;
  }
  const firstPages = (t: ReturnType<typeof clientAgainst>) =>
    t.peer.fromClient.filter(
      (s) => s.getChild("snapshot") && !s.getChild("snapshot")?.getChild("set")?.getChild("after"),
    ).length;

  it("during paging, no second snapshot when the one being paged was frozen after the signal", async () => {
    const t = await midPaging();
    t.peer.resync("dead-letter"); // at 1002: the frozen snapshot covers it
    t.peer.deliver();
    await t.flush();
    expect(t.snapshots).toHaveLength(1);
    expect(firstPages(t)).toBe(1);
    expect(t.client.health().resyncs).toBe(1);
  });

  it("during paging, another snapshot when the signal came after the freeze", async () => {
    const t = await midPaging();
    t.peer.transition(B, "unavailable"); // 1003
    t.peer.resync("dead-letter"); // at 1003
    t.peer.deliver();
    t.peer.deliver(); // both while page 2 is still to come
    await t.flush();
    expect(t.snapshots.map((s) => [s.trigger, s.reason, s.position])).toEqual([
      ["connect", undefined, 1002],
      ["resync", "dead-letter", 1003],
    ]);
    expect(sorted(t.client.online())).toEqual([A]);
  });
});

describe("a daemon without the snapshot feature", () => {
  it("applies notifications as they come (disco#info answered with an error, as today's daemon does)", async () => {
    const t = clientAgainst({ disco: "error" });
    t.client.start();
    await t.flush();
    t.peer.transition(A, "available");
    await t.flush();
    expect(sorted(t.client.online())).toEqual([A]);
    expect(t.client.health()).toMatchObject({
      phase: "unspliced",
      snapshotSupported: false,
      snapshots: 0,
      lastSnapshotPosition: undefined,
    });
    expect(t.peer.requests).toEqual([]);
  });

  it("keeps its view across a reconnect (held mail brings what it missed)", async () => {
    const t = clientAgainst({ disco: "plain" });
    t.client.start();
    t.peer.transition(A, "available");
    await t.flush();
    t.peer.drop();
    t.peer.transition(B, "available"); // held while it is away
    await t.flush();
    expect(sorted(t.client.online())).toEqual([A, B]);
  });

  it("asks disco#info again after a timeout, instead of deciding there is no feature", async () => {
    const t = clientAgainst({ disco: "silent" }, { timeout: 5_000 });
    t.client.start();
    await t.settle();
    t.peer.answer(); // swallowed: no answer
    t.clock.increment(5_000);
    await t.settle();
    expect(t.client.health().phase).toBe("reprobing");
    expect(t.warnings).toEqual(["disco#info: no answer from presence.localhost within 5000 ms"]);
    t.clock.increment(1_000);
    await t.settle();
    expect(t.client.health().phase).toBe("probing");
  });
});
