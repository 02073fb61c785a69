import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { Mailbox } from "../../../src/outbox/mailbox.js";
import type { Notification } from "../../../src/protocol/notification.js";
import type { NotificationQueue } from "../../../src/store/notification-queue.js";
import { type DurableStore, openStore } from "../../../src/store/open.js";
import { tempDir } from "./temp-store.js";

/**
 * One contract, two queues: `Mailbox` (memory) and `SqliteOutbox` (disk)
 * must behave as the same bounded FIFO, since the notifier drains either.
 * The model is a plain array.
 */

interface Model {
  items: Notification[];
  capacity: number;
}

interface Real {
  queue: NotificationQueue;
  wakes: number;
  /** Durable queues only: close and reopen the file, as after a restart. */
  reopen?: () => void;
  /** Durable queues only: run `fn` in a transaction that is then rolled back. */
  rollback?: (fn: () => void) => void;
}

const notificationArb: fc.Arbitrary<Notification> = fc.record({
  trace: fc.uuid(),
  user: fc.string({ unit: "grapheme", maxLength: 40 }),
  presence: fc.constantFrom("available" as const, "unavailable" as const),
  to: fc.string({ maxLength: 20 }),
  userBare: fc.string({ unit: "binary", maxLength: 20 }),
  queuedAt: fc.integer({ min: 0, max: 2 ** 48 }),
  seq: fc.option(fc.integer({ min: 1, max: 1_000_000_000 }), { nil: undefined }),
});

function checkSize(m: Model, r: Real) {
  expect(r.queue.size).toBe(m.items.length);
}

class Offer implements fc.Command<Model, Real> {
  constructor(readonly n: Notification) {}
  check = () => true;
  run(m: Model, r: Real) {
    const before = r.wakes;
    const accepted = r.queue.offer(this.n);
    expect(accepted).toBe(m.items.length < m.capacity);
    expect(r.wakes - before).toBe(accepted ? 1 : 0);
    if (accepted) m.items.push(this.n);
    checkSize(m, r);
  }
  toString = () => `offer(${this.n.trace})`;
}

class Peek implements fc.Command<Model, Real> {
  check = () => true;
  run(m: Model, r: Real) {
    expect(r.queue.peek()).toEqual(m.items[0]);
    checkSize(m, r);
  }
  toString = () => "peek";
}

class Shift implements fc.Command<Model, Real> {
  check = () => true;
  run(m: Model, r: Real) {
    expect(r.queue.shift()).toEqual(m.items.shift());
    checkSize(m, r);
  }
  toString = () => "shift";
}

class Reopen implements fc.Command<Model, Real> {
  check = () => true;
  run(m: Model, r: Real) {
    r.reopen?.();
    expect(r.queue.peek()).toEqual(m.items[0]);
    checkSize(m, r);
  }
  toString = () => "reopen";
}

/** Offers then shifts inside a transaction that throws: nothing may change. */
class RolledBack implements fc.Command<Model, Real> {
  constructor(readonly n: Notification) {}
  check = () => true;
  run(m: Model, r: Real) {
    const before = r.wakes;
    r.rollback?.(() => {
      r.queue.offer(this.n);
      r.queue.shift();
    });
    expect(r.wakes).toBe(before);
    expect(r.queue.peek()).toEqual(m.items[0]);
    checkSize(m, r);
  }
  toString = () => `rolledBack(${this.n.trace})`;
}

const common = [
  notificationArb.map((n) => new Offer(n)),
  fc.constant(new Peek()),
  fc.constant(new Shift()),
];

function watch(real: Real) {
  real.queue.onOffer(() => {
    real.wakes++;
  });
}

describe("the notification queue contract", () => {
  const tmp = tempDir();
  afterAll(() => tmp.remove());

  it("Mailbox behaves as a bounded FIFO", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.commands(common, { maxCommands: 60 }),
        (capacity, cmds) => {
          const real: Real = { queue: new Mailbox<Notification>(capacity), wakes: 0 };
          watch(real);
          fc.modelRun(() => ({ model: { items: [], capacity }, real }), cmds);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("SqliteOutbox behaves as the same bounded FIFO, across reopens and rollbacks", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.commands(
          [...common, fc.constant(new Reopen()), notificationArb.map((n) => new RolledBack(n))],
          { maxCommands: 40 },
        ),
        (capacity, cmds) => {
          const path = tmp.file();
          let store: DurableStore = openStore(path, { outboxCapacity: capacity });
          const real: Real = {
            queue: store.outbox,
            wakes: 0,
            reopen: () => {
              store.close();
              store = openStore(path, { outboxCapacity: capacity });
              real.queue = store.outbox;
              watch(real);
            },
            rollback: (fn) => {
              expect(() =>
                store.transaction(() => {
                  fn();
                  throw new Error("roll back");
                }),
              ).toThrow("roll back");
            },
          };
          watch(real);
          try {
            fc.modelRun(() => ({ model: { items: [], capacity }, real }), cmds);
          } finally {
            store.close();
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
