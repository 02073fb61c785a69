import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { clientAgainst, sorted } from "./setup.js";

// The splice, as a property: for any interleaving of snapshot pages,
// notifications (delivered out of order, again, in batches), resync signals,
// expired cursors and dropped connections,
// - whenever the client is live, its view is the design's promise: the last
//   snapshot (at P), then per session the newest notification received
//   with a pos after P (each transition applied once, none before P);
// - once everything queued has arrived, its view is the daemon's notified
//   view, and the change events it emitted rebuild that view.

const USERS = ["a", "b", "c"].map((u) => `${u}@localhost/r`);

type Op =
  | { t: "flip"; user: number }
  | { t: "deliver"; pick: number }
  | { t: "batch"; n: number }
  | { t: "resend"; pick: number }
  | { t: "answer" }
  | { t: "resync" }
  | { t: "expire" }
  | { t: "drop" }
  | { t: "tick"; ms: number }
  | { t: "forge"; user: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ t: fc.constant("flip" as const), user: fc.nat(USERS.length - 1) }),
  },
  { weight: 4, arbitrary: fc.record({ t: fc.constant("deliver" as const), pick: fc.nat(5) }) },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant("batch" as const), n: fc.integer({ min: 2, max: 4 }) }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("resend" as const), pick: fc.nat(30) }) },
  { weight: 6, arbitrary: fc.record({ t: fc.constant("answer" as const) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("resync" as const) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("expire" as const) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("drop" as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant("tick" as const),
      ms: fc.integer({ min: 1, max: 40_000 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant("forge" as const), user: fc.nat(USERS.length - 1) }),
  },
);

/**
 * What the client's view must be now, from what it received: with
 * positions, the last snapshot (at P) then per session the newest
 * notification after P; with seq alone, per session the highest seq; with
 * neither, per session the last trace received for the first time.
 */
function promised(t: ReturnType<typeof clientAgainst>): string[] {
  const { pos, seq } = t.peer.options;
  const snapshot = t.snapshots.at(-1);
  const view = new Set(pos ? (snapshot?.sessions ?? []) : []);
  const floor = pos ? (snapshot?.position ?? 0) : 0;
  const newest = new Map<string, { key: number; presence: string }>();
  const firstTime = new Set<string>();
  for (const [i, n] of t.peer.pushed.entries()) {
    if (firstTime.has(n.trace)) continue;
    firstTime.add(n.trace);
    const key = pos ? n.pos : seq ? n.seq : i + 1;
    const seen = newest.get(n.user);
    if (key > floor && (!seen || key > seen.key)) newest.set(n.user, { key, presence: n.presence });
  }
  for (const [user, { presence }] of newest) {
    if (presence === "available") view.add(user);
    else view.delete(user);
  }
  return [...view].sort();
}

async function run(
  ops: readonly Op[],
  initial: readonly number[],
  t: ReturnType<typeof clientAgainst>,
  inOrder: boolean,
): Promise<void> {
  const { peer, clock, client, settle } = t;
  // Sessions online before the client starts: only a snapshot can tell it.
  for (const i of initial) {
    const user = USERS[i] as string;
    if (!peer.notified.has(user)) peer.transition(user, "available");
  }
  peer.pending.length = 0;
  client.start();
  await settle();
  for (const o of ops) {
    switch (o.t) {
      case "flip": {
        const user = USERS[o.user] as string;
        peer.transition(user, peer.notified.has(user) ? "unavailable" : "available");
        break;
      }
      case "deliver":
        peer.deliver(inOrder || peer.pending.length === 0 ? 0 : o.pick % peer.pending.length);
        break;
      case "batch":
        peer.deliverBatch(o.n);
        break;
      case "resend":
        if (peer.delivered.length > 0) peer.resend(o.pick % peer.delivered.length);
        break;
      case "answer":
        peer.answer();
        break;
      case "resync":
        peer.resync("dead-letter");
        break;
      case "expire":
        peer.expire();
        break;
      case "drop":
        peer.drop();
        break;
      case "tick":
        clock.increment(o.ms);
        break;
      case "forge": {
        // Someone else telling the server user a session is online: never believed.
        const forged = peer.changeMessage(
          [
            {
              trace: `forged-${o.user}`,
              user: USERS[o.user] as string,
              presence: "available",
              pos: 9e15,
              seq: 1e6,
            },
          ],
          "mallory@localhost/x",
        );
        peer.inject(forged.toString());
        break;
      }
    }
    await settle();
    // While paging, the view is the previous one, by design; while connecting, nothing changes it.
    if (/^(live|unspliced)$/.test(client.health().phase)) {
      expect(sorted(client.online())).toEqual(promised(t));
    }
  }
  await t.flush();
}

const property = (
  peerOptions: Parameters<typeof clientAgainst>[0],
  initialUsers: boolean,
  clientOptions: Parameters<typeof clientAgainst>[1] = {},
  inOrder = false,
) =>
  fc.asyncProperty(
    fc.array(op, { maxLength: 60, size: "medium" }),
    initialUsers ? fc.uniqueArray(fc.nat(USERS.length - 1), { maxLength: 4 }) : fc.constant([]),
    async (ops, initial) => {
      const t = clientAgainst(peerOptions, clientOptions);
      await run(ops, initial, t, inOrder);
      expect(t.client.health().phase).toMatch(/^(live|unspliced)$/);
      expect(sorted(t.client.online())).toEqual(sorted(t.peer.notified));
      expect(sorted(t.replayed())).toEqual(sorted(t.client.online()));
      await t.client.stop();
    },
  );

// Each run is a few milliseconds of simulated time; the runs add up to seconds.
const SLOW = 60_000;

describe("the client's view against a daemon with snapshots", () => {
  it(
    "is the promised one at every step, and the notified one in the end, under any interleaving",
    async () => {
      await fc.assert(property({ disco: "snapshot" }, true), { numRuns: 200 });
    },
    SLOW,
  );

  it(
    "holds with receipts and seq on as well, and with a daemon capping pages at 1",
    async () => {
      await fc.assert(
        property({ disco: "snapshot", seq: true, receipts: true, maxPage: 1 }, true),
        {
          numRuns: 100,
        },
      );
    },
    SLOW,
  );
});

describe("the client's view against a daemon without snapshots (today's daemon)", () => {
  // Without a snapshot the client only knows what it was told since it first
  // connected: the property holds when no session was online before that,
  // and seq is what puts a late resend in its place.
  it(
    "is the promised one when every transition reached it, ordered by a durable seq",
    async () => {
      await fc.assert(property({ disco: "error", seq: true }, false, { durableSeq: true }), {
        numRuns: 100,
      });
    },
    SLOW,
  );

  it(
    "is the promised one with the default bytes (no seq) when first deliveries keep their order: traces drop the resends",
    async () => {
      await fc.assert(property({ disco: "error" }, false, {}, true), { numRuns: 100 });
    },
    SLOW,
  );
});
