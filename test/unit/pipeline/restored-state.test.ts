import { afterAll, describe, expect, it } from "vitest";
import { createActor, SimulatedClock } from "xstate";
import { notifierLogic } from "../../../src/actors/notifier.js";
import { createPipeline } from "../../../src/app/pipeline.js";
import { NS_FLUX, newNotification } from "../../../src/protocol/notification.js";
import { type DurableStore, openStore } from "../../../src/store/open.js";
import { logSink } from "../../support/log-sink.js";
import { MemoryServer, settle } from "../../support/memory-link.js";
import { tempDir } from "../store/temp-store.js";

// Issue #14, items 3 and 4, for state that did not come from the wire this
// run: the sessions and the mail a state file (written by an older version,
// or edited) holds go through the same JID checks and canonical form as a
// presence, and a notification XML cannot carry is dropped, counted, never
// written (nor left at the head to crash the notifier on every attempt).

function daemonOn(store?: DurableStore) {
  const server = new MemoryServer();
  const clock = new SimulatedClock();
  const { logger, records } = logSink();
  const pipeline = createPipeline({
    link: server,
    clock,
    logger,
    policy: () => ({ serverUser: "world", accepts: () => true, domains: [] }),
    fromUser: () => false,
    mailboxCapacity: 100,
    pingTimeoutMs: 10_000,
    resyncSettleMs: 1_000,
    liveness: { intervalMs: 30_000, timeoutMs: 10_000, maxRate: 0 },
    ...(store ? { store } : {}),
  });
  const notifier = createActor(
    notifierLogic({
      ...pipeline,
      link: server,
      from: () => "component",
      logger,
      now: () => clock.now(),
    }),
  ).start();
  const notified = () =>
    server.messages().map((m) => JSON.parse(m.getChild("event", NS_FLUX)?.getText() ?? "{}").args);
  return { server, pipeline, notifier, notified, records };
}

describe("state restored at start", () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it("restored sessions are keyed canonically, and one XML cannot carry is forgotten", async () => {
    const path = dir.file();
    const before = openStore(path);
    before.sessions.available("Alice@Localhost/r");
    before.sessions.available("bad\uffff@localhost/r");
    before.close();
    const store = openStore(path);
    const t = daemonOn(store);
    expect([...t.pipeline.registry.entries()].map(([jid]) => jid)).toEqual(["alice@localhost/r"]);
    expect(store.sessions.load()).toEqual(["alice@localhost/r"]);
    t.server.connect();
    t.server.deliver('<presence type="unavailable" from="alice@localhost/r"/>');
    await settle();
    expect(t.notified()).toEqual([{ user: "alice@localhost/r", presence: "unavailable" }]);
    t.notifier.stop();
    t.pipeline.close();
    store.close();
  });
});

describe("a notification XML cannot carry", () => {
  it("is dropped and counted, and the mail behind it goes out", async () => {
    const t = daemonOn();
    const bad = newNotification(
      { full: "bad@localhost/r\uffff", bare: "bad@localhost", domain: "localhost" },
      "available",
      "world",
      0,
    );
    const good = newNotification(
      { full: "good@localhost/r", bare: "good@localhost", domain: "localhost" },
      "available",
      "world",
      0,
    );
    t.pipeline.mailbox.offer(bad);
    t.pipeline.mailbox.offer(good);
    t.pipeline.mailbox.offer(bad);
    t.server.connect();
    await settle();
    expect(t.notified()).toEqual([{ user: "good@localhost/r", presence: "available" }]);
    expect(t.pipeline.counters.get("notifications_unwritable")).toBe(2);
    expect(t.pipeline.mailbox.size).toBe(0);
    expect(t.records.filter((r) => r.event === "presence_notify_error")).toHaveLength(2);
  });
});
