import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sqliteCode } from "../../../src/store/errors.js";
import { openStore } from "../../../src/store/open.js";
import { WriteBehind } from "../../../src/store/write-behind.js";
import { Counters } from "../../../src/telemetry/counters.js";
import { mountSmallFs, smallFsUnavailable } from "../../harness/small-fs.js";
import { logSink } from "../../support/log-sink.js";
import { available, unavailable } from "../pipeline/setup.js";
import { durableDaemon, pass, perSession } from "../pipeline/store-failure-setup.js";
import { notification } from "./temp-store.js";

// Issue #15 item 3 on a real full filesystem: the state file on a small
// tmpfs that a filler file fills up, then frees.

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected a throw");
}

const unavailableWhy = smallFsUnavailable();
if (unavailableWhy) console.warn(`skipping the full-disk store tests: ${unavailableWhy}`);

describe.skipIf(unavailableWhy !== undefined)("a state file on a full filesystem", () => {
  let fs: ReturnType<typeof mountSmallFs>;
  let n = 0;
  const file = () => join(fs.dir, `state-${n++}.db`);
  beforeAll(() => {
    fs = mountSmallFs(4096);
  });
  afterAll(() => fs?.unmount());

  it("a delivered row whose delete the full disk refuses leaves the queue without a throw", () => {
    const store = openStore(file());
    try {
      for (let i = 0; i < 3; i++) store.outbox.offer(notification(i));
      fs.fill();
      const refused = thrown(() => store.transaction(() => store.outbox.offer(notification(9))));
      expect(sqliteCode(refused)).toBe("SQLITE_FULL");
      expect(refused).toMatchObject({ message: "database or disk is full" });
      expect(store.outbox.shift()?.trace).toBe("trace-0");
      expect(store.outbox.peek()?.trace).toBe("trace-1");
      expect(store.outbox.size).toBe(2);
      fs.free();
      expect(store.outbox.shift()?.trace).toBe("trace-1");
      expect(store.outbox.peekMany(10).map((x) => x.trace)).toEqual(["trace-2"]);
    } finally {
      fs.free();
      store.close();
    }
    // Both delivered rows were deleted by the delete that succeeded.
    const again = openStore(join(fs.dir, `state-${n - 1}.db`));
    expect(again.outbox.peekMany(10).map((x) => x.trace)).toEqual(["trace-2"]);
    again.close();
  });

  it("held-mail writes the full disk refuses are kept in memory and written once it has room", () => {
    const store = openStore(file());
    const counters = new Counters();
    const { logger, records } = logSink();
    const writes = new WriteBehind({ counters, logger, limit: 10 });
    const held = writes.notifications(store.held);
    try {
      fs.fill();
      held.add(notification(1));
      held.add(notification(2));
      held.remove("trace-1");
      expect(writes.kept).toBe(3);
      expect(counters.get("store_write_failures")).toBeGreaterThan(0);
      fs.free();
      writes.flush();
      expect(writes.kept).toBe(0);
      expect(store.held.load().map((x) => x.trace)).toEqual(["trace-2"]);
      expect(records.filter((r) => r.event === "store_tables_unwritable")).toHaveLength(1);
      expect(records.filter((r) => r.event === "store_tables_writable")).toHaveLength(1);
    } finally {
      fs.free();
      store.close();
    }
  });

  for (const opts of [{}, { flapWindowMs: 1_000 }, { userRate: 2 }]) {
    it(`the server user's view equals the truth once the disk has room (${JSON.stringify(opts)})`, async () => {
      const t = durableDaemon(file(), opts);
      try {
        t.server.connect();
        await pass(t, 1_000);
        const truth: { user: string; presence: string }[] = [];
        const say = async (user: string, presence: "available" | "unavailable") => {
          truth.push({ user, presence });
          t.server.deliver(presence === "available" ? available(user) : unavailable(user));
          await pass(t, 2_000);
        };
        await say("alice@localhost/a", "available");
        fs.fill();
        await say("bob@localhost/b", "available");
        await say("alice@localhost/a", "unavailable");
        await say("carol@localhost/c", "available");
        await say("bob@localhost/b", "unavailable");
        expect(t.readiness.state().ready).toBe(false);
        fs.free();
        await pass(t, 10_000);
        expect(perSession(t.notified())).toEqual(perSession(truth));
        expect(t.store.sessions.load()).toEqual(["carol@localhost/c"]);
        expect(t.readiness.state().ready).toBe(true);
        await say("dave@localhost/d", "available");
        expect(t.notified().at(-1)).toEqual({ user: "dave@localhost/d", presence: "available" });
      } finally {
        fs.free();
        t.stop();
      }
    });
  }
});
