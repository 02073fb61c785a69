import type { Element } from "@xmpp/xml";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { settle } from "../../support/memory-link.js";
import { available, unavailable } from "../pipeline/setup.js";
import { snapshotScene, WORLD, WORLD_FULL } from "./setup.js";

// PROTOCOL.md's promise, over interleavings: users come and go, the flap
// damper and the per-user rate hold transitions back, the server user pages
// a snapshot (small pages) while notifications keep entering the mailbox,
// reads notifications and page results in any interleaving, starts over
// mid-paging, goes away (its mail bounces, is held, and is sent again with
// its position) and sees network duplicates. A consumer applying the
// documented splice rule ends with exactly the daemon's notified view,
// which (nothing lost) is the truth, and applied no position twice.

const SESSIONS = ["a", "b", "c"].flatMap((u) => ["1", "2"].map((r) => `${u}@localhost/${r}`));

type Step =
  | { kind: "come" | "go"; session: string }
  | { kind: "tick"; ms: number }
  | { kind: "page" | "messages" | "results" | "restart" | "away" | "back" }
  | { kind: "duplicate"; pick: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("come" as const),
      session: fc.constantFrom(...SESSIONS),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("go" as const),
      session: fc.constantFrom(...SESSIONS),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("tick" as const),
      ms: fc.integer({ min: 10, max: 1_500 }),
    }),
  },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("page" as const) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("messages" as const) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("results" as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("restart" as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("away" as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("back" as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("duplicate" as const), pick: fc.nat() }) },
);

async function run(
  steps: readonly Step[],
  notify: { flapWindowMs: number; userRate: number; batch?: number },
  max = 2,
) {
  const s = snapshotScene({ notify }, max);
  const { server, clock, consumer } = s;
  server.connect();
  server.deliver(available(WORLD_FULL));
  consumer.startSync();
  let online = true;
  const seen: Element[] = [];
  const read = (queue: Element[]) => {
    for (const stanza of queue.splice(0)) {
      seen.push(stanza);
      consumer.receive(stanza);
    }
  };
  for (const st of steps) {
    switch (st.kind) {
      case "come":
        server.deliver(available(st.session));
        break;
      case "go":
        server.deliver(unavailable(st.session));
        break;
      case "tick":
        clock.increment(st.ms);
        break;
      case "page": {
        const request = online ? consumer.nextRequest() : undefined;
        if (request) s.ask(request);
        break;
      }
      case "messages":
        if (online) read(s.messages);
        break;
      case "results":
        if (online) read(s.results);
        break;
      case "restart":
        if (online) consumer.startSync();
        break;
      case "away":
        if (!online) break;
        // What reached its connection is read; then it is gone, and so is its paging.
        await settle();
        s.collect();
        read(s.messages);
        s.results.splice(0);
        online = false;
        server.offline.add(WORLD);
        break;
      case "back":
        if (online) break;
        online = true;
        server.offline.delete(WORLD);
        // Reconnected: a new snapshot, and its session online again releases the held mail.
        consumer.startSync();
        server.deliver(available(WORLD_FULL));
        break;
      case "duplicate": {
        const again = seen[st.pick % Math.max(1, seen.length)];
        if (online && again) consumer.receive(again);
        break;
      }
    }
    await settle(3);
    s.collect();
    // Whenever the consumer rests on a snapshot and has read everything the
    // daemon queued, its view is V already (so no later resync hides a loss).
    const { mailbox, held } = s.service.outbox;
    const quiet = mailbox.size === 0 && held.size === 0 && s.messages.length === 0;
    if (online && quiet && !consumer.syncing && consumer.position !== undefined) {
      expect([...consumer.view].sort(), JSON.stringify(st)).toEqual(notifiedView(s));
    }
  }
  // Quiet: the server user back, every held transition let go, everything read.
  if (!online) {
    server.offline.delete(WORLD);
    consumer.startSync();
    server.deliver(available(WORLD_FULL));
  }
  for (let i = 0; i < 6; i++) {
    clock.increment(5_000);
    await settle();
  }
  s.collect();
  read(s.messages);
  read(s.results);
  await s.syncFully();
  s.collect();
  read(s.messages);
  const notified = notifiedView(s);
  const truth = [...s.service.intake.available()].filter((j) => j.includes("@localhost/")).sort();
  return { consumer, notified, truth, s };
}

/** The daemon's notified view of the server user's domain, sorted. */
function notifiedView(s: ReturnType<typeof snapshotScene>): string[] {
  const snapshot = s.service.outbox.snapshot;
  if (snapshot === undefined) throw new Error("notify.snapshot is on");
  return [...snapshot.view.sessions("localhost")].sort();
}

describe("splicing a snapshot with the notifications (PROTOCOL.md)", () => {
  it("ends with exactly the notified view, each position applied at most once, over any interleaving", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { minLength: 20, maxLength: 80 }),
        fc.constantFrom(0, 300),
        fc.constantFrom(0, 1, 3),
        fc.constantFrom(1, 2, 5),
        async (steps, flapWindowMs, userRate, max) => {
          const { consumer, notified, truth, s } = await run(
            steps,
            { flapWindowMs, userRate },
            max,
          );
          expect(consumer.syncing).toBe(false);
          expect([...consumer.view].sort()).toEqual(notified);
          expect(notified).toEqual(truth);
          for (const [pos, times] of consumer.applied) expect(times, `pos ${pos}`).toBe(1);
          expect(s.service.counters.get("notifications_refused_full")).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("applies a transition the per-user rate held past a snapshot (regression guard: with a position given when it was made, the consumer dropped it)", async () => {
    // a/2 is made before b/1 but held by a's rate; b/1 enters first and the
    // snapshot is taken between the two. Numbered at creation, a/2 would be
    // older than the snapshot and dropped; numbered where it enters, it is
    // newer and applied.
    const { consumer, notified, truth } = await run(
      [
        { kind: "come", session: "a@localhost/1" },
        { kind: "come", session: "a@localhost/2" },
        { kind: "come", session: "b@localhost/1" },
        { kind: "messages" },
        { kind: "page" },
        { kind: "results" },
        { kind: "tick", ms: 1_000 },
        { kind: "messages" },
      ],
      { flapWindowMs: 0, userRate: 1 },
    );
    expect(consumer.synced).toBe(1);
    expect(notified).toEqual(["a@localhost/1", "a@localhost/2", "b@localhost/1"]);
    expect(truth).toEqual(notified);
    expect([...consumer.view].sort()).toEqual(notified);
  });
});
