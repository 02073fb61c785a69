import type { Client } from "@xmpp/client";
import { xml } from "@xmpp/component";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PausableProxy } from "../harness/pausable-proxy.js";
import { Scenario, SERVERS } from "../harness/scenario.js";
import type { WorldServer } from "../harness/world.js";
import { waitFor } from "../harness/xmpp-users.js";

// SIGTERM while the component link is backed up: the daemon's writes are in
// flight (a relay stopped reading them) when the signal comes, and the link
// moves again a second later. The drain must wait for the write in flight,
// not start a second one on the same head, and then deliver the rest.

// Enough bytes to fill the kernel's socket buffers (about 4 MB each way on
// loopback) so writes stay in flight: 9,000 notifications of about 0.9 kB,
// each carrying a 400-byte resource.
const CLIENTS = 30;
const FLIPS = 300; // per client, while the link is backed up
const RESOURCE = `drain-${"r".repeat(394)}`;
const DRAIN_TIMEOUT_MS = 20_000;

describe.each(SERVERS)("%s: drain on SIGTERM while the link is backed up", (kind) => {
  const scene = new Scenario(kind);
  let world: WorldServer;
  let proxy: PausableProxy;
  const users = Array.from({ length: CLIENTS }, (_, i) => `drain${i}@localhost`);

  beforeAll(async () => {
    await scene.start({ users: ["world@localhost", ...users] });
    world = await scene.world("world");
    proxy = await new PausableProxy(scene.server.componentPort).start();
  });
  afterAll(async () => {
    await scene.stop();
    await proxy.stop();
  });

  it("delivers every queued notification exactly once, in order per session, and exits 0 within the drain timeout", async () => {
    const daemon = await scene.daemon(
      scene.config(
        ['server_user = "world"', 'include = ["drain*"]'],
        ["[shutdown]", `drain_timeout = "${DRAIN_TIMEOUT_MS / 1000}s"`],
        proxy.port,
      ),
    );
    const clients: Client[] = await Promise.all(users.map((jid) => scene.online(jid, RESOURCE)));
    await Promise.all(clients.map((c) => world.waitForSession(`${c.jid}`, 1)));

    proxy.pause();
    await Promise.all(
      clients.map(async (client) => {
        for (let i = 0; i < FLIPS; i++) {
          await client.send(
            i % 2 === 0 ? xml("presence", { type: "unavailable" }) : xml("presence"),
          );
        }
      }),
    );
    const queuedLogs = () =>
      daemon.logs.filter(
        (l) => l.msg === "session transition" && String(l.user).endsWith(`/${RESOURCE}`),
      );
    await waitFor(
      () => queuedLogs().length >= CLIENTS * (1 + FLIPS),
      60_000,
      "every presence change queued",
    );

    const signalled = Date.now();
    const exited = daemon.stop("SIGTERM");
    await new Promise((r) => setTimeout(r, 1_000));
    proxy.resume();
    expect(await exited).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(DRAIN_TIMEOUT_MS);
    const stopping = daemon.logs.find((l) => l.msg === "stopping: draining queued notifications");
    // The signal found a backed-up queue, not an empty one.
    expect(Number(stopping?.queued)).toBeGreaterThan(0);
    expect(daemon.logs.some((l) => l.event === "presence_notify_error")).toBe(false);

    // Asserted on traces, with no dedupe: per session, the traces the server
    // user received are exactly the ones the daemon queued ("session
    // transition", one per notification), in queue order, each once. (On
    // ejabberd a liveness ping lost in the paused relay may add a queued
    // `unavailable`: it is held to the same rule.)
    const queued = queuedLogs().map((l) => String(l.trace));
    const received = () => world.received.filter((r) => r.user.endsWith(`/${RESOURCE}`));
    await waitFor(
      () => received().length >= queued.length,
      20_000,
      `${queued.length} notifications received (got ${received().length})`,
    );
    await new Promise((r) => setTimeout(r, 500)); // a duplicate would arrive right behind
    const traces = received().map((r) => r.trace);
    expect(new Set(traces).size).toBe(traces.length);
    expect(traces.length).toBe(queued.length);
    for (const client of clients) {
      const jid = `${client.jid}`;
      const sent = queuedLogs()
        .filter((l) => l.user === jid)
        .map((l) => String(l.trace));
      expect(sent.length).toBeGreaterThan(FLIPS);
      expect(world.received.filter((r) => r.user === jid).map((r) => r.trace)).toEqual(sent);
    }
  });
});
