import type { Element } from "@xmpp/xml";
import { createActor, SimulatedClock } from "xstate";
import { createService } from "../../../src/app/service.js";
import { NS_FLUX } from "../../../src/protocol/notification.js";
import { type DurableStore, openStore } from "../../../src/store/open.js";
import { testConfig } from "../../support/config.js";
import { logSink } from "../../support/log-sink.js";
import { MemoryServer, settle } from "../../support/memory-link.js";
import { SpliceConsumer } from "../../support/splice-consumer.js";
import { advertisement, type SetupOptions, setup } from "../pipeline/setup.js";

export const WORLD = "world@localhost";
export const WORLD_FULL = `${WORLD}/backend`;
export const NS_SNAPSHOT = "urn:flux:presence:snapshot:0";

/**
 * The service with `notify.snapshot` on, against the in-memory server, and
 * the server user `world@localhost/backend` as a splice consumer reading
 * what the server delivered to it: notifications and signals on one queue,
 * IQ results on another, so a test can interleave the two at will.
 */
export function snapshotScene(options: SetupOptions = {}, max = 2) {
  const t = setup({ ...options, notify: { snapshot: true, ...options.notify } });
  const consumer = new SpliceConsumer({ component: t.server.domain, max });
  let read = 0;
  const messages: Element[] = [];
  const results: Element[] = [];
  /** Moves what the server delivered since the last call onto the two queues. */
  const collect = () => {
    for (; read < t.server.sent.length; read++) {
      const s = t.server.sent[read] as Element;
      if (s.name === "message" && s.attrs.to === WORLD) messages.push(s);
      if (s.name === "iq" && s.attrs.to === WORLD_FULL) results.push(s);
    }
  };
  /** The server user sends `iq` (from its full JID). */
  const ask = (iq: Element) => {
    iq.attrs.from = WORLD_FULL;
    t.server.deliver(iq.toString());
  };
  /** Pages until the consumer rests on a complete snapshot (bounded). */
  const syncFully = async () => {
    for (let i = 0; i < 10_000 && consumer.syncing; i++) {
      const request = consumer.nextRequest();
      if (request) ask(request);
      await settle(3);
      collect();
      for (const s of [...messages.splice(0), ...results.splice(0)]) consumer.receive(s);
      // A refused request (asked too often): wait for the bucket.
      if (!request) t.clock.increment(1_000);
    }
  };
  return { ...t, consumer, messages, results, collect, ask, syncFully };
}

/** An IQ get to the component, from `from`, with `payload` (text) inside. */
export const iq = (from: string, payload: string, id = "q1", type = "get") =>
  `<iq type='${type}' id='${id}' from='${from}' to='presence.localhost'>${payload}</iq>`;

export const snapshotRequest = (rsm = "") =>
  `<snapshot xmlns='${NS_SNAPSHOT}'>${rsm === "" ? "" : `<set xmlns='http://jabber.org/protocol/rsm'>${rsm}</set>`}</snapshot>`;

/**
 * A durable service with the snapshot on, over the real store at `path`;
 * while `disk.full` is set, every commit fails with SQLITE_FULL (the
 * store's test-only fault hook), as in test/unit/pipeline/store-failure-setup.ts.
 */
export function durableSnapshot(
  path: string,
  options: { capacity?: number; clockAt?: number } = {},
) {
  const disk = { full: false };
  const store: DurableStore = openStore(path, {
    commitFault: () => {
      if (disk.full)
        throw Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" });
    },
  });
  const server = new MemoryServer();
  const clock = new SimulatedClock();
  if (options.clockAt) clock.set(options.clockAt);
  const { logger, records } = logSink();
  const config = testConfig({
    notify: { snapshot: true },
    mailbox: { capacity: options.capacity ?? 100 },
  });
  const service = createService({ config: () => config, link: server, clock, logger, store });
  service.start();
  server.on("online", () => server.deliver(advertisement("localhost")));
  const notifier = createActor(service.notifier).start();
  const stop = () => {
    notifier.stop();
    service.close();
    store.close();
  };
  return { disk, store, server, clock, service, records, stop, ...readers(server) };
}

/** What the server delivered to `world@localhost`: notifications' args and resync signals. */
export function readers(server: MemoryServer) {
  const toWorld = () => server.messages().filter((m) => m.attrs.to === WORLD);
  return {
    notified: () =>
      toWorld()
        .map((m) => m.getChild("event", NS_FLUX)?.getText())
        .filter((json): json is string => json !== undefined)
        .map((json) => JSON.parse(json).args as { user: string; presence: string; pos: number }),
    resyncs: (to = WORLD) =>
      server
        .messages()
        .filter((m) => m.attrs.to === to)
        .map((m) => m.getChild("resync", NS_SNAPSHOT))
        .filter((r): r is Element => r !== undefined)
        .map((r) => ({ reason: r.attrs.reason, position: Number(r.attrs.position) })),
  };
}
