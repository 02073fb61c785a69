import { afterAll, describe, expect, it } from "vitest";
import { createActor, SimulatedClock } from "xstate";
import { createService } from "../../../src/app/service.js";
import { NS_FLUX, NS_RECEIPTS } from "../../../src/protocol/notification.js";
import { type DurableStore, openStore } from "../../../src/store/open.js";
import { silentLogger } from "../../../src/telemetry/log.js";
import { testConfig } from "../../support/config.js";
import { MemoryServer, settle } from "../../support/memory-link.js";
import { notification, rawDatabase, tempDir } from "./temp-store.js";

// Durable mode with receipts: a notification sent but never acknowledged is
// in the state file, and a restarted daemon sends it again (same trace).

function daemonOn(store: DurableStore) {
  const server = new MemoryServer();
  const clock = new SimulatedClock();
  const config = testConfig({ notify: { receiptTimeoutMs: 30_000 } });
  const service = createService({
    config: () => config,
    link: server,
    clock,
    logger: silentLogger,
    store,
  });
  service.start();
  const notifier = createActor(service.notifier).start();
  const traces = () =>
    server
      .messages()
      .map((m) => JSON.parse(m.getChild("event", NS_FLUX)?.getText() ?? "{}").trace as string);
  const stop = () => {
    notifier.stop();
    service.close();
  };
  return { server, service, traces, stop };
}

describe("unacknowledged notifications in the state file", () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it("are sent again after a restart, and leave the file once acknowledged", async () => {
    const path = dir.file();
    const first = openStore(path);
    const before = daemonOn(first);
    before.server.connect();
    before.server.deliver('<presence from="u@localhost/a" to="presence.localhost"/>');
    await settle();
    const [trace] = before.traces();
    expect(trace).toBeDefined();
    expect(first.unacked.load().map((n) => n.trace)).toEqual([trace]);
    before.stop(); // the daemon dies before any receipt
    first.close();

    const second = openStore(path);
    const after = daemonOn(second);
    after.server.answersReceipts.add("world@localhost");
    after.server.connect();
    after.server.deliver('<presence from="world@localhost/game" to="presence.localhost"/>');
    await settle();
    expect(after.traces()).toEqual([trace]);
    expect(second.unacked.load()).toEqual([]);
    expect(second.held.load()).toEqual([]);
    expect(after.service.counters.get("notifications_acknowledged")).toBe(1);
    after.stop();
    second.close();
  });

  it("a receipt in the old format (id on the message) acknowledges too", async () => {
    const store = openStore(dir.file());
    const d = daemonOn(store);
    d.server.connect();
    d.server.deliver('<presence from="u@localhost/a" to="presence.localhost"/>');
    await settle();
    const [trace] = d.traces();
    d.server.deliver(
      `<message from="world@localhost/game" to="presence.localhost" id="${trace}"><received xmlns="${NS_RECEIPTS}"/></message>`,
    );
    await settle();
    expect(store.unacked.load()).toEqual([]);
    d.stop();
    store.close();
  });
});

describe("schema version 1 files", () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it("gain the unacked table and keep their rows", () => {
    const path = dir.file();
    const store = openStore(path);
    store.outbox.offer(notification(1));
    store.close();
    // What a version 1 file looks like: no unacked table, nor what later versions added.
    const db = rawDatabase(path);
    db.exec("DROP TABLE unacked; DROP TABLE dead_letters; DROP TABLE session_seq");
    db.exec("DROP TABLE position");
    for (const table of ["outbox", "held"]) {
      db.exec(`ALTER TABLE ${table} DROP COLUMN extra`);
      db.exec(`ALTER TABLE ${table} DROP COLUMN pos; ALTER TABLE ${table} DROP COLUMN resync`);
    }
    db.exec("PRAGMA user_version = 1");
    db.close();

    const reopened = openStore(path);
    expect(reopened.outbox.peek()?.trace).toBe("trace-1");
    reopened.unacked.add(notification(2));
    expect(reopened.unacked.load().map((n) => n.trace)).toEqual(["trace-2"]);
    reopened.close();
  });
});
