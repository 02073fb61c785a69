import { xml } from "@xmpp/component";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Scenario } from "../harness/scenario.js";
import { TcpProxy } from "../harness/tcp-proxy.js";
import type { WorldServer } from "../harness/world.js";
import { waitFor } from "../harness/xmpp-users.js";

// What happens across restarts and outages, on a real Prosody.

describe("the component link cut while users come and go", () => {
  const scene = new Scenario();
  let proxy: TcpProxy;
  let world: WorldServer;

  beforeAll(async () => {
    await scene.start({ users: ["world@localhost", "stays@localhost", "leaves@localhost"] });
    proxy = await new TcpProxy(scene.server.componentPort).start();
    world = await scene.world("world");
  });
  afterAll(async () => {
    await scene.stop();
    await proxy.stop();
  });

  it("confirms replayed sessions silently and reports the one that left while we were away", async () => {
    const daemon = await scene.daemon(scene.config(['server_user = "world"'], [], proxy.port));
    await scene.online("stays@localhost", "r");
    const leaves = await scene.online("leaves@localhost", "r");
    await world.waitFor("stays@localhost/r", ["available"]);
    await world.waitFor("leaves@localhost/r", ["available"]);

    proxy.cut();
    await daemon.waitForLog({ msg: "component connection lost" });
    // Prosody bounces this unavailable: no component is connected to hear it.
    await leaves.send(xml("presence", { type: "unavailable" }));

    await waitFor(
      () => daemon.logs.filter((l) => l.msg === "privileges granted by the server").length >= 2,
      10_000,
      "reconnect",
    );
    await world.waitFor("leaves@localhost/r", ["available", "unavailable"]);
    // The replay with <delay> (once per virtual host) confirmed "stays" without a second available.
    expect(world.about("stays@localhost/r")).toEqual(["available"]);
    // "leaves" is still connected (a ping would say alive), but Prosody did not replay it.
    const gone = daemon.logs.find(
      (l) => l.msg === "sessions not replayed after reconnect are gone",
    );
    expect(gone?.sessions).toBe(1);
    expect(await daemon.stop()).toBe(0);
  });
});

describe("restarts", () => {
  const scene = new Scenario();
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
    // Memory only (no durable state): the replay is announced again, once
    // despite arriving once per virtual host; consumers see at-least-once.
    await world.waitFor("u1@localhost/r", ["available", "available"]);
    await u1.stop();
    await world.waitFor("u1@localhost/r", ["available", "available", "unavailable"]);
    expect(await second.stop()).toBe(0);
  });

  it("reconnects with backoff when Prosody restarts under it, and notifies again once it is back", async () => {
    const daemon = await scene.daemon(scene.config(['server_user = "world"']));
    await scene.online("u2@localhost", "before");
    await world.waitFor("u2@localhost/before", ["available"]);

    await scene.server.restart(); // every c2s session dies with it, the world server's too
    // Prosody reports each session unavailable as it shuts down. The server
    // user is going down too, so that notification may bounce (logged as
    // presence_notify_error; retrying bounced notifications is not done yet).
    await daemon.waitForLog({
      msg: "session transition",
      user: "u2@localhost/before",
      presence: "unavailable",
    });
    await daemon.waitForLog({ msg: "reconnecting after backoff" });
    await waitFor(
      () => daemon.logs.filter((l) => l.msg === "component connected").length >= 2,
      15_000,
      "reconnect",
    );

    await world.connect();
    await scene.online("u2@localhost", "after");
    await world.waitFor("u2@localhost/after", ["available"]);
    expect(await daemon.stop()).toBe(0);
  });
});
