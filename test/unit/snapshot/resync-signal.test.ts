import { afterAll, describe, expect, it } from "vitest";
import { announceTakeover } from "../../../src/app/standby-takeover.js";
import { newNotification } from "../../../src/protocol/notification.js";
import { logSink } from "../../support/log-sink.js";
import { settle } from "../../support/memory-link.js";
import { advertisement, available, setup, unavailable } from "../pipeline/setup.js";
import { tempDir } from "../store/temp-store.js";
import {
  durableSnapshot,
  iq,
  NS_SNAPSHOT,
  readers,
  snapshotRequest,
  WORLD,
  WORLD_FULL,
} from "./setup.js";

// PROTOCOL.md, "Resync": when the daemon cannot vouch for what a server user
// was told, it queues a <resync/> for it, in order with the notifications.

function memory(options: Parameters<typeof setup>[0] = {}) {
  const t = setup({ ...options, notify: { snapshot: true, ...options.notify } });
  return { ...t, ...readers(t.server) };
}

describe("the resync signal", () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it("goes to each served domain's server user after a start without durable state, first and once", async () => {
    const t = memory({ advertise: ["localhost"] });
    t.server.connect();
    t.server.deliver(available("u@localhost/r"));
    await settle();
    const [first, second] = t.server.messages();
    expect(first?.getChild("resync", NS_SNAPSHOT)?.attrs).toMatchObject({ reason: "daemon-start" });
    expect(first?.attrs).toMatchObject({ type: "chat", from: "presence.localhost", to: WORLD });
    expect(first?.getChildText("body")).toBe("Presence resync");
    expect(first?.getChild("event", "flux:xmpp")).toBeUndefined();
    // Ordered with the notifications: its position comes before theirs.
    const [resync] = t.resyncs();
    expect(resync?.position).toBeLessThan(t.notified()[0]?.pos ?? 0);
    expect(second?.getChild("event", "flux:xmpp")).toBeDefined();
    // A domain the server advertises later is told too; a reconnect tells no one again.
    t.server.deliver(advertisement("example.test"));
    t.server.drop();
    t.server.connect();
    await settle();
    expect(t.resyncs().map((r) => r.reason)).toEqual(["daemon-start"]);
    expect(t.resyncs("world@example.test").map((r) => r.reason)).toEqual(["daemon-start"]);
  });

  it("follows a notification the full mailbox refused: V has it, and the server user is told to look", async () => {
    // Capacity 3, the link down: a's notification, the start's signal (owed
    // to localhost once a notification shows it served) and b's fill it.
    const t = memory({ mailbox: { capacity: 3 }, advertise: ["localhost"] });
    for (const r of ["a", "b", "c"]) {
      // Live: the connect's resync (pings) confirms them.
      t.server.liveSessions.add(`u@localhost/${r}`);
      t.server.deliver(available(`u@localhost/${r}`));
    }
    expect(t.service.counters.get("notifications_refused_full")).toBe(1);
    expect([...(t.service.outbox.snapshot?.view.sessions("localhost") ?? [])]).toContain(
      "u@localhost/c",
    );
    t.server.connect();
    await settle();
    expect(t.resyncs().map((r) => r.reason)).toEqual(["daemon-start"]);
    // Room again: the owed signal goes on the next retry.
    t.clock.increment(1_000);
    await settle();
    expect(t.resyncs().map((r) => r.reason)).toEqual(["daemon-start", "mailbox-full"]);
    // A snapshot taken now holds what was never notified.
    t.server.deliver(iq(WORLD_FULL, snapshotRequest()));
    await settle();
    const result = t.server.sent.find((s) => s.name === "iq" && s.attrs.type === "result");
    const users = result
      ?.getChild("snapshot", NS_SNAPSHOT)
      ?.getChildren("session")
      .map((s) => s.attrs.user);
    expect(users).toEqual(["u@localhost/a", "u@localhost/b", "u@localhost/c"]);
  });

  it("follows a notification the notifier set aside (dead letter), for its server user only", async () => {
    const t = memory();
    t.server.connect();
    await settle();
    const lost = newNotification(
      { full: "v@example.test/r", bare: "v@example.test", domain: "example.test" },
      "available",
      "world",
      0,
    );
    t.service.outbox.deadLetters.add(lost, "its stanza failed to build", 3, 0);
    await settle();
    expect(t.resyncs("world@example.test").map((r) => r.reason)).toEqual([
      "daemon-start",
      "dead-letter",
    ]);
    expect(t.resyncs().map((r) => r.reason)).toEqual(["daemon-start"]);
  });

  it("goes to every server user when a standby takes over (the function it calls)", async () => {
    const t = memory();
    t.server.connect();
    await settle();
    t.service.outbox.snapshot?.resync("takeover");
    await settle();
    expect(t.resyncs().map((r) => r.reason)).toEqual(["daemon-start", "takeover"]);
    expect(t.resyncs("world@example.test").map((r) => r.reason)).toEqual([
      "daemon-start",
      "takeover",
    ]);
  });

  it("is what announceTakeover (src/app/standby-takeover.ts) sends, once, to every server user", async () => {
    const t = memory();
    t.server.connect();
    await settle();
    const { logger } = logSink();
    announceTakeover(t, { path: "/tmp/state.db", waitedMs: 1_200, attempts: 2 }, logger);
    await settle();
    expect(t.resyncs().map((r) => r.reason)).toEqual(["daemon-start", "takeover"]);
    expect(t.resyncs("world@example.test").map((r) => r.reason)).toEqual([
      "daemon-start",
      "takeover",
    ]);
    expect(t.service.counters.get("standby_takeovers")).toBe(1);
  });

  it("durable mode: a new state file resyncs; a restart on it does not, and positions go on", async () => {
    const path = dir.file();
    const first = durableSnapshot(path);
    first.server.connect();
    first.server.deliver(available("u@localhost/a"));
    await settle();
    expect(first.resyncs().map((r) => r.reason)).toEqual(["daemon-start"]);
    const before = first.notified().map((n) => n.pos);
    first.stop();

    const second = durableSnapshot(path);
    second.server.connect();
    second.server.deliver(available("u@localhost/b"));
    await settle();
    expect(second.resyncs()).toEqual([]);
    const after = second.notified().map((n) => n.pos);
    expect(after[0]).toBeGreaterThan(before[0] ?? Number.POSITIVE_INFINITY);
    // V came back from the state file: a snapshot holds the session of the last run.
    second.server.deliver(iq(WORLD_FULL, snapshotRequest()));
    await settle();
    const result = second.server.sent.find((s) => s.name === "iq" && s.attrs.type === "result");
    const users = result
      ?.getChild("snapshot", NS_SNAPSHOT)
      ?.getChildren("session")
      .map((s) => s.attrs.user);
    expect(users).toEqual(["u@localhost/a", "u@localhost/b"]);
    second.stop();
  });

  it("durable mode: mail held for an offline server user keeps its position across a restart", async () => {
    const path = dir.file();
    const first = durableSnapshot(path);
    first.server.offline.add(WORLD);
    first.server.connect();
    first.server.deliver(available("u@localhost/a"));
    await settle();
    const held = first.store.held.load().filter((n) => n.user === "u@localhost/a");
    expect(held).toHaveLength(1);
    const pos = held[0]?.pos;
    expect(pos).toBeGreaterThan(0);
    first.stop();
    const second = durableSnapshot(path);
    second.server.connect();
    second.server.deliver(available(WORLD_FULL));
    await settle();
    expect(second.notified().find((n) => n.user === "u@localhost/a")?.pos).toBe(pos);
    second.stop();
  });

  it("durable mode: a commit overflow reconciled owes every server user a resync", async () => {
    const t = durableSnapshot(dir.file(), { capacity: 2 });
    t.server.connect();
    await settle();
    t.disk.full = true;
    for (const r of ["a", "b", "c", "d"]) t.server.deliver(available(`u@localhost/${r}`));
    t.server.deliver(unavailable("u@localhost/a"));
    expect(t.service.counters.get("store_backlog_overflows")).toBe(1);
    t.disk.full = false;
    for (let i = 0; i < 20; i++) {
      t.clock.increment(500);
      await settle();
    }
    expect(t.service.counters.get("store_reconciled")).toBeGreaterThan(0);
    expect(t.resyncs().map((r) => r.reason)).toEqual(["daemon-start", "overflow"]);
    expect([...(t.service.outbox.snapshot?.view.sessions("localhost") ?? [])].sort()).toEqual(
      ["b", "c", "d"].map((r) => `u@localhost/${r}`),
    );
    t.stop();
  });
});

describe("positions (args.pos)", () => {
  it("never change the default stanza: its bytes are the original module's", async () => {
    const t = setup();
    t.server.connect();
    t.server.deliver(available("u@localhost/r"));
    await settle();
    const [message] = t.server.messages();
    const id = message?.attrs.id ?? "";
    expect(message?.toString()).toBe(
      `<message type="chat" id="${id}" from="presence.localhost" to="world@localhost">` +
        `<body>Presence update</body><event xmlns="flux:xmpp" mime="application/json">` +
        `{"trace":"${id}","type":"PRESENCE_DID_CHANGE","args":{"user":"u@localhost/r","presence":"available"}}` +
        "</event></message>",
    );
    expect(t.service.outbox.snapshot).toBeUndefined();
  });

  it("come after the other fields and increase strictly", async () => {
    const t = memory({ notify: { snapshot: true, sequence: "session" }, advertise: ["localhost"] });
    t.server.connect();
    t.server.deliver(available("u@localhost/r"));
    t.server.deliver(unavailable("u@localhost/r"));
    t.server.deliver(available("u@localhost/r"));
    await settle();
    const args = t.notified();
    expect(Object.keys(args[0] ?? {})).toEqual(["user", "presence", "seq", "pos"]);
    const positions = args.map((a) => a.pos);
    expect(positions).toEqual([2, 3, 4]);
    const text = t.server.messages()[1]?.toString() ?? "";
    expect(text).toContain(`"seq":1,"pos":2}`);
  });

  it("start at the wall clock in microseconds when nothing stored is later, so a lost state file does not start at 1", async () => {
    const dir = tempDir();
    const t = durableSnapshot(dir.file(), { clockAt: 1_700_000_000_000 });
    t.server.connect();
    t.server.deliver(available("u@localhost/r"));
    await settle();
    expect(t.resyncs()[0]?.position).toBe(1_700_000_000_000_000);
    expect(t.notified()[0]?.pos).toBe(1_700_000_000_000_001);
    t.stop();
    dir.remove();
  });
});
