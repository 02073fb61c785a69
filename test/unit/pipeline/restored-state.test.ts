import { afterAll, describe, expect, it } from "vitest";
import { createActor, SimulatedClock } from "xstate";
import { createService } from "../../../src/app/service.js";
import { NS_FLUX, newNotification } from "../../../src/protocol/notification.js";
import { type DurableStore, openStore } from "../../../src/store/open.js";
import { testConfig } from "../../support/config.js";
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
  const config = testConfig();
  const service = createService({
    config: () => config,
    link: server,
    clock,
    logger,
    ...(store ? { store } : {}),
  });
  service.start();
  const notifier = createActor(service.notifier).start();
  const notified = () =>
    server.messages().map((m) => JSON.parse(m.getChild("event", NS_FLUX)?.getText() ?? "{}").args);
  return { server, service, notifier, notified, records };
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
    expect([...t.service.intake.registry.entries()].map(([jid]) => jid)).toEqual([
      "alice@localhost/r",
    ]);
    expect(store.sessions.load()).toEqual(["alice@localhost/r"]);
    t.server.connect();
    t.server.deliver('<presence type="unavailable" from="alice@localhost/r"/>');
    await settle();
    expect(t.notified()).toEqual([{ user: "alice@localhost/r", presence: "unavailable" }]);
    t.notifier.stop();
    t.service.close();
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
    t.service.outbox.mailbox.offer(bad);
    t.service.outbox.mailbox.offer(good);
    t.service.outbox.mailbox.offer(bad);
    t.server.connect();
    await settle();
    expect(t.notified()).toEqual([{ user: "good@localhost/r", presence: "available" }]);
    expect(t.service.counters.get("notifications_unwritable")).toBe(2);
    expect(t.service.outbox.mailbox.size).toBe(0);
    expect(t.records.filter((r) => r.event === "presence_notify_error")).toHaveLength(2);
  });
});
