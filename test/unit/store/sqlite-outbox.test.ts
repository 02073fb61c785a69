import { afterAll, describe, expect, it } from "vitest";
import { Mailbox } from "../../../src/outbox/mailbox.js";
import { openStore } from "../../../src/store/open.js";
import { notification, rawDatabase, tempDir } from "./temp-store.js";

describe("SqliteOutbox", () => {
  const tmp = tempDir();
  afterAll(() => tmp.remove());

  it("keeps FIFO order across a reopen, and the rows of the previous run are the queue", () => {
    const path = tmp.file();
    const first = openStore(path, { outboxCapacity: 100 });
    for (let i = 0; i < 10; i++) expect(first.outbox.offer(notification(i))).toBe(true);
    expect(first.outbox.shift()?.trace).toBe("trace-0");
    first.close();

    const second = openStore(path, { outboxCapacity: 100 });
    expect(second.outbox.size).toBe(9);
    expect(second.outbox.peek()).toEqual(notification(1));
    second.outbox.offer(notification(10));
    const traces: string[] = [];
    for (let n = second.outbox.shift(); n !== undefined; n = second.outbox.shift()) {
      traces.push(n.trace);
    }
    expect(traces).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((i) => `trace-${i}`));
    expect(second.outbox.size).toBe(0);
    expect(second.outbox.peek()).toBeUndefined();
    second.close();
  });

  it("refuses offers at capacity, also when the rows came from a previous run", () => {
    const path = tmp.file();
    const first = openStore(path, { outboxCapacity: 3 });
    for (let i = 0; i < 3; i++) first.outbox.offer(notification(i));
    expect(first.outbox.offer(notification(3))).toBe(false);
    first.close();

    // A smaller capacity after a restart: the backlog is kept, new offers refused.
    const second = openStore(path, { outboxCapacity: 2 });
    expect(second.outbox.size).toBe(3);
    expect(second.outbox.offer(notification(4))).toBe(false);
    second.outbox.shift();
    second.outbox.shift();
    expect(second.outbox.offer(notification(5))).toBe(true);
    expect(second.outbox.shift()?.trace).toBe("trace-2");
    expect(second.outbox.shift()?.trace).toBe("trace-5");
    second.close();
  });

  it("rejects a capacity that is not a positive integer", () => {
    expect(() => openStore(tmp.file(), { outboxCapacity: 0 })).toThrow(RangeError);
  });

  it("wakes its listeners after the commit of a transaction, not inside it", () => {
    const store = openStore(tmp.file());
    const seen: number[] = [];
    const off = store.outbox.onOffer(() => seen.push(store.outbox.size));
    store.transaction(() => {
      store.outbox.offer(notification(0));
      store.sessions.available("user0@example.com/res");
      store.outbox.offer(notification(2));
      expect(seen).toEqual([]);
    });
    expect(seen).toEqual([2]);
    store.outbox.offer(notification(4));
    expect(seen).toEqual([2, 3]);
    off();
    store.outbox.offer(notification(6));
    expect(seen).toEqual([2, 3]);
    store.close();
  });

  it("commits one presence's outbox row and session change together, or neither", () => {
    const path = tmp.file();
    const store = openStore(path);
    expect(() =>
      store.transaction(() => {
        store.outbox.offer(notification(0));
        store.sessions.available("user0@example.com/res");
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(store.outbox.size).toBe(0);
    expect(store.sessions.load()).toEqual([]);

    store.transaction(() => {
      store.outbox.offer(notification(0));
      store.sessions.available("user0@example.com/res");
    });
    store.close();
    const reopened = openStore(path);
    expect(reopened.outbox.peek()).toEqual(notification(0));
    expect(reopened.sessions.load()).toEqual(["user0@example.com/res"]);
    reopened.close();
  });

  it("keeps the outer transaction's rows when a nested one rolls back", () => {
    const store = openStore(tmp.file());
    store.transaction(() => {
      store.outbox.offer(notification(0));
      expect(() =>
        store.transaction(() => {
          store.outbox.offer(notification(2));
          throw new Error("inner");
        }),
      ).toThrow("inner");
      expect(store.outbox.size).toBe(1);
    });
    expect(store.outbox.shift()?.trace).toBe("trace-0");
    expect(store.outbox.shift()).toBeUndefined();
    store.close();
  });

  it("stores one row per notification, in seq order", () => {
    const path = tmp.file();
    const store = openStore(path);
    for (let i = 0; i < 3; i++) store.outbox.offer(notification(i));
    store.close();
    const db = rawDatabase(path, { readOnly: true });
    const rows = db.prepare("SELECT seq, trace FROM outbox ORDER BY seq").all();
    expect(rows).toEqual([
      { seq: 1, trace: "trace-0" },
      { seq: 2, trace: "trace-1" },
      { seq: 3, trace: "trace-2" },
    ]);
    db.close();
  });
});

describe("peekMany (batching reads ahead without removing)", () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it("returns the oldest items in order, in memory and on disk alike", () => {
    const store = openStore(dir.file(), { outboxCapacity: 100 });
    const mailbox = new Mailbox<ReturnType<typeof notification>>(100);
    for (let i = 0; i < 5; i++) {
      store.outbox.offer(notification(i));
      mailbox.offer(notification(i));
    }
    for (const max of [0, 1, 3, 5, 9]) {
      const expected = Array.from({ length: Math.min(max, 5) }, (_, i) => notification(i));
      expect(store.outbox.peekMany(max)).toEqual(expected);
      expect(mailbox.peekMany(max)).toEqual(expected);
    }
    store.outbox.shift();
    mailbox.shift();
    expect(store.outbox.peekMany(2)).toEqual([notification(1), notification(2)]);
    expect(mailbox.peekMany(2)).toEqual([notification(1), notification(2)]);
    expect(store.outbox.size).toBe(4);
    store.close();
  });
});
