import type { Client } from "@xmpp/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Scenario, SERVERS } from "../harness/scenario.js";
import { TcpProxy } from "../harness/tcp-proxy.js";
import type { WorldServer } from "../harness/world.js";
import { waitFor } from "../harness/xmpp-users.js";

// What happens across restarts and outages, on real Prosody and ejabberd.
// Prosody replays live sessions to a reconnecting component; ejabberd does
// not, and the daemon asks its HTTP API instead (resync.ejabberd_api).

describe.each(SERVERS)("%s: the component link cut while users come and go", (kind) => {
  const scene = new Scenario(kind);
  let proxy: TcpProxy;
  let world: WorldServer;

  beforeAll(async () => {
    await scene.start({
      users: ["world@localhost", "stays@localhost", "leaves@localhost", "arrives@localhost"],
    });
    proxy = await new TcpProxy(scene.server.componentPort).start();
    world = await scene.world("world");
  });
  afterAll(async () => {
    await scene.stop();
    await proxy.stop();
  });

  it("makes the server user's view equal the server's sessions after the reconnect", async () => {
    const daemon = await scene.daemon(scene.config(['server_user = "world"'], [], proxy.port));
    await scene.online("stays@localhost", "r");
    const leaves: Client = await scene.online("leaves@localhost", "r");
    await world.waitFor("stays@localhost/r", ["available"]);
    await world.waitFor("leaves@localhost/r", ["available"]);

    proxy.cut();
    await daemon.waitForLog({ msg: "component connection lost" });
    // While the component is away: one user leaves, another arrives.
    // Prosody bounces their presences; ejabberd drops them.
    await leaves.stop();
    await scene.online("arrives@localhost", "r");

    await waitFor(
      () => daemon.logs.filter((l) => l.msg === "component connected").length >= 2,
      10_000,
      "reconnect",
    );
    await world.waitFor("leaves@localhost/r", ["available", "unavailable"]);
    await world.waitFor("arrives@localhost/r", ["available"]);
    // No second "available" for the session that stayed.
    expect(world.about("stays@localhost/r")).toEqual(["available"]);

    // The server user's view (last notification per session) is the server's truth.
    const view = new Map<string, string>();
    for (const r of world.received) view.set(r.user, r.presence);
    const online = [...view].filter(([, p]) => p === "available").map(([jid]) => jid);
    const expected = ["arrives@localhost/r", "stays@localhost/r"];
    expect(online.sort()).toEqual(expected);
    if (scene.server.kind === "ejabberd") {
      const live = (await scene.server.connectedSessions()).filter((j) => !j.startsWith("world@"));
      expect(live.sort()).toEqual(expected);
    }
    expect(await daemon.stop()).toBe(0);
  });
});

describe.each(SERVERS)("%s: restarts", (kind) => {
  const scene = new Scenario(kind);
  let world: WorldServer;

  beforeAll(async () => {
    await scene.start({ users: ["world@localhost", "u1@localhost", "u2@localhost"] });
    world = await scene.world("world");
  });
  afterAll(() => scene.stop());

  it("announces each still-online session once after the daemon restarts, then reports departures", async () => {
    const first = await scene.daemon(scene.config(['server_user = "world"']));
    const u1 = await scene.online("u1@localhost", "r");
    await world.waitFor("u1@localhost/r", ["available"]);
    expect(await first.stop()).toBe(0);

    const second = await scene.daemon(scene.config(['server_user = "world"']));
    // Memory only (no durable state): the sessions the server replays (or
    // lists) are announced again, once each; consumers see at-least-once.
    await world.waitFor("u1@localhost/r", ["available", "available"]);
    await u1.stop();
    await world.waitFor("u1@localhost/r", ["available", "available", "unavailable"]);
    expect(await second.stop()).toBe(0);
  });

  it("reconnects with backoff when the server restarts under it, and notifies again once it is back", async () => {
    const daemon = await scene.daemon(scene.config(['server_user = "world"']));
    await scene.online("u2@localhost", "before");
    await world.waitFor("u2@localhost/before", ["available"]);

    await scene.server.restart(); // every c2s session dies with it, the world server's too
    // The session is reported gone: by the server as it shuts down (Prosody),
    // or by the reconciliation after the reconnect (ejabberd).
    await daemon.waitForLog(
      { msg: "session transition", user: "u2@localhost/before", presence: "unavailable" },
      20_000,
    );
    await daemon.waitForLog({ msg: "reconnecting after backoff" });
    await waitFor(
      () => daemon.logs.filter((l) => l.msg === "component connected").length >= 2,
      15_000,
      "reconnect",
    );

    await world.connect();
    if (kind === "ejabberd") {
      // Reported after the reconnect; bounced while the server user was
      // still away, held, and delivered once it is back.
      await world.waitFor("u2@localhost/before", ["available", "unavailable"]);
    }
    // On Prosody the session's end is reported while Prosody shuts down and
    // closes the server user's session too: the notification can be taken
    // and then dropped by the stopping server, with no bounce to tell us.
    // Only delivery receipts (XEP-0184, not done) would close that gap.
    await scene.online("u2@localhost", "after");
    await world.waitFor("u2@localhost/after", ["available"]);
    expect(await daemon.stop()).toBe(0);
  });
});
