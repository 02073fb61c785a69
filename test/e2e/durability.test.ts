import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Scenario, SERVERS } from "../harness/scenario.js";
import type { WorldServer } from "../harness/world.js";

// [durability] mode = "sqlite": the daemon killed with SIGKILL and started
// again on the same state file, while users come and go.

describe.each(SERVERS)("%s: durable state across kill -9", (kind) => {
  const scene = new Scenario(kind);
  const dir = mkdtempSync(join(tmpdir(), "pn-durable-"));
  let world: WorldServer;

  beforeAll(async () => {
    await scene.start({
      users: [
        "world@localhost",
        "ghost@localhost",
        "stays@localhost",
        "leaves@localhost",
        "later@localhost",
      ],
    });
    world = await scene.world("world");
  });
  afterAll(async () => {
    await scene.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("reports sessions that ended while it was dead, and does not announce the others twice", async () => {
    const config = scene.config(
      ['server_user = "world"'],
      ["[durability]", 'mode = "sqlite"', `path = "${join(dir, "state.db")}"`],
    );
    const first = await scene.daemon(config);
    await scene.online("stays@localhost", "r");
    const leaves = await scene.online("leaves@localhost", "r");
    await world.waitFor("stays@localhost/r", ["available"]);
    await world.waitFor("leaves@localhost/r", ["available"]);

    expect(await first.kill()).toBe(null); // SIGKILL: no drain, no goodbye
    await leaves.stop();

    const second = await scene.daemon(config);
    const restored = await second.waitForLog({ msg: "state restored" });
    expect(restored.sessions).toBe(2);
    await world.waitFor("leaves@localhost/r", ["available", "unavailable"]);
    await scene.online("later@localhost", "r");
    await world.waitFor("later@localhost/r", ["available"]);
    expect(world.about("stays@localhost/r")).toEqual(["available"]);
    expect(await second.stop()).toBe(0);
  });

  it("keeps notifications bounced by an offline server user across kill -9, and delivers them", async () => {
    const config = scene.config(
      ['server_user = "ghost"', 'include = ["later"]'],
      ["[durability]", 'mode = "sqlite"', `path = "${join(dir, "held.db")}"`],
    );
    const first = await scene.daemon(config);
    await scene.online("later@localhost", "held");
    await first.waitForLog({ msg: "notification bounced: held until the server user is back" });
    expect(await first.kill()).toBe(null);

    const second = await scene.daemon(config);
    const restored = await second.waitForLog({ msg: "held notifications restored" });
    expect(restored.notifications).toBeGreaterThanOrEqual(1);
    const ghost = await scene.world("ghost");
    await ghost.waitFor("later@localhost/held", ["available"]);
    expect(await second.stop()).toBe(0);
  });

  it("refuses a second daemon on the same state file", async () => {
    const config = scene.config(
      ['server_user = "world"'],
      ["[durability]", 'mode = "sqlite"', `path = "${join(dir, "locked.db")}"`],
    );
    const holder = await scene.daemon(config);
    const intruder = scene.spawnDaemon(config);
    expect(await intruder.exitCode()).toBe(75);
    expect(intruder.stderr).toMatch(/durability\.path/);
    expect(await holder.stop()).toBe(0);
  });
});
