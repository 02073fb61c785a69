import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@xmpp/client";
import { xml } from "@xmpp/component";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Scenario, SERVERS } from "../harness/scenario.js";
import { TcpProxy } from "../harness/tcp-proxy.js";
import type { WorldServer } from "../harness/world.js";
import { waitFor } from "../harness/xmpp-users.js";

// A real client puts a XEP-0203 <delay from="localhost"/> in its own
// presences, again and again, from just before a daemon restart on. Both
// servers forward it unchanged (SERVERS.md). It must neither keep the
// resync from settling (Prosody: departures during the outage never
// reported) nor pass for a replay (ejabberd, which replays nothing: every
// unreplayed session reported gone). ejabberd's session list is left out
// here: with it the list, not the replay, is the truth, and pings are what
// the forged replay would have skipped.

const forged = () =>
  xml(
    "presence",
    {},
    xml("delay", { xmlns: "urn:xmpp:delay", from: "localhost", stamp: new Date().toISOString() }),
  );

/** Sends a self-stamped presence every 100 ms until stopped. */
function flood(client: Client): () => void {
  const timer = setInterval(() => void client.send(forged()).catch(() => undefined), 100);
  return () => clearInterval(timer);
}

describe.each(SERVERS)("%s: a user's self-made <delay/> right after a daemon restart", (kind) => {
  const scene = new Scenario(kind);
  const dir = mkdtempSync(join(tmpdir(), "pn-forgery-"));
  let world: WorldServer;
  let proxy: TcpProxy;
  const stops: (() => void)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) stop();
    // A failed run must not leave its daemon holding the component route.
    for (const d of scene.daemons) await d.stop().catch(() => undefined);
  });

  beforeAll(async () => {
    await scene.start({
      users: ["world@localhost", "stays@localhost", "leaves@localhost", "mallory@localhost"],
    });
    world = await scene.world("world");
    proxy = await new TcpProxy(scene.server.componentPort).start();
  });
  afterAll(async () => {
    for (const stop of stops) stop();
    await scene.stop();
    await proxy.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const config = (extra: string[]) =>
    scene
      .config(['server_user = "world"'], extra, proxy.port)
      .split("\n")
      .filter((line) => !line.startsWith("ejabberd_api"))
      .join("\n");

  /** The server user's view: the last notification per session. */
  const view = (jid: string) => world.about(jid).at(-1);

  it.each(["durable", "memory"] as const)(
    "%s mode: departures during the outage are reported, no session really online is reported gone",
    async (mode) => {
      const r = mode; // one set of sessions per mode
      const extra =
        mode === "durable"
          ? ["[durability]", 'mode = "sqlite"', `path = "${join(dir, "state.db")}"`]
          : [];
      const first = await scene.daemon(config(extra));
      await scene.online("stays@localhost", r);
      const leaves = await scene.online("leaves@localhost", r);
      const mallory = await scene.online("mallory@localhost", r);
      for (const u of ["stays", "leaves", "mallory"])
        await world.waitFor(`${u}@localhost/${r}`, ["available"]);
      const stopFlood = flood(mallory);
      stops.push(stopFlood);

      let daemon: Awaited<ReturnType<typeof scene.daemon>>;
      if (mode === "durable") {
        // Dead, not stopped: the session leaves while no daemon runs.
        expect(await first.kill()).toBe(null);
        await leaves.stop();
        daemon = await scene.daemon(config(extra));
      } else {
        // A memory-mode daemon knows nothing after its restart: the
        // outage that tests it comes after, a cut link under the flood.
        expect(await first.stop()).toBe(0);
        daemon = await scene.daemon(config(extra));
        // Known again, announced again (at-least-once): Prosody replays
        // them, on ejabberd they must say something first.
        const stays = scene.clients.find((c) => c.jid?.toString() === `stays@localhost/${r}`);
        for (const c of [stays, leaves])
          await c?.send(xml("presence", {}, xml("status", {}, "here")));
        for (const u of ["stays", "leaves"]) await world.waitForSession(`${u}@localhost/${r}`, 2);
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        proxy.cut();
        await daemon.waitForLog({ msg: "component connection lost" });
        await leaves.stop();
        await waitFor(
          () => daemon.logs.filter((l) => l.msg === "component connected").length >= 2,
          10_000,
          "reconnect",
        );
      }
      // Within a few settle windows, not whenever the flood stops.
      await waitFor(() => view(`leaves@localhost/${r}`) === "unavailable", 8_000, "departure");
      // Time for a wrong verdict on the others to show.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      stopFlood();
      expect(view(`stays@localhost/${r}`)).toBe("available");
      expect(view(`mallory@localhost/${r}`)).toBe("available");
      expect(world.about(`stays@localhost/${r}`)).not.toContain("unavailable");
      expect(world.about(`mallory@localhost/${r}`)).not.toContain("unavailable");
      expect(await daemon.stop()).toBe(0);
    },
  );
});
