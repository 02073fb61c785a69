import { afterAll, describe, expect, it } from "vitest";
import { SequenceNumbers } from "../../../src/sessions/sequence-numbers.js";
import { openStore } from "../../../src/store/open.js";
import { SCHEMA_VERSION } from "../../../src/store/schema.js";
import { notification, tempDir } from "./temp-store.js";

// notify.sequence = "session" in durable mode: a consumer tells a restart
// from a gap by a number lower than expected, so numbers must not start at 1
// again after a restart that lost nothing.

const tmp = tempDir();
afterAll(() => tmp.remove());

const JID = "user1@example.com/res";

/** Numbers and queues one notification for JID, as the router does (one transaction). */
function queueNext(store: ReturnType<typeof openStore>, seqs: SequenceNumbers, i: number) {
  const seq = seqs.next(JID);
  store.transaction(() => store.outbox.offer({ ...notification(i), user: JID, seq }));
  return seq;
}

describe("sequence numbers in durable mode", () => {
  it("go on after a store reopen instead of starting at 1 again", () => {
    const path = tmp.file();
    const first = openStore(path);
    const before = new SequenceNumbers(undefined, first.sequences);
    expect([1, 2, 3].map((i) => queueNext(first, before, i))).toEqual([1, 2, 3]);
    first.close();

    const second = openStore(path);
    const after = new SequenceNumbers(undefined, second.sequences);
    expect(queueNext(second, after, 4)).toBe(4);
    expect(after.next("other@example.com/r")).toBe(1);
    expect(second.outbox.peekMany(10).map((n) => n.seq)).toEqual([1, 2, 3, 4]);
    second.close();
  });

  it("store no number whose notification was rolled back", () => {
    const path = tmp.file();
    const store = openStore(path);
    const seqs = new SequenceNumbers(undefined, store.sequences);
    queueNext(store, seqs, 1);
    expect(() =>
      store.transaction(() => {
        store.outbox.offer({ ...notification(2), user: JID, seq: seqs.next(JID) });
        throw new Error("the presence's session change failed");
      }),
    ).toThrow();
    store.close();
    const reopened = openStore(path);
    // Number 2 was never queued: the next run may hand it out again.
    expect(new SequenceNumbers(undefined, reopened.sequences).next(JID)).toBe(2);
    expect(reopened.info().schemaVersion).toBe(SCHEMA_VERSION);
    reopened.close();
  });
});
