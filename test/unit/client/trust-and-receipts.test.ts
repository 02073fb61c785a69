import { describe, expect, it } from "vitest";
import { COMPONENT, WORLD } from "../../support/memory-presence-peer.js";
import { clientAgainst, sorted } from "./setup.js";

// What the client believes and acknowledges: notifications from the daemon
// only, signed ones only when keys are configured, each trace once, batches
// as their changes in order, and a XEP-0184 receipt for each message taken.

const A = "a@localhost/r";
const B = "b@localhost/r";
const KEY = { id: "k1", secret: "0123456789abcdef0123456789abcdef" };

async function live(peerOptions = {}, options = {}) {
  const t = clientAgainst(peerOptions, options);
  t.client.start();
  await t.flush();
  return t;
}

describe("receipts (XEP-0184)", () => {
  it("answers each notification and resync that asks, to the daemon, echoing the message id", async () => {
    const t = await live({ receipts: true });
    const n = t.peer.transition(A, "available");
    t.peer.resync("dead-letter");
    await t.flush();
    const resync = t.peer.delivered.find((d) => d.kind === "resync");
    expect(t.peer.receipts).toEqual([n.trace, resync?.kind === "resync" ? resync.id : "?"]);
    const answer = t.peer.fromClient.find((s) => s.getChild("received"));
    expect(answer?.attrs.to).toBe(COMPONENT);
    expect(answer?.getChild("received")?.attrs.xmlns).toBe("urn:xmpp:receipts");
    expect(t.client.health().receiptsSent).toBe(2);
  });

  it("answers a resend too (the daemon waits for it), without applying it twice", async () => {
    const t = await live({ receipts: true });
    const n = t.peer.transition(A, "available");
    await t.flush();
    t.peer.resend(0);
    await t.settle();
    expect(t.peer.receipts).toEqual([n.trace, n.trace]);
    expect(t.client.health().duplicatesDropped).toBe(1);
    expect(t.changes.filter((c) => c.cause === "notification")).toHaveLength(1);
  });

  it("does not answer what it refused: a forged notification, from another JID", async () => {
    const t = await live({ receipts: true });
    const forged = t.peer.changeMessage(
      [{ trace: "f1", user: A, presence: "available", pos: 9e15, seq: 1 }],
      "mallory@localhost/x",
    );
    t.peer.inject(forged.toString());
    await t.settle();
    expect(t.peer.receipts).toEqual([]);
    expect(t.client.online().size).toBe(0);
    expect(t.client.health().refused).toBe(1);
    expect(t.warnings).toEqual([]); // someone else's noise is counted, not logged
  });
});

describe("batches (notify.batch)", () => {
  it("applies each change of a PRESENCE_DID_CHANGE_BATCH in order, each trace once", async () => {
    const t = await live();
    t.peer.transition(A, "available");
    t.peer.transition(B, "available");
    t.peer.transition(A, "unavailable");
    t.peer.deliverBatch(3);
    await t.settle();
    expect(sorted(t.client.online())).toEqual([B]);
    expect(t.changes.map((c) => [c.user, c.presence])).toEqual([
      [A, "available"],
      [B, "available"],
      [A, "unavailable"],
    ]);
    t.peer.resend(1); // one change of the batch again, alone
    await t.settle();
    expect(t.client.health().duplicatesDropped).toBe(1);
  });
});

describe("signatures ([signing])", () => {
  const keys = new Map([[KEY.id, KEY.secret]]);

  it("applies signed notifications and batches when the key is known", async () => {
    const t = await live({ sign: KEY, seq: true }, { signingKeys: keys });
    t.peer.transition(A, "available");
    t.peer.transition(B, "available");
    t.peer.deliver();
    t.peer.deliverBatch(2);
    await t.settle();
    expect(sorted(t.client.online())).toEqual([A, B]);
    expect(t.client.health().refused).toBe(0);
  });

  it("refuses an unsigned notification, and one signed with another key, with a warning", async () => {
    const t = await live({}, { signingKeys: keys });
    t.peer.transition(A, "available");
    await t.flush();
    const other = await live(
      { sign: { id: "k1", secret: "another-secret-another-secret-000" } },
      { signingKeys: keys },
    );
    other.peer.transition(A, "available");
    await other.flush();
    for (const x of [t, other]) {
      expect(x.client.online().size).toBe(0);
      expect(x.client.health().refused).toBe(1);
      expect(x.warnings[0]).toMatch(
        /^refused a notification from presence\.localhost without a valid signature$/,
      );
    }
  });

  it("drops a replayed signed notification (same trace) inside the window", async () => {
    const t = await live({ sign: KEY }, { signingKeys: keys });
    t.peer.transition(A, "available");
    t.peer.transition(A, "unavailable");
    await t.flush();
    t.peer.resend(0); // the signed "available", captured and replayed
    await t.settle();
    expect(t.client.online().size).toBe(0);
    expect(t.client.health().duplicatesDropped).toBe(1);
  });
});

describe("what the client refuses", () => {
  it("counts, and warns of, a malformed notification from the daemon", async () => {
    const t = await live();
    t.peer.inject(
      `<message from="${COMPONENT}" to="${WORLD}" id="m1"><event xmlns="flux:xmpp">{"trace":"m1","type":"PRESENCE_DID_CHANGE","args":{"user":"${A}","presence":"away"}}</event></message>`,
    );
    t.peer.inject(
      `<message from="${COMPONENT}" to="${WORLD}"><event xmlns="flux:xmpp">{nope</event></message>`,
    );
    await t.settle();
    expect(t.client.health().refused).toBe(2);
    expect(t.warnings).toEqual([
      "refused a change with an unknown presence from presence.localhost",
      "refused a notification whose JSON does not parse from presence.localhost",
    ]);
  });

  it("refuses a resync signal whose position is not a whole number, with a warning", async () => {
    const t = await live();
    t.peer.inject(
      `<message from="${COMPONENT}" to="${WORLD}"><resync xmlns="urn:flux:presence:snapshot:0" reason="takeover" position="1e9"/></message>`,
    );
    await t.settle();
    expect(t.client.health()).toMatchObject({ refused: 1, snapshots: 1, resyncs: 0 });
    expect(t.warnings).toEqual([
      "refused a resync position that is not a whole number from presence.localhost",
    ]);
  });

  it("refuses a resync signal from anyone but the daemon", async () => {
    const t = await live();
    t.peer.inject(
      `<message from="mallory@localhost/x" to="${WORLD}"><resync xmlns="urn:flux:presence:snapshot:0" reason="daemon-start"/></message>`,
    );
    await t.settle();
    expect(t.client.health()).toMatchObject({ refused: 1, snapshots: 1, phase: "live" });
  });

  it("with from = user (XEP-0356), takes a notification from its user's bare JID only", async () => {
    const t = await live({ disco: "error" }, { from: "user" });
    const n = { trace: "u1", user: A, presence: "available" as const, pos: 1, seq: 1 };
    t.peer.inject(t.peer.changeMessage([n], "a@localhost").toString());
    t.peer.inject(t.peer.changeMessage([{ ...n, trace: "u2", user: B }], "a@localhost").toString());
    await t.settle();
    expect(sorted(t.client.online())).toEqual([A]);
    expect(t.client.health().refused).toBe(1);
  });
});
