import { describe, expect, it } from "vitest";
import { NS_SNAPSHOT } from "../../support/memory-presence-peer.js";
import { clientAgainst, sorted } from "./setup.js";

// Taking the snapshot on connect (XEP-0059 paging of the snapshot IQ) and
// splicing the notifications that arrive meanwhile, by pos.

const A = "a@localhost/r";
const B = "b@localhost/r";
const C = "c@localhost/r";

async function connected(peerOptions = {}, options = {}) {
  const t = clientAgainst(peerOptions, options);
  t.client.start();
  await t.settle();
  return t;
}

const snapshotRequests = (t: ReturnType<typeof clientAgainst>) =>
  t.peer.fromClient
    .map((s) => s.getChild("snapshot", NS_SNAPSHOT))
    .filter((s) => s !== undefined)
    .map((s) => ({
      max: s.getChild("set")?.getChildText("max"),
      after: s.getChild("set")?.getChildText("after") ?? undefined,
    }));

describe("the snapshot on connect", () => {
  it("asks disco#info, then pages the snapshot with RSM <max>/<after> until the count", async () => {
    const t = await connected({}, { pageSize: 2 });
    for (const u of [A, B, C]) t.peer.transition(u, "available");
    t.peer.pending.length = 0; // online before the client: only the snapshot tells
    expect(t.peer.presences).toHaveLength(1); // initial presence: the server routes to us
    expect(t.peer.requests[0]?.getChild("query")?.attrs.xmlns).toBe(
      "http://jabber.org/protocol/disco#info",
    );
    await t.flush();
    const [first, second] = snapshotRequests(t);
    expect(first).toEqual({ max: "2", after: undefined });
    expect(second?.after).toMatch(/:1$/);
    expect(snapshotRequests(t)).toHaveLength(2);
    expect(sorted(t.client.online())).toEqual([A, B, C]);
    expect(t.snapshots).toEqual([
      { trigger: "connect", position: 1003, epoch: "e1", sessions: [A, B, C] },
    ]);
    expect(t.client.health()).toMatchObject({
      phase: "live",
      snapshotSupported: true,
      lastSnapshotPosition: 1003,
      snapshots: 1,
      online: 3,
    });
  });

  it("buffers notifications while paging, then applies only those after the snapshot's position", async () => {
    const t = await connected({}, { pageSize: 1 });
    t.peer.transition(A, "available"); // pos 1001
    t.peer.transition(C, "available"); // 1002
    t.peer.answer(); // disco
    await t.settle();
    t.peer.answer(); // page 1 of 2, frozen at 1002: A
    await t.settle();
    t.peer.transition(B, "available"); // 1003, after the freeze
    t.peer.deliver(2); // B first...
    t.peer.deliver(0); // ...then A's own notification, already in the snapshot
    await t.settle();
    expect(t.client.health()).toMatchObject({ phase: "paging", buffered: 2 });
    expect(t.client.online().size).toBe(0); // the previous view until the snapshot is whole
    t.peer.answer(); // page 2: C
    await t.settle();
    expect(sorted(t.client.online())).toEqual([A, B, C]);
    expect(t.client.health()).toMatchObject({ staleDropped: 1, buffered: 0, phase: "live" });
    t.peer.deliver(0); // C's, late: before the snapshot too
    await t.settle();
    expect(t.client.health().staleDropped).toBe(2);
    expect(t.changes.map((c) => [c.user, c.presence, c.cause])).toEqual([
      [A, "available", "snapshot"],
      [C, "available", "snapshot"],
      [B, "available", "notification"],
    ]);
    expect(t.changes[2]).toMatchObject({ pos: 1003 });
  });

  it("starts over when the daemon forgot the snapshot between pages (item-not-found)", async () => {
    const t = await connected({}, { pageSize: 1 });
    for (const u of [A, B]) t.peer.transition(u, "available");
    t.peer.pending.length = 0;
    t.peer.answer(); // disco
    await t.settle();
    t.peer.answer(); // page 1
    await t.settle();
    t.peer.expire();
    await t.flush();
    const requests = snapshotRequests(t);
    expect(requests.map((r) => r.after === undefined)).toEqual([true, false, true, false]);
    expect(sorted(t.client.online())).toEqual([A, B]);
  });

  it("keeps to notifications, with a warning, when the daemon refuses the snapshot (forbidden)", async () => {
    const t = await connected({ snapshotError: "forbidden" });
    t.peer.transition(A, "available");
    await t.flush();
    expect(t.client.health()).toMatchObject({ phase: "unspliced", snapshotSupported: true });
    expect(t.warnings).toEqual([
      "the daemon answered the snapshot request with forbidden: notifications only on this connection",
    ]);
    expect(sorted(t.client.online())).toEqual([A]);
  });

  it("sends a new snapshot's differences as changes, so a listener of changes alone stays right", async () => {
    const t = await connected();
    t.peer.transition(A, "available");
    await t.flush();
    t.peer.drop();
    // While it is away: A leaves, B comes; the mail for it is lost with its session.
    t.peer.transition(A, "unavailable");
    t.peer.transition(B, "available");
    t.peer.pending.length = 0;
    await t.flush();
    expect(t.snapshots.map((s) => s.trigger)).toEqual(["connect", "connect"]);
    expect(t.changes.slice(-2).map((c) => [c.user, c.presence, c.cause])).toEqual([
      [A, "unavailable", "snapshot"],
      [B, "available", "snapshot"],
    ]);
    expect(sorted(t.client.online())).toEqual([B]);
    expect(t.client.health().reconnects).toBe(1);
  });
});
