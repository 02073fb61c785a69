import { afterEach, describe, expect, it } from "vitest";
import { createActor, SimulatedClock } from "xstate";
import { notifierLogic } from "../../../src/actors/notifier.js";
import { Readiness } from "../../../src/admin/readiness.js";
import { createPipeline } from "../../../src/pipeline.js";
import { parseFullJid } from "../../../src/protocol/jid.js";
import { NS_FLUX } from "../../../src/protocol/notification.js";
import { type DurableStore, openStore } from "../../../src/store/open.js";
import { logSink } from "../../support/log-sink.js";
import { MemoryServer, settle } from "../../support/memory-link.js";
import { tempDir } from "../store/temp-store.js";
import { advertisement, available, unavailable } from "./setup.js";

// Issue #15 item 3: in durable mode a commit the state file refuses (disk
// full) must not lose the transition. The store here is the real one, with
// its test-only fault hook making each commit fail with SQLITE_FULL while
// `full` is set; test/e2e/disk-full.test.ts fills a real filesystem.

const dir = tempDir();
afterEach(() => dir.remove());

function diskFull() {
  return Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" });
}

function durableDaemon(opts: { flapWindowMs?: number; userRate?: number; capacity?: number } = {}) {
  const disk = { full: false };
  const store: DurableStore = openStore(dir.file(), {
    commitFault: () => {
      if (disk.full) throw diskFull();
    },
  });
  const server = new MemoryServer();
  const clock = new SimulatedClock();
  const { logger, records } = logSink();
  const pipeline = createPipeline({
    link: server,
    clock,
    logger,
    policy: () => ({ serverUser: "world", accepts: () => true, domains: [] }),
    fromUser: () => false,
    mailboxCapacity: opts.capacity ?? 100,
    pingTimeoutMs: 10_000,
    resyncSettleMs: 1_000,
    liveness: { intervalMs: 600_000, timeoutMs: 10_000, maxRate: 0 },
    store,
    ...(opts.flapWindowMs ? { flapWindowMs: opts.flapWindowMs } : {}),
    ...(opts.userRate ? { userRate: opts.userRate } : {}),
  });
  server.on("online", () => server.deliver(advertisement("localhost")));
  const notifier = createActor(
    notifierLogic({
      ...pipeline,
      link: server,
      from: () => "component",
      logger,
      now: () => clock.now(),
    }),
  ).start();
  const notified = (): { user: string; presence: string }[] =>
    server.messages().map((m) => JSON.parse(m.getChild("event", NS_FLUX)?.getText() ?? "{}").args);
  const readiness = new Readiness({
    link: server,
    privileges: pipeline.privileges,
    counters: pipeline.counters,
    ...(pipeline.storeFault ? { store: pipeline.storeFault } : {}),
  });
  const stop = () => {
    readiness.close();
    notifier.stop();
    pipeline.close();
    store.close();
  };
  return { disk, store, server, clock, pipeline, readiness, notified, records, stop };
}

type Daemon = ReturnType<typeof durableDaemon>;

/** Each session's notifications, in order. */
function perSession(list: { user: string; presence: string }[]): Map<string, string[]> {
  const by = new Map<string, string[]>();
  for (const { user, presence } of list) by.set(user, [...(by.get(user) ?? []), presence]);
  return by;
}

/** What the server user believes is online: the last notification of each session. */
function view(list: { user: string; presence: string }[]): string[] {
  return [...perSession(list)]
    .filter(([, presences]) => presences.at(-1) === "available")
    .map(([jid]) => jid)
    .sort();
}

/** Lets time pass in steps, so every timer (damping, rate, retry) fires and the notifier runs. */
async function pass(t: Daemon, ms: number) {
  for (let waited = 0; waited < ms; waited += 500) {
    t.clock.increment(500);
    await settle();
  }
}

const MODES = [
  { name: "plain", opts: {} },
  { name: "flap_window", opts: { flapWindowMs: 1_000 } },
  { name: "user_rate", opts: { userRate: 2 } },
] as const;

describe("a full disk loses no transition (issue #15, item 3)", () => {
  for (const { name, opts } of MODES) {
    it(`${name}: transitions whose commit failed reach the server user, in order, once the disk has room`, async () => {
      const t = durableDaemon(opts);
      t.server.connect();
      await settle();
      // The truth, told with gaps longer than the flap window and the rate.
      const truth: [string, "available" | "unavailable"][] = [];
      const say = async (jid: string, presence: "available" | "unavailable") => {
        truth.push([jid, presence]);
        t.server.deliver(presence === "available" ? available(jid) : unavailable(jid));
        await pass(t, 2_000);
      };
      await say("alice@localhost/a", "available");
      await say("bob@localhost/b", "available");
      t.disk.full = true;
      await say("carol@localhost/c", "available");
      await say("alice@localhost/a", "unavailable");
      await say("bob@localhost/b", "unavailable");
      await say("bob@localhost/b", "available");
      await say("carol@localhost/c", "unavailable");
      await say("dave@localhost/d", "available");
      const whileFull = t.readiness.state();
      t.disk.full = false;
      await pass(t, 10_000);
      const told = truth.map(([user, presence]) => ({ user, presence }));
      expect(perSession(t.notified())).toEqual(perSession(told));
      expect(t.store.sessions.load()).toEqual(["bob@localhost/b", "dave@localhost/d"]);
      // Not ready while full; one log line at each end of the episode, none per stanza.
      expect(whileFull).toMatchObject({
        ready: false,
        reason: expect.stringMatching(/^the state file cannot be written \(SQLITE_FULL\)/),
      });
      expect(t.readiness.state().ready).toBe(true);
      expect(t.records.filter((r) => r.event === "store_unwritable")).toHaveLength(1);
      expect(t.records.filter((r) => r.event === "store_writable")).toHaveLength(1);
      expect(t.pipeline.counters.get("store_commit_failures")).toBeGreaterThan(0);
      // Later changes still arrive.
      await say("erin@localhost/e", "available");
      expect(t.notified().at(-1)).toEqual({ user: "erin@localhost/e", presence: "available" });
      t.stop();
    });
  }

  it("past its bound, the memory of failed commits gives way to a reconcile: the view ends equal to the truth", async () => {
    const t = durableDaemon({ capacity: 3 });
    t.server.connect();
    await settle();
    t.server.deliver(available("alice@localhost/a"));
    t.server.deliver(available("bob@localhost/b"));
    await settle();
    t.disk.full = true;
    for (let i = 0; i < 10; i++) t.server.deliver(available(`u${i}@localhost/r`));
    t.server.deliver(unavailable("alice@localhost/a"));
    for (let i = 0; i < 10; i += 2) t.server.deliver(unavailable(`u${i}@localhost/r`));
    await pass(t, 5_000);
    t.disk.full = false;
    await pass(t, 10_000);
    const truth = [...t.pipeline.registry.sessionsInState({ presence: "available" })].sort();
    expect(truth).toEqual([
      "bob@localhost/b",
      "u1@localhost/r",
      "u3@localhost/r",
      "u5@localhost/r",
      "u7@localhost/r",
      "u9@localhost/r",
    ]);
    expect(view(t.notified())).toEqual(truth);
    expect(t.store.sessions.load()).toEqual(truth);
    expect(t.pipeline.counters.get("store_backlog_overflows")).toBe(1);
    expect(t.pipeline.storeFault()).toBeUndefined();
    t.stop();
  });

  it("a broker message whose commit failed is not taken, and is harmless when handed in again", async () => {
    const t = durableDaemon();
    t.server.connect();
    await settle();
    const jid = parseFullJid("alice@localhost/a");
    if (!jid.ok) throw new Error("bad test JID");
    t.disk.full = true;
    let taken: unknown;
    try {
      taken = t.pipeline.sink.accept(jid.jid, { type: "presence.available" });
    } catch {
      // The old code threw; the broker source then dropped its connection
      // and the redelivered message found the machine already advanced.
    }
    expect(taken).toBe(false);
    // Held: the broker source hands in nothing more while the file refuses.
    expect(t.pipeline.sink.writable?.()).toBe(false);
    t.disk.full = false;
    await pass(t, 2_000);
    expect(t.pipeline.sink.writable?.()).toBe(true);
    expect(t.notified()).toEqual([{ user: "alice@localhost/a", presence: "available" }]);
    // Redelivered after the recovery: taken, no second notification.
    expect(t.pipeline.sink.accept(jid.jid, { type: "presence.available" })).toBe(true);
    await pass(t, 1_000);
    expect(t.notified()).toEqual([{ user: "alice@localhost/a", presence: "available" }]);
    t.stop();
  });
});
