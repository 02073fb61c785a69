import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { xml } from "@xmpp/component";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DaemonProcess } from "../harness/daemon.js";
import { Scenario, SERVERS } from "../harness/scenario.js";
import type { WorldServer } from "../harness/world.js";
import { waitFor } from "../harness/xmpp-users.js";

// SIGHUP, as `systemctl reload` sends it, on real Prosody and ejabberd: the daemon
// re-reads its file and applies what can change live, without dropping or
// re-announcing the sessions it tracks; a broken file is refused.

const BIN = join(import.meta.dirname, "../../bin/presence-notify");

/** The n-th log line (from 1) with this message, once it is there. */
async function nthLog(daemon: DaemonProcess, msg: string, n: number) {
  return waitFor(
    () => daemon.logs.filter((l) => l.msg === msg)[n - 1],
    15_000,
    `log line #${n} "${msg}"`,
  );
}

describe.each(SERVERS)("configuration reload on SIGHUP (%s)", (kind) => {
  const scene = new Scenario(kind);
  let world: WorldServer;
  let backend: WorldServer;
  let daemon: DaemonProcess;

  beforeAll(async () => {
    await scene.start({
      users: [
        "world@localhost",
        "backend@localhost",
        "alice@localhost",
        "bob@localhost",
        "flux.actor.1@localhost",
      ],
    });
    world = await scene.world("world");
    backend = await scene.world("backend");
    daemon = await scene.daemon(scene.config(['server_user = "world"', 'include = ["alice"]']));
  });
  afterAll(() => scene.stop());

  it("applies a new include and server_user to what happens next; tracked sessions are neither re-announced nor dropped", async () => {
    const alice = await scene.online("alice@localhost", "r");
    await world.waitFor("alice@localhost/r", ["available"]);
    await scene.online("bob@localhost", "r"); // not included, before or after

    daemon.reload(
      scene.config(
        ['server_user = "backend"', 'include = ["alice", "flux.*"]'],
        ["[mailbox]", "capacity = 10"],
      ),
    );
    const reloaded = await nthLog(daemon, "configuration reloaded", 1);
    expect(reloaded.reloads).toBe(1); // counters: config_reloads
    expect(reloaded.changed).toEqual({
      "notify.server_user": '"world" -> "backend"',
      "notify.include": '["alice"] -> ["alice", "flux.*"]',
    });
    const restart = await daemon.waitForLog({ event: "config_restart_required" });
    expect(restart.changed).toEqual({ "mailbox.capacity": "100000 -> 10" });
    expect(String(restart.msg)).toContain("mailbox.capacity");

    // Newly included, to the new server user.
    await scene.online("flux.actor.1@localhost", "r");
    await backend.waitFor("flux.actor.1@localhost/r", ["available"]);
    // alice was tracked before the reload: a show change is still no news,
    // and her going away reaches the server user now configured.
    await alice.send(xml("presence", {}, xml("show", {}, "away")));
    await alice.stop();
    await backend.waitFor("alice@localhost/r", ["unavailable"]);
    expect(world.about("alice@localhost/r")).toEqual(["available"]);
    expect(world.about("flux.actor.1@localhost/r")).toEqual([]);
    expect([...world.about("bob@localhost/r"), ...backend.about("bob@localhost/r")]).toEqual([]);
  });

  it("refuses an invalid file with check-config's sentence, and keeps running with the configuration it had", async () => {
    daemon.reload(scene.config(['server_user = "back end"', 'include = ["alice", "flux.*"]']));
    const refused = await daemon.waitForLog({ event: "config_reload_failed" });
    expect(refused).toMatchObject({ key: "notify.server_user", failures: 1 });
    const check = spawnSync(
      process.execPath,
      [BIN, "check-config", "--config", daemon.configPath],
      {
        env: { PATH: process.env.PATH ?? "" },
        encoding: "utf8",
      },
    );
    expect(check.status).toBe(78);
    expect(check.stderr).toBe(`presence-notify: configuration error: ${refused.reason}\n`);
    expect(String(refused.msg)).toContain(String(refused.reason));

    // Still the configuration of the first reload: flux.* to backend.
    await scene.online("flux.actor.1@localhost", "second");
    await backend.waitFor("flux.actor.1@localhost/second", ["available"]);
    expect(daemon.logs.filter((l) => l.msg === "configuration reloaded")).toHaveLength(1);
  });

  it("applies a reload after a refused one, and tracked sessions stay tracked", async () => {
    const text = scene.config(['server_user = "backend"', 'include = ["flux.*"]', "max_rate = 5"]);
    daemon.reload(text.replace('level = "debug"', 'level = "info"'));
    const reloaded = await nthLog(daemon, "configuration reloaded", 2);
    expect(reloaded.reloads).toBe(2);
    expect(reloaded.changed).toEqual({
      "notify.include": '["alice", "flux.*"] -> ["flux.*"]',
      "notify.max_rate": "0 -> 5",
      "log.level": '"debug" -> "info"',
    });
    // The first file's restart-only change is gone again: nothing to restart for.
    expect(daemon.logs.filter((l) => l.event === "config_restart_required")).toHaveLength(1);
    expect(backend.about("flux.actor.1@localhost/r")).toEqual(["available"]);
    // At info, a send is no longer logged ("notification sent" is debug).
    await scene.online("flux.actor.1@localhost", "third");
    await backend.waitFor("flux.actor.1@localhost/third", ["available"]);
    const sent = daemon.logs.filter((l) => l.msg === "notification sent").map((l) => l.user);
    expect(sent).toContain("flux.actor.1@localhost/second");
    expect(sent).not.toContain("flux.actor.1@localhost/third");
    expect(await daemon.stop("SIGTERM")).toBe(0);
  });
});
