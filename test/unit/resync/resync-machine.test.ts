import { describe, expect, it } from "vitest";
import { createActor, fromPromise, SimulatedClock, type StateValue } from "xstate";
import {
  REPLAY_WINDOW_FACTOR,
  type ReconcileResult,
  resyncMachine,
} from "../../../src/machines/resync.js";

// The resync machine on its own: its steps, with effects that record what
// they were asked to do and settle steps the test resolves or fails by hand.

const SETTLE = 1_000;
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A settle step the test ends: `resolve`/`reject` the run in flight; `aborted` when stopped. */
function step<T>() {
  const runs: { resolve: (v: T) => void; reject: (e: Error) => void; signal: AbortSignal }[] = [];
  const logic = fromPromise<T>(
    ({ signal }) =>
      new Promise<T>((resolve, reject) => {
        runs.push({ resolve, reject, signal });
      }),
  );
  return { logic, runs, last: () => runs.at(-1) };
}

function start(options: { sessionList?: boolean; replayed?: boolean; quiet?: boolean } = {}) {
  const clock = new SimulatedClock();
  const done: string[] = [];
  const reconcile = step<ReconcileResult>();
  const drop = step<void>();
  const verify = step<void>();
  const failures: { failures: number; error: unknown }[] = [];
  const actor = createActor(
    resyncMachine.provide({
      guards: { replayed: () => options.replayed === true, quiet: () => options.quiet !== false },
      actions: {
        beginResync: () => done.push("beginResync"),
        cancelPings: () => done.push("cancelPings"),
        reportFailure: ({ context }) =>
          failures.push({ failures: context.failures, error: context.error }),
      },
      actors: { reconcile: reconcile.logic, dropUnreplayed: drop.logic, verify: verify.logic },
    }),
    { clock, input: { settleMs: SETTLE, sessionList: options.sessionList === true } },
  );
  actor.start();
  const value = () => actor.getSnapshot().value;
  return { actor, clock, done, reconcile, drop, verify, failures, value };
}

const RECONNECTING: StateValue = {
  reconnecting: { replay: "awaitingAdvertisement", settle: "awaitingOnline" },
};

describe("the resync machine's lifecycle", () => {
  it("goes idle -> reconnecting -> settling -> idle, settling by the step the attempt calls for", async () => {
    for (const [options, settling] of [
      [{}, "pinging"],
      [{ replayed: true }, "dropping"],
      [{ sessionList: true }, "listing"],
    ] as const) {
      const m = start(options);
      expect(m.value()).toBe("idle");
      m.actor.send({ type: "connecting" });
      expect(m.value()).toEqual(RECONNECTING);
      expect(m.done).toEqual(["beginResync"]);
      m.actor.send({ type: "online" });
      m.clock.increment(SETTLE - 1);
      expect(m.value()).toMatchObject({ reconnecting: { settle: "awaitingQuiet" } });
      m.clock.increment(1);
      expect(m.value()).toEqual({ settling: settling });
      m.reconcile.last()?.resolve("reconciled");
      m.drop.last()?.resolve();
      m.verify.last()?.resolve();
      await flush();
      expect(m.value()).toBe("idle");
    }
  });

  it("falls back to the replay or the pings when the session list cannot be had", async () => {
    for (const [replayed, fallback] of [
      [true, "dropping"],
      [false, "pinging"],
    ] as const) {
      const m = start({ sessionList: true, replayed });
      m.actor.send({ type: "connecting" });
      m.actor.send({ type: "online" });
      m.clock.increment(SETTLE);
      m.reconcile.last()?.resolve("unavailable");
      await flush();
      expect(m.value()).toEqual({ settling: fallback });
    }
  });

  it("a new connection attempt begins it again from any state, stopping the step in flight", async () => {
    const to: Record<string, (m: ReturnType<typeof start>) => Promise<void> | void> = {
      idle: () => {},
      "reconnecting, before online": (m) => m.actor.send({ type: "connecting" }),
      "reconnecting, awaiting quiet": (m) => {
        m.actor.send({ type: "connecting" });
        m.actor.send({ type: "advertisement" });
        m.actor.send({ type: "online" });
      },
      listing: (m) => {
        m.actor.send({ type: "connecting" });
        m.actor.send({ type: "online" });
        m.clock.increment(SETTLE);
      },
      failed: async (m) => {
        m.actor.send({ type: "connecting" });
        m.actor.send({ type: "online" });
        m.clock.increment(SETTLE);
        m.reconcile.last()?.reject(new Error("a bug"));
        await flush();
      },
    };
    for (const [name, reach] of Object.entries(to)) {
      const m = start({ sessionList: true });
      await reach(m);
      const begun = m.done.filter((d) => d === "beginResync").length;
      const inFlight = name === "listing" ? m.reconcile.last() : undefined;
      m.actor.send({ type: "connecting" });
      expect(m.value(), name).toEqual(RECONNECTING);
      expect(
        m.done.filter((d) => d === "beginResync"),
        name,
      ).toHaveLength(begun + 1);
      if (name === "listing") expect(inFlight?.signal.aborted).toBe(true);
      // The old attempt's timers (settle, bound, retry) are gone: nothing
      // settles before this one is online.
      m.clock.increment(SETTLE * (REPLAY_WINDOW_FACTOR + 2) + 60_000);
      expect(m.value(), name).toEqual(RECONNECTING);
    }
  });

  it("goes idle when the link is lost, from any state, and cancels the pings", async () => {
    const m = start();
    m.actor.send({ type: "offline" });
    expect(m.value()).toBe("idle");
    m.actor.send({ type: "connecting" });
    m.actor.send({ type: "online" });
    m.clock.increment(SETTLE);
    const pinging = m.verify.last();
    m.actor.send({ type: "offline" });
    expect(m.value()).toBe("idle");
    expect(pinging?.signal.aborted).toBe(true);
    expect(m.done).toEqual(["cancelPings", "beginResync", "cancelPings"]);
  });

  it("runs a settle step that throws again after 1 s, then 2 s, reporting each failure", async () => {
    const m = start();
    m.actor.send({ type: "connecting" });
    m.actor.send({ type: "online" });
    m.clock.increment(SETTLE);
    const bug = new Error("a bug in the pings");
    m.verify.last()?.reject(bug);
    await flush();
    expect(m.value()).toEqual({ settling: "failed" });
    expect(m.failures).toEqual([{ failures: 1, error: bug }]);
    m.clock.increment(999);
    expect(m.verify.runs).toHaveLength(1);
    m.clock.increment(1);
    expect(m.verify.runs).toHaveLength(2);
    m.verify.last()?.reject(bug);
    await flush();
    m.clock.increment(1_999);
    expect(m.verify.runs).toHaveLength(2);
    m.clock.increment(1);
    m.verify.last()?.resolve();
    await flush();
    expect(m.value()).toBe("idle");
    expect(m.failures.map((f) => f.failures)).toEqual([1, 2]);
  });
});

describe("the replay window's states", () => {
  const replay = (m: ReturnType<typeof start>) =>
    (m.value() as { reconnecting?: { replay: StateValue } }).reconnecting?.replay;

  it("opens at an advertisement before online and closes at any other stanza", () => {
    const m = start();
    m.actor.send({ type: "connecting" });
    expect(m.actor.getSnapshot().hasTag("listening")).toBe(true);
    expect(m.actor.getSnapshot().hasTag("open")).toBe(false);
    m.actor.send({ type: "advertisement" });
    expect(replay(m)).toEqual({ open: "beforeOnline" });
    expect(m.actor.getSnapshot().hasTag("open")).toBe(true);
    m.actor.send({ type: "other" });
    expect(replay(m)).toBe("closed");
    expect(m.actor.getSnapshot().hasTag("listening")).toBe(false);
  });

  it("closes at online when nothing was replayed before it, else stays open until its bound", () => {
    const empty = start();
    empty.actor.send({ type: "connecting" });
    empty.actor.send({ type: "advertisement" });
    empty.actor.send({ type: "online" });
    expect(replay(empty)).toBe("closed");

    const counted = start({ replayed: true });
    counted.actor.send({ type: "connecting" });
    counted.actor.send({ type: "advertisement" });
    counted.actor.send({ type: "online" });
    expect(replay(counted)).toEqual({ open: "afterOnline" });
    counted.actor.send({ type: "advertisement" });
    expect(replay(counted)).toBe("closed");

    // Replayed presences that keep the replay from being quiet (`quiet`
    // false) keep the window open only until its bound after online.
    const busy = start({ replayed: true, quiet: false });
    busy.actor.send({ type: "connecting" });
    busy.actor.send({ type: "advertisement" });
    busy.actor.send({ type: "online" });
    busy.clock.increment(SETTLE * REPLAY_WINDOW_FACTOR - 1);
    expect(replay(busy)).toEqual({ open: "afterOnline" });
    busy.clock.increment(1);
    expect(replay(busy)).toBe("closed");
  });

  it("closes when a session is replayed twice since the advertisement", () => {
    const m = start({ replayed: true });
    m.actor.send({ type: "connecting" });
    m.actor.send({ type: "advertisement" });
    m.actor.send({ type: "replay.repeated" });
    expect(replay(m)).toBe("closed");
  });
});
