import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDaemon } from "../../src/app/daemon.js";
import { resolveConfig } from "../../src/config/load.js";
import { Scenario, SERVERS } from "../harness/scenario.js";
import type { WorldServer } from "../harness/world.js";
import { waitFor } from "../harness/xmpp-users.js";
import { logSink } from "../support/log-sink.js";

// An exception in the notifier on every Nth send, in a daemon running in this
// process against a real server (the fault hook is not reachable from the
// configuration or the CLI, so the daemon binary cannot be asked for it).

const USERS = 15;
const EVERY = 10;

describe.each(SERVERS)("%s: the notifier failing on every Nth send", (kind) => {
  const scene = new Scenario(kind);
  let world: WorldServer;
  const users = Array.from({ length: USERS }, (_, i) => `nth${i}@localhost`);

  beforeAll(async () => {
    await scene.start({ users: ["world@localhost", ...users] });
    world = await scene.world("world");
  });
  afterAll(() => scene.stop());

  it(`loses nothing and keeps each session's order across the restarts (a crash every ${EVERY}th send)`, async () => {
    // Promise: each crash is a restart by the daemon's supervisor (within its
    // intensity, 5 in 10 s: this load crashes it 3 times), the mailbox
    // outlives every incarnation, and every notification arrives once, in
    // order, with the daemon still running.
    const { config } = resolveConfig({
      text: scene.config(['server_user = "world"', 'include = ["nth*"]']),
      path: "/in-process.toml",
      env: {},
      readFile: () => "",
    });
    const { logger, records } = logSink();
    let sends = 0;
    const daemon = startDaemon({
      config,
      logger,
      faults: {
        notifierBeforeSend: () => {
          if (++sends % EVERY === 0) throw new Error(`injected fault on send ${sends}`);
        },
      },
    });
    try {
      await waitFor(
        () => records.some((r) => r.msg === "privileges granted by the server"),
        15_000,
        "the daemon connected",
      );
      const clients = await Promise.all(users.map((jid) => scene.online(jid, "nth")));
      await Promise.all(clients.map((c) => world.waitForSession(`${c.jid}`, 1)));
      for (const c of clients) await c.stop();
      await waitFor(
        () => clients.every((c) => world.about(`${c.jid}`).length >= 2),
        30_000,
        "every session's two notifications",
      );
      for (const c of clients)
        expect(world.about(`${c.jid}`)).toEqual(["available", "unavailable"]);
      const crashes = records.filter((r) => r.msg === "child crashed" && r.child === "notifier");
      expect(crashes.length).toBe(Math.floor(sends / EVERY));
      expect(crashes.length).toBeGreaterThanOrEqual(2);
      expect(daemon.supervisor.tree()).toMatchObject({ status: "running" });
      const notifier = daemon.supervisor.tree().children?.find((c) => c.id === "notifier");
      expect(notifier).toMatchObject({ status: "running", restarts: crashes.length });
    } finally {
      await daemon.stop();
    }
    expect(records.filter((r) => r.event === "presence_notify_error")).toEqual([]);
  });
});
