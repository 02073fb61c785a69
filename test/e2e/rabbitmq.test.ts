import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import amqp from "amqplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RabbitMqServer, startRabbitMq } from "../../testkit/rabbitmq.js";
import { AdminClient, sample } from "../harness/admin-client.js";
import type { DaemonProcess } from "../harness/daemon.js";
import { MongooseImPublisher } from "../harness/mongooseim-publisher.js";
import { Scenario } from "../harness/scenario.js";
import { TcpProxy } from "../harness/tcp-proxy.js";
import type { WorldServer } from "../harness/world.js";
import { waitFor } from "../harness/xmpp-users.js";

// The MongooseIM route (issue #9), end to end: a real RabbitMQ 3.10 broker,
// the real daemon process, a real XMPP server delivering the notifications.
//
// MongooseIM itself is not installable here. What it would do is done by
// hand, byte for byte as its mod_event_pusher RabbitMQ backend does it:
// compact JSON {"user_id": full JID, "present": bool}, routing key = the
// lowercased bare JID, non-persistent, to a non-durable topic exchange
// "presence". Prosody stands in for MongooseIM's XEP-0114 component port:
// the daemon connects to it as a component and the server user receives the
// notifications through it. The sessions exist only in the published events,
// so the daemon's XEP-0199 liveness pings (which such a session could not
// answer) are off here.

describe("MongooseIM's presence events through RabbitMQ (Prosody as the component port)", () => {
  const scene = new Scenario("prosody");
  let broker: RabbitMqServer;
  let world: WorldServer;
  let daemon: DaemonProcess;
  let admin: AdminClient;
  let publisher: MongooseImPublisher;

  const config = (rabbit: string[] = []) =>
    scene.config(
      ['server_user = "world"'],
      [
        "[liveness]",
        "max_rate = 0",
        "[source.rabbitmq]",
        `url = "${broker.url}"`,
        'queue = "presence-notify-e2e"',
        ...rabbit,
      ],
    );

  const startDaemon = async (rabbit: string[] = []) => {
    const started = await scene.daemon(config(rabbit));
    await started.waitForLog({ msg: "rabbitmq source connected" });
    return started;
  };

  const counter = async (name: string) =>
    sample(await admin.metrics(), `presence_notify_${name}_total`) ?? 0;

  beforeAll(async () => {
    [broker] = await Promise.all([startRabbitMq(), scene.start({ users: ["world@localhost"] })]);
    world = await scene.world("world");
    daemon = await startDaemon();
    admin = await AdminClient.of(daemon);
    publisher = await new MongooseImPublisher(broker.url).connect();
  });
  afterAll(async () => {
    await publisher?.close();
    try {
      await scene.stop();
    } finally {
      await broker?.stop();
    }
  });

  it("notifies every session's transitions, in order per session, in the exact default format", async () => {
    const sessions = Array.from({ length: 20 }, (_, i) => `user${i}@localhost/res${i % 3}`);
    // Interleaved across sessions: online, a duplicate online, offline, online again.
    for (const present of [true, true, false, true]) {
      for (const jid of sessions) publisher.presence(jid, present);
    }
    await publisher.flush();
    for (const jid of sessions) {
      await world.waitFor(jid, ["available", "unavailable", "available"]);
    }
    const first = world.received.find((r) => r.user === "user0@localhost/res0");
    expect(first?.stanza.attrs).toMatchObject({ type: "chat", from: "presence.localhost" });
    expect(JSON.parse(first?.stanza.getChild("event", "flux:xmpp")?.getText() ?? "")).toEqual({
      trace: first?.trace,
      type: "PRESENCE_DID_CHANGE",
      args: { user: "user0@localhost/res0", presence: "available" },
    });
    // The server user's own sessions never notify it, whichever source says so.
    publisher.presence("world@localhost/other", true);
    await publisher.flush();
    expect(await counter("rabbitmq_accepted")).toBeGreaterThanOrEqual(81);
    expect(world.about("world@localhost/other")).toEqual([]);
    // Ready without XEP-0356: presences come from the broker (MongooseIM grants none).
    expect(await admin.json("/readyz")).toMatchObject({ ready: true, broker: true });
    // The broker password is in the URL the daemon was given; never in its output.
    const password = new URL(broker.url).password;
    expect(JSON.stringify(daemon.logs)).not.toContain(password);
    expect(daemon.stderr).not.toContain(password);
  });

  it("rejects malformed events, counts and logs them, acks them (no requeue loop) and goes on", async () => {
    const before = await counter("rabbitmq_rejected");
    const bad: [string, string | Buffer][] = [
      ["x@localhost", "not json at all"],
      ["x@localhost", Buffer.from([0xff, 0xfe, 0x7b])],
      ["x@localhost", "[1,2,3]"],
      ["x@localhost", JSON.stringify({ present: true })],
      ["x@localhost", JSON.stringify({ user_id: "x@localhost/r" })],
      ["x@localhost", JSON.stringify({ user_id: "x@localhost/r", present: "yes" })],
      ["x@localhost", JSON.stringify({ user_id: "x@localhost", present: true })],
      ["localhost", JSON.stringify({ user_id: "localhost/r", present: true })],
      ["x@localhost", JSON.stringify({ user_id: "x@localhost/", present: true })],
      ["x@localhost", JSON.stringify({ user_id: "x@localhost/r\u0000", present: true })],
      ["x@localhost", JSON.stringify({ user_id: 42, present: true })],
      // Issue #14, item 3: characters XML cannot carry; written raw, the
      // server would close the component stream and lose the write.
      ["x@localhost", JSON.stringify({ user_id: "x@localhost/r\uffff", present: true })],
      ["x@localhost", JSON.stringify({ user_id: "x\ufffe@localhost/r", present: true })],
      ["x@localhost", JSON.stringify({ user_id: "x@localhost/r\ud800", present: true })],
    ];
    for (const [key, body] of bad) publisher.raw(key, body);
    // Keys a newer MongooseIM adds are ignored: this one is notified.
    publisher.raw(
      "extra@localhost",
      JSON.stringify({ user_id: "extra@localhost/r", present: true, timestamp: 1, host: "x" }),
    );
    publisher.presence("after@localhost/r", true);
    await publisher.flush();
    await world.waitFor("extra@localhost/r", ["available"]);
    await world.waitFor("after@localhost/r", ["available"]);
    expect((await counter("rabbitmq_rejected")) - before).toBe(bad.length);
    // Issue #14, item 4: two spellings of one session are one session.
    publisher.presence("Twice@Localhost/r", true);
    publisher.presence("twice@localhost/r", false);
    await publisher.flush();
    await world.waitFor("twice@localhost/r", ["available", "unavailable"]);
    expect(world.about("x@localhost/r")).toEqual([]);
    const warned = daemon.logs.filter((l) => l.msg === "rabbitmq rejected");
    expect(warned.map((l) => l.reason)).toEqual(
      expect.arrayContaining(["not JSON", "not UTF-8", "not a JSON object"]),
    );
    // Acked, not requeued: nothing is left in the queue, nothing is redelivered.
    const check = await amqp.connect(broker.url);
    const channel = await check.createChannel();
    expect((await channel.checkQueue("presence-notify-e2e")).messageCount).toBe(0);
    await check.close();
  });

  // Regression: the queue's backlog is delivered the moment the consumer
  // starts; the first version dropped it (unacked) as if from an old channel.
  it("keeps what MongooseIM published while the daemon was stopped, in its durable queue", async () => {
    await daemon.stop();
    publisher.presence("while-down@localhost/r", true);
    publisher.presence("while-down@localhost/r", false);
    publisher.presence("user0@localhost/res0", false);
    await publisher.flush();
    daemon = await startDaemon();
    admin = await AdminClient.of(daemon);
    await world.waitFor("while-down@localhost/r", ["available", "unavailable"]);
    // user0's session was forgotten with the stopped daemon's memory: a
    // goodbye for a session it does not know is not news (memory mode).
    expect(world.about("user0@localhost/res0")).toEqual(["available", "unavailable", "available"]);
  });

  it("survives a broker restart mid-stream: reconnects, declares again, and new events flow", async () => {
    // Before: delivered to our queue while connected, so notified.
    for (let i = 0; i < 50; i++) publisher.presence(`before${i}@localhost/r`, true);
    await publisher.flush();
    for (let i = 0; i < 50; i++) await world.waitFor(`before${i}@localhost/r`, ["available"]);

    // Mid-stream: publishing goes on while the broker stops. What the broker
    // never took, or held in memory when it stopped (non-persistent), is
    // MongooseIM's loss, not ours.
    let publishing = true;
    let sent = 0;
    const stream = (async () => {
      while (publishing) {
        try {
          publisher.presence(`during${sent}@localhost/r`, true);
          sent++;
        } catch {
          // The channel is closed: the broker is gone, this event is lost.
        }
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const connects = daemon.logs.filter((l) => l.msg === "rabbitmq source connected").length;
    await new Promise((r) => setTimeout(r, 100));
    await broker.stopNode();
    publishing = false;
    await stream;
    await daemon.waitForLog({ msg: "rabbitmq source connection lost" });
    const down = await admin.get("/readyz");
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({
      broker: false,
      reason: "not consuming presence events from the RabbitMQ broker",
    });
    await publisher.close();
    await broker.startNode();
    await waitFor(
      () => daemon.logs.filter((l) => l.msg === "rabbitmq source connected").length > connects,
      30_000,
      "the daemon to reconnect to the restarted broker",
    );
    expect(daemon.logs).toContainEqual(expect.objectContaining({ link: "rabbitmq" }));

    // The non-durable exchange died with the broker: only the daemon's
    // reconnect can have declared it again (a passive check fails otherwise).
    publisher = await new MongooseImPublisher(broker.url).connect(false);
    for (let i = 0; i < 50; i++) {
      publisher.presence(`after${i}@localhost/r`, true);
      publisher.presence(`after${i}@localhost/r`, false);
    }

    await publisher.flush();
    for (let i = 0; i < 50; i++) {
      await world.waitFor(`after${i}@localhost/r`, ["available", "unavailable"]);
    }
    // Every notification for the events published mid-stream is one of them, once.
    const during = world.received.filter((r) => r.user.startsWith("during"));
    expect(new Set(during.map((r) => r.user)).size).toBe(during.length);
    expect(during.length).toBeLessThanOrEqual(sent);
  });

  it("holds broker messages unacknowledged while the notification queue is full, and loses none", async () => {
    await daemon.stop();
    // The component link through a relay the test can take away, so the
    // notifier cannot send and the 5-slot queue fills up.
    const proxy = await new TcpProxy(scene.server.componentPort).start();
    try {
      daemon = await scene.daemon(
        scene.config(
          ['server_user = "world"'],
          [
            "[liveness]",
            "max_rate = 0",
            "[mailbox]",
            "capacity = 5",
            "[source.rabbitmq]",
            `url = "${broker.url}"`,
            'queue = "presence-notify-full"',
          ],
          proxy.port,
        ),
      );
      await daemon.waitForLog({ msg: "rabbitmq source connected" });
      admin = await AdminClient.of(daemon);
      const port = proxy.port;
      await proxy.stop();
      await daemon.waitForLog({ msg: "component connection lost" });
      const sessions = Array.from({ length: 30 }, (_, i) => `full${i}@localhost/r`);
      for (const jid of sessions) publisher.presence(jid, true);
      await publisher.flush();
      await daemon.waitForLog({
        msg: "notification queue full: broker messages held unacknowledged until there is room",
      });
      expect(await counter("rabbitmq_held_full")).toBeGreaterThan(0);
      await proxy.start(port);
      for (const jid of sessions) await world.waitForSession(jid, 1, 20_000);
      // Nothing refused, nothing lost, in publishing order.
      expect(await counter("notifications_refused_full")).toBe(0);
      const firsts = world.received.filter((r) => r.user.startsWith("full"));
      expect(firsts.filter((r) => r.presence === "available").map((r) => r.user)).toEqual(sessions);
      // The link's reconnect put nothing in doubt: the broker lost no event,
      // so no resync reports these sessions gone (Prosody's replay of the
      // server user alone would have, past the 1 s settle time).
      await new Promise((r) => setTimeout(r, 2_500));
      expect(world.received.filter((r) => r.user.startsWith("full"))).toHaveLength(30);
    } finally {
      await proxy.stop();
    }
  });

  it("durable mode: what it acknowledged survives a kill -9 (the ack follows the commit)", async () => {
    await daemon.stop();
    const dir = mkdtempSync(join(tmpdir(), "pn-rabbit-durable-"));
    const proxy = await new TcpProxy(scene.server.componentPort).start();
    const durableConfig = (port: number) =>
      scene.config(
        ['server_user = "world"'],
        [
          "[liveness]",
          "max_rate = 0",
          "[durability]",
          'mode = "sqlite"',
          `path = "${join(dir, "state.db")}"`,
          "[source.rabbitmq]",
          `url = "${broker.url}"`,
          'queue = "presence-notify-durable"',
        ],
        port,
      );
    try {
      const first = await scene.daemon(durableConfig(proxy.port));
      await first.waitForLog({ msg: "rabbitmq source connected" });
      const firstAdmin = await AdminClient.of(first);
      const port = proxy.port;
      // The link away: notifications can only wait in the state file's outbox.
      await proxy.stop();
      await first.waitForLog({ msg: "component connection lost" });
      const sessions = Array.from({ length: 10 }, (_, i) => `kept${i}@localhost/r`);
      for (const jid of sessions) publisher.presence(jid, true);
      await publisher.flush();
      await firstAdmin.until(
        async () =>
          sample(await firstAdmin.metrics(), "presence_notify_rabbitmq_accepted_total") === 10,
        "all 10 events acknowledged",
      );
      expect(await first.kill()).toBe(null); // SIGKILL: no drain, no goodbye
      // Acked, so not requeued when the dead consumer's connection closed:
      // only the state file can still have them.
      await new Promise((r) => setTimeout(r, 500));
      const check = await amqp.connect(broker.url);
      const channel = await check.createChannel();
      const queue = await channel.checkQueue("presence-notify-durable");
      await check.close();
      expect(queue).toMatchObject({ messageCount: 0, consumerCount: 0 });
      await proxy.start(port);
      daemon = await scene.daemon(durableConfig(port));
      for (const jid of sessions) await world.waitForSession(jid, 1, 20_000);
      expect(world.received.filter((r) => r.user.startsWith("kept")).map((r) => r.user)).toEqual(
        sessions,
      );
    } finally {
      await daemon.stop();
      await proxy.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("names the setting when the exchange exists with another durability, and keeps retrying", async () => {
    await daemon.stop();
    // MongooseIM configured with presence_exchange.durable = true declared it first.
    const durable = await new MongooseImPublisher(broker.url, "presence-durable", true).connect();
    daemon = await scene.daemon(config(['exchange = "presence-durable"']));
    const line = await daemon.waitForLog({ event: "rabbitmq_exchange_mismatch" });
    expect(line.level).toBe(50);
    expect(String(line.msg)).toMatch(
      /the exchange "presence-durable" already exists with durable = true: set source\.rabbitmq\.exchange_durable = true to match MongooseIM's presence_exchange\.durable/,
    );
    // Retried with backoff, not given up and not a crash loop of the supervisor.
    await waitFor(
      () => daemon.logs.filter((l) => l.event === "rabbitmq_exchange_mismatch").length >= 2,
      15_000,
      "a second attempt",
    );
    expect(daemon.logs.filter((l) => l.msg === "child crashed")).toEqual([]);
    await daemon.stop();
    // With the setting matching, it connects and events flow.
    daemon = await startDaemon(['exchange = "presence-durable"', "exchange_durable = true"]);
    durable.presence("durable@localhost/r", true);
    await durable.flush();
    await world.waitFor("durable@localhost/r", ["available"]);
    await durable.close();
  });
});
