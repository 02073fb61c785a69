import { writeFileSync } from "node:fs";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { SimulatedClock } from "xstate";
import { startAdmin } from "../../../src/admin/app.js";
import { LockWait, standBy } from "../../../src/app/standby.js";
import { type DurableStore, openStore } from "../../../src/store/open.js";
import { testConfig } from "../../support/config.js";
import { logSink } from "../../support/log-sink.js";
import { tempDir } from "../store/temp-store.js";

// The standby's wait for the state file's lock, on real SQLite files held by
// a real connection (SQLite's locks between two connections of one process
// behave as between two processes), with simulated time: no test sleeps.

const tmp = tempDir("presence-notify-standby-");
/**
 * Moves simulated time in steps of `step`: XState's SimulatedClock runs a
 * timer armed inside a timer callback only at a later increment.
 */
function advance(clock: SimulatedClock, ms: number, step = 100): void {
  for (let left = ms; left > 0; left -= step) clock.increment(Math.min(step, left));
}
afterAll(() => tmp.remove());
const open: DurableStore[] = [];
afterEach(() => {
  for (const store of open.splice(0)) store.close();
});
const held = (path: string) => {
  const store = openStore(path);
  open.push(store);
  return store;
};
const tryLock = (path: string) => () => {
  const store = openStore(path, { lockTimeoutMs: 0 });
  open.push(store);
  return store;
};

function scene(intervalMs = 1_000) {
  const clock = new SimulatedClock();
  const path = tmp.file();
  const config = testConfig({
    durability: { mode: "sqlite", path, synchronous: "normal" },
    standby: { enabled: true, pollIntervalMs: intervalMs },
  });
  const { logger, records } = logSink();
  let stop: () => void = () => {};
  const standby = (holder = held(path)) => ({
    holder,
    result: standBy({
      config,
      logger,
      clock,
      open: tryLock(path),
      onStop: (cancel) => {
        stop = cancel;
      },
    }),
  });
  return { clock, path, config, records, standby, stop: () => stop() };
}

describe("LockWait", () => {
  it("tries once per interval while the lock is held, and counts the tries", () => {
    const clock = new SimulatedClock();
    let tries = 0;
    const wait = new LockWait({
      clock,
      path: "/x",
      intervalMs: 500,
      attemptsBefore: 1,
      attempt: () => {
        tries += 1;
        return undefined;
      },
    });
    clock.increment(499);
    expect(tries).toBe(0);
    clock.increment(1);
    expect(tries).toBe(1);
    advance(clock, 5_000);
    expect(tries).toBe(11);
    expect(wait.status()).toEqual({
      path: "/x",
      since: 0,
      attempts: 12,
      lastAttemptAt: 5_500,
      pollIntervalMs: 500,
    });
    wait.cancel();
  });

  it("resolves with what the first try after the release gave, within one interval", async () => {
    const clock = new SimulatedClock();
    let free = false;
    const wait = new LockWait({
      clock,
      path: "/x",
      intervalMs: 1_000,
      attempt: () => (free ? "the store" : undefined),
    });
    advance(clock, 2_300);
    free = true; // released at 2.3 s: taken at the 3 s try
    clock.increment(699);
    let got: string | undefined;
    void wait.acquired.then((v) => {
      got = v;
    });
    await Promise.resolve();
    expect(got).toBeUndefined();
    clock.increment(1);
    await expect(wait.acquired).resolves.toBe("the store");
    expect(wait.status().lastAttemptAt).toBe(3_000);
  });

  it("stops trying once cancelled, and resolves with nothing", async () => {
    const clock = new SimulatedClock();
    let tries = 0;
    const wait = new LockWait({
      clock,
      path: "/x",
      intervalMs: 100,
      attempt: () => {
        tries += 1;
        return undefined;
      },
    });
    advance(clock, 250, 50);
    wait.cancel();
    wait.cancel();
    advance(clock, 10_000);
    expect(tries).toBe(2);
    await expect(wait.acquired).resolves.toBeUndefined();
  });

  it("ends the wait with the error of a try that throws", async () => {
    const clock = new SimulatedClock();
    const wait = new LockWait({
      clock,
      path: "/x",
      intervalMs: 100,
      attempt: () => {
        throw new Error("not a state file");
      },
    });
    clock.increment(100);
    await expect(wait.acquired).rejects.toThrow("not a state file");
    clock.increment(1_000); // no timer left to fire
  });
});

describe("standBy on a real state file", () => {
  it("takes the file over once the active lets go, with what the active left in it", async () => {
    const s = scene();
    const { holder, result } = s.standby();
    holder.transaction(() => holder.sessions.available("alice@localhost/phone"));
    advance(s.clock, 3_000);
    expect(s.records.find((r) => r.event === "standby")?.path).toBe(s.path);
    expect(s.records.some((r) => r.event === "standby_acquired")).toBe(false);
    holder.close(); // the kernel does this when the active dies, kill -9 included
    advance(s.clock, 1_000);
    const won = await result;
    expect(won?.takeover).toEqual({ path: s.path, waitedMs: 4_000, attempts: 5 });
    expect(won?.store.sessions.load()).toEqual(["alice@localhost/phone"]);
    expect(s.records.find((r) => r.event === "standby_acquired")).toMatchObject({
      path: s.path,
      waitedMs: 4_000,
    });
  });

  it("ends with nothing when a stop signal comes while it waits", async () => {
    const s = scene();
    const { holder, result } = s.standby();
    advance(s.clock, 2_000);
    s.stop();
    holder.close();
    advance(s.clock, 5_000);
    await expect(result).resolves.toBeUndefined();
  });

  it("gives up with the store's error when the file turns out not to be a state file", async () => {
    const s = scene();
    const { holder, result } = s.standby();
    holder.close();
    writeFileSync(s.path, "not sqlite at all, and long enough to have a header ".repeat(4));
    s.clock.increment(1_000);
    await expect(result).rejects.toMatchObject({ _tag: "StoreError", reason: "not_a_database" });
  });
});

describe("the admin listener while standing by", () => {
  it("answers alive, not ready because standby, and the wait on /status", async () => {
    const clock = new SimulatedClock();
    const { logger } = logSink();
    const admin = await startAdmin({
      settings: { listen: { host: "127.0.0.1", port: 0 }, token: undefined, pseudonymise: false },
      logger,
      clock,
    });
    if (!admin) throw new Error("admin is off");
    try {
      const wait = new LockWait({
        clock,
        path: "/var/lib/presence-notify/state.db",
        intervalMs: 1_000,
        attemptsBefore: 1,
        attempt: () => undefined,
      });
      admin.standby(() => wait.status());
      advance(clock, 2_000);
      const get = (path: string) => fetch(`${admin.url}${path}`);
      expect((await get("/healthz")).status).toBe(200);
      const ready = await get("/readyz");
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ ready: false, standby: true });
      const status = (await (await get("/status")).json()) as Record<string, unknown>;
      expect(status.standby).toMatchObject({
        path: "/var/lib/presence-notify/state.db",
        attempts: 3,
        pollIntervalMs: 1_000,
      });
      expect(String((status.status as { reason: string }).reason)).toMatch(/^standby: /);
      const metrics = await (await get("/metrics")).text();
      expect(metrics).toContain("presence_notify_standby 1");
      expect(metrics).toContain("presence_notify_ready 0");
      expect((await get("/tree")).status).toBe(503);
      wait.cancel();
    } finally {
      await admin.close();
    }
  });
});
