import { createActor, SimulatedClock } from "xstate";
import { notifierLogic } from "../../../src/actors/notifier.js";
import { Readiness } from "../../../src/admin/readiness.js";
import { createPipeline } from "../../../src/app/pipeline.js";
import { NS_FLUX } from "../../../src/protocol/notification.js";
import { type DurableStore, openStore } from "../../../src/store/open.js";
import { logSink } from "../../support/log-sink.js";
import { MemoryServer, settle } from "../../support/memory-link.js";
import { advertisement } from "./setup.js";

function diskFull() {
  return Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" });
}

/**
 * A durable pipeline and notifier against the in-memory server, on a
 * simulated clock. The store is the real one at `path`; while `disk.full`
 * is set its test-only fault hook fails every commit with SQLITE_FULL (a
 * test on a really full filesystem leaves `disk.full` alone).
 */
export function durableDaemon(
  path: string,
  opts: { flapWindowMs?: number; userRate?: number; capacity?: number } = {},
) {
  const disk = { full: false };
  const store: DurableStore = openStore(path, {
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

export type Daemon = ReturnType<typeof durableDaemon>;

/** Each session's notifications, in order. */
export function perSession(list: { user: string; presence: string }[]): Map<string, string[]> {
  const by = new Map<string, string[]>();
  for (const { user, presence } of list) by.set(user, [...(by.get(user) ?? []), presence]);
  return by;
}

/** What the server user believes is online: the last notification of each session. */
export function view(list: { user: string; presence: string }[]): string[] {
  return [...perSession(list)]
    .filter(([, presences]) => presences.at(-1) === "available")
    .map(([jid]) => jid)
    .sort();
}

/** Lets time pass in steps, so every timer (damping, rate, retry) fires and the notifier runs. */
export async function pass(t: Daemon, ms: number) {
  for (let waited = 0; waited < ms; waited += 500) {
    t.clock.increment(500);
    await settle();
  }
}
