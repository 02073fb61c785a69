import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DaemonProcess } from "../harness/daemon.js";
import { Scenario } from "../harness/scenario.js";
import type { WorldServer } from "../harness/world.js";
import { waitFor } from "../harness/xmpp-users.js";

// SIGTERM and SIGINT, as systemd and Ctrl-C send them, with notifications
// still queued: a low notify.max_rate keeps them in the queue long enough
// for the signal to find them there.

const USERS = Array.from({ length: 6 }, (_, i) => `flux.actor.${i + 1}@localhost`);

describe("stop signals on prosody", () => {
  const scene = new Scenario("prosody");
  let world: WorldServer;

  beforeAll(async () => {
    await scene.start({ users: ["world@localhost", ...USERS] });
    world = await scene.world("world");
  });
  afterAll(() => scene.stop());

  /** Brings every user online under `resource` and waits until all six are queued. */
  async function queueSix(daemon: DaemonProcess, resource: string) {
    for (const jid of USERS) await scene.online(jid, resource);
    await waitFor(
      () =>
        daemon.logs.filter(
          (l) => l.msg === "session transition" && String(l.user).endsWith(`/${resource}`),
        ).length === USERS.length,
      10_000,
      "six notifications queued",
    );
  }

  it.each(["SIGTERM", "SIGINT"] as const)(
    "%s drains the queued notifications, in order, then exits 0",
    async (signal) => {
      const resource = signal.toLowerCase();
      const daemon = await scene.daemon(
        scene.config(
          ['server_user = "world"', 'include = ["flux.*"]', "max_rate = 4"],
          ["[shutdown]", 'drain_timeout = "20s"'],
        ),
      );
      await queueSix(daemon, resource);
      expect(await daemon.stop(signal)).toBe(0);
      const stopping = daemon.logs.find((l) => l.msg === "stopping: draining queued notifications");
      expect(stopping).toMatchObject({ signal });
      expect(stopping?.queued).toBeGreaterThan(0);
      // Everything was on its way before the exit; the server delivers it.
      const expected = USERS.map((jid) => `${jid}/${resource}`);
      await waitFor(
        () => expected.every((jid) => world.about(jid).length === 1),
        10_000,
        "six notifications delivered",
      );
      const order = world.received.map((r) => r.user).filter((u) => expected.includes(u));
      expect(order).toEqual(expected);
      expect(daemon.logs.some((l) => l.event === "presence_notify_error")).toBe(false);
      expect(daemon.logs.at(-1)?.msg).toBe("stopped");
    },
  );

  it("stops within shutdown.drain_timeout when the queue cannot drain in time, and says what was lost", async () => {
    const daemon = await scene.daemon(
      scene.config(
        ['server_user = "world"', 'include = ["flux.*"]', "max_rate = 1"],
        ["[shutdown]", 'drain_timeout = "1s"'],
      ),
    );
    await queueSix(daemon, "slow");
    const signalled = Date.now();
    expect(await daemon.stop("SIGTERM")).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(5_000);
    const lost = daemon.logs.find((l) => l.event === "presence_notify_error");
    expect(lost?.undelivered).toBeGreaterThan(0);
  });

  // Found with `npm run chaos` cut short by Ctrl-C: the harness gone, the
  // daemon's stdout had no reader, every log write failed with EPIPE, and
  // sonic-boom's flushSync retried it forever (it gives up only on EAGAIN
  // it was told not to retry): the daemon froze, SIGTERM did nothing, only
  // kill -9 ended it.
  it("goes on notifying and stops on SIGTERM when nobody reads its stdout any more", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pn-stdout-"));
    const configPath = join(dir, "presence-notify.toml");
    writeFileSync(configPath, scene.config(['server_user = "world"', 'include = ["flux.*"]']));
    const bin = join(import.meta.dirname, "../../bin/presence-notify");
    const child = spawn(process.execPath, [bin, "start", "--config", configPath], {
      stdio: ["ignore", "pipe", "ignore"],
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    try {
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString("utf8");
      });
      await waitFor(
        () => out.includes("privileges granted by the server"),
        15_000,
        "the daemon up",
      );
      child.stdout.destroy(); // the reader is gone: the daemon's next write meets EPIPE
      await scene.online(USERS[0] as string, "noreader");
      await waitFor(
        () => world.about(`${USERS[0]}/noreader`).length === 1,
        10_000,
        "the notification, from a daemon that cannot log",
      );
      child.kill("SIGTERM");
      const code = await Promise.race([
        exited,
        new Promise((resolve) =>
          setTimeout(() => resolve("still running 10 s after SIGTERM"), 10_000),
        ),
      ]);
      expect(code).toBe(0);
    } finally {
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
