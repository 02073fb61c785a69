import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AdminClient, sample } from "../harness/admin-client.js";
import type { DaemonProcess } from "../harness/daemon.js";
import { COMPONENT, PASSWORD, Scenario } from "../harness/scenario.js";
import { WatchProcess } from "../harness/watch-process.js";
import { stopQuietly, waitFor } from "../harness/xmpp-users.js";

// `presence-notify watch` (the client library in its own process) against a
// real Prosody and a real daemon in its default protocol: no snapshot
// feature, so the first line is an incomplete (empty) snapshot and every
// change after it comes from a notification. What needs the daemon's
// snapshot feature is in watch-snapshot.test.ts.

describe("watch on prosody, against a daemon without the snapshot feature", () => {
  const scene = new Scenario("prosody");
  let daemon: DaemonProcess;
  const watches: WatchProcess[] = [];
  const watch = (password = PASSWORD) => {
    const w = new WatchProcess({
      service: `xmpp://127.0.0.1:${scene.server.c2sPort}`,
      jid: "world@localhost",
      component: COMPONENT,
      password,
    }).start();
    watches.push(w);
    return w;
  };

  beforeAll(async () => {
    await scene.start({ users: ["world@localhost", "alice@localhost", "bob@localhost"] });
    daemon = await scene.daemon(
      scene.config(['server_user = "world"', 'include = ["*"]', 'receipt_timeout = "30s"']),
    );
  });
  afterEach(async () => {
    for (const w of watches.splice(0)) {
      await w.stop();
      w.cleanup();
    }
  });
  afterAll(() => scene.stop());

  it("writes an incomplete first snapshot, then a line per change, and answers receipts", async () => {
    const w = watch();
    await w.waitForLines((l) => l.length >= 1, "the first line");
    expect(w.lines[0]).toMatchObject({
      type: "snapshot",
      trigger: "connect",
      complete: false,
      position: null,
      sessions: [],
    });
    await waitForLogin(w);
    const alice = await scene.online("alice@localhost", "phone");
    await w.waitForView(["alice@localhost/phone"]);
    const bob = await scene.online("bob@localhost", "desk");
    await w.waitForView(["alice@localhost/phone", "bob@localhost/desk"]);
    await stopQuietly(alice);
    await w.waitForView(["bob@localhost/desk"]);
    expect(w.lines.slice(1).map((l) => [l.type, l.user, l.presence])).toEqual([
      ["change", "alice@localhost/phone", "available"],
      ["change", "bob@localhost/desk", "available"],
      ["change", "alice@localhost/phone", "unavailable"],
    ]);
    // notify.receipt_timeout: the daemon counts each one watch acknowledged.
    const admin = await AdminClient.of(daemon);
    await admin.until(
      async () =>
        (sample(
          await admin.metrics(),
          'presence_notify_notifications_total{outcome="acknowledged"}',
        ) ?? 0) >= 3,
      "3 receipts acknowledged",
    );
    await stopQuietly(bob);
    await w.waitForView([]);
    expect(await w.stop()).toBe(0);
  });

  it("the example world server (examples/world-server.ts, run by tsx) spawns and despawns players", async () => {
    const w = watch(); // only for its password file
    const root = join(import.meta.dirname, "../..");
    const example = spawn(join(root, "node_modules/.bin/tsx"), ["examples/world-server.ts"], {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? "",
        WORLD_SERVICE: `xmpp://127.0.0.1:${scene.server.c2sPort}`,
        WORLD_JID: "world@localhost",
        WORLD_PASSWORD_FILE: w.passwordFile,
        WORLD_COMPONENT: COMPONENT,
        WORLD_SASL: "PLAIN",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    example.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
    });
    const exited = new Promise((resolve) => example.on("exit", resolve));
    try {
      await waitFor(() => out.includes("no snapshot feature"), 20_000, "the example to connect");
      const alice = await scene.online("alice@localhost", "tablet");
      await waitFor(
        () => out.includes("+ alice@localhost/tablet joined (1 in the world)"),
        10_000,
        "a spawn",
      );
      await stopQuietly(alice);
      await waitFor(
        () => out.includes("- alice@localhost/tablet left (0 in the world)"),
        10_000,
        "a despawn",
      );
    } finally {
      example.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
    expect(out).toMatch(/stopping: \{"connected":true,"phase":"unspliced"/);
  });

  it("exits 77 with a sentence when the server refuses the password", async () => {
    const w = watch("wrong-password");
    expect(await w.exitCode()).toBe(77);
    expect(w.stderr).toMatch(
      /presence-notify watch: the XMPP server refused the password for world@localhost \(not-authorized\)\n$/,
    );
    expect(w.lines).toEqual([]);
  });
});

async function waitForLogin(w: WatchProcess): Promise<void> {
  await waitFor(
    () => w.stderr.includes("logged in as world@localhost/"),
    15_000,
    "watch to log in",
  );
}
