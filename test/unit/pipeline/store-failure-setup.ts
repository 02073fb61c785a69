import { createActor, SimulatedClock } from "xstate";
import { Readiness } from "../../../src/admin/readiness.js";
import { createService } from "../../../src/app/service.js";
import { NS_FLUX } from "../../../src/protocol/notification.js";
import { type DurableStore, openStore } from "../../../src/store/open.js";
import { type ConfigPatch, testConfig } from "../../support/config.js";
import { logSink } from "../../support/log-sink.js";
import { MemoryServer, settle } from "../../support/memory-link.js";
import { advertisement } from "./setup.js";

function diskFull() {
  return Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" });
}

/**
 * A durable service and its notifier against the in-memory server, on a
 * simulated clock. The store is the real one at `path`; while `disk.full`
 * is set its test-only fault hook fails every commit with SQLITE_FULL (a
 * test on a really full filesystem leaves `disk.full` alone).
 */
export function durableDaemon(
  path: string,
  opts: {
    flapWindowMs?: number;
    userRate?: number;
    capacity?: number;
    /** Any other `[notify]` keys (payload fields, level). */
    notify?: ConfigPatch["notify"];
  } = {},
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
  const config = testConfig({
    notify: {
      flapWindowMs: opts.flapWindowMs ?? 0,
      userRate: opts.userRate ?? 0,
      ...opts.notify,
    },
    mailbox: { capacity: opts.capacity ?? 100 },
    liveness: { intervalMs: 600_000, timeoutMs: 10_000, maxRate: 0 },
  });
  const service = createService({ config: () => config, link: server, clock, logger, store });
  service.start();
  server.on("online", () => server.deliver(advertisement("localhost")));
  const notifier = createActor(service.notifier).start();
  const notified = (): { user: string; presence: string }[] =>
    server.messages().map((m) => JSON.parse(m.getChild("event", NS_FLUX)?.getText() ?? "{}").args);
  const readiness = new Readiness({
    link: server,
    privileges: service.privileges,
    counters: service.counters,
    store: service.outbox.storeFault,
  });
  const stop = () => {
    readiness.close();
    notifier.stop();
    service.close();
    store.close();
  };
  return { disk, store, server, clock, service, readiness, notified, records, stop };
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
