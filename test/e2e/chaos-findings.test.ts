import {
  type AddressInfo,
  createConnection,
  createServer,
  type Server as NetServer,
} from "node:net";
import { xml } from "@xmpp/component";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Scenario, SERVERS } from "../harness/scenario.js";
import { TcpProxy } from "../harness/tcp-proxy.js";
import type { WorldServer } from "../harness/world.js";
import { waitFor } from "../harness/xmpp-users.js";

// What the chaos run (chaos.test.ts) found, pinned one at a time. Each was
// an `it.fails` while the defect stood (it failed as the comment says), and
// is a plain regression test since its fix.

/** A presence whose payload nests deeper than the daemon parses (stream-guard: 32). */
function deepPresence(depth = 40) {
  let nest = xml("x", { xmlns: "urn:example:deep" });
  for (let i = 0; i < depth; i++) nest = xml("x", { xmlns: "urn:example:deep" }, nest);
  return xml("presence", {}, nest);
}

describe.each(SERVERS)("%s: a presence the daemon cannot parse", (kind) => {
  const scene = new Scenario(kind);
  let world: WorldServer;

  beforeAll(async () => {
    await scene.start({ users: ["world@localhost", "deep@localhost", "plain@localhost"] });
    world = await scene.world("world");
  });
  afterAll(() => scene.stop());

  // The stream guard refuses a stanza nested deeper than 32 (or over 256 KiB)
  // without building it (src/xmpp/stream-guard.ts). The pipeline used to
  // notify nothing for it: when that stanza was a user's own broadcast
  // presence making its session available, the server said online and the
  // server user's view offline. Now a refused presence still counts for its
  // session's availability (its start tag is read whole).
  it("the server forwards a user's too-deep presence, and the daemon refuses it (counted, logged)", async () => {
    const daemon = await scene.daemon(scene.config(['server_user = "world"']));
    try {
      const deep = await scene.online("deep@localhost", "r");
      await world.waitFor("deep@localhost/r", ["available"]);
      await deep.send(xml("presence", { type: "unavailable" }));
      await world.waitFor("deep@localhost/r", ["available", "unavailable"]);
      await deep.send(deepPresence());
      const refused = await daemon.waitForLog({ msg: "stanzas refused" }, 10_000);
      expect(refused.from).toBe("deep@localhost/r");
      // A later, ordinary session's arrival: by then the deep one was handled.
      await scene.online("plain@localhost", "r");
      await world.waitFor("plain@localhost/r", ["available"]);
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      await daemon.stop();
    }
  });

  it("a session made available by a presence too deep to parse is still announced", () => {
    // The session is online (its last broadcast presence was available).
    expect(world.about("deep@localhost/r")).toEqual(["available", "unavailable", "available"]);
  });
});

// Found by `chaos.test.ts` (prosody, durable, seed 2, before deep presences
// left the default schedule): "after daemon-kill #5: chaos2@localhost/r40:
// view unavailable, truth online: seq [1,2] presences [available,
// unavailable]". The session had sent one too-deep presence while
// available (the daemon refused it, nothing changed). Prosody replays each
// session's LAST presence to a (re)connecting component; that replay is the
// same too-deep stanza, refused again, so the resync counts the session as
// not replayed and, the replay being the whole truth on Prosody, reports a
// live session gone. Any reconnect does it: a link cut, as here, or a
// daemon restart. ejabberd replays nothing (its session list is the truth),
// so there the session stays online.
describe.each(SERVERS)(
  "%s: a live session whose last presence is too deep to parse, across a reconnect",
  (kind) => {
    const scene = new Scenario(kind);
    let world: WorldServer;
    let proxy: TcpProxy;

    beforeAll(async () => {
      await scene.start({ users: ["world@localhost", "deep@localhost", "plain@localhost"] });
      world = await scene.world("world");
      proxy = await new TcpProxy(scene.server.componentPort).start();
    });
    afterAll(async () => {
      await scene.stop();
      await proxy.stop();
    });

    it("is not reported gone when the component reconnects", async () => {
      const daemon = await scene.daemon(scene.config(['server_user = "world"'], [], proxy.port));
      try {
        const deep = await scene.online("deep@localhost", "r");
        await scene.online("plain@localhost", "r");
        await world.waitFor("deep@localhost/r", ["available"]);
        await world.waitFor("plain@localhost/r", ["available"]);
        await deep.send(deepPresence());
        await daemon.waitForLog({ msg: "stanzas refused" }, 10_000);
        proxy.cut();
        await waitFor(
          () => daemon.logs.filter((l) => l.msg === "component connected").length >= 2,
          15_000,
          "the reconnect",
        );
        // Past the resync's settle time (the replay's quiet second, at most six).
        await new Promise((r) => setTimeout(r, kind === "prosody" ? 3_000 : 5_000));
        expect(world.about("plain@localhost/r")).toEqual(["available"]);
        expect(world.about("deep@localhost/r")).toEqual(["available"]);
      } finally {
        await daemon.stop();
      }
    });
  },
);

// Found by `npm run chaos -- --route ejabberd --seed 2027 --minutes 2`:
// after a kill -9 of ejabberd, the daemon's reconnect through the relay met
// a connection reset ("component connection failed", err "read
// ECONNRESET"), and 1 ms later the same error escaped as an unhandled
// rejection: the daemon exited 70 ("an error escaped every handler"), so
// nothing reported the 18 sessions the crash ended. A systemd unit restarts
// it; the promise is that a network error never ends the daemon.
describe("prosody: the component's reconnect meets connection resets", () => {
  const scene = new Scenario("prosody");
  let server: NetServer;
  let resetting = true;
  let port = 0;

  beforeAll(async () => {
    await scene.start({ users: ["world@localhost"] });
    // Resets every connection while `resetting`; relays to Prosody otherwise.
    server = createServer((inbound) => {
      inbound.on("error", () => undefined);
      if (resetting) {
        inbound.resetAndDestroy();
        return;
      }
      const outbound = createConnection({ host: "127.0.0.1", port: scene.server.componentPort });
      outbound.on("error", () => undefined);
      inbound.pipe(outbound);
      outbound.pipe(inbound);
      inbound.on("close", () => outbound.destroy());
      outbound.on("close", () => inbound.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await scene.stop();
    await new Promise((resolve) => server.close(resolve));
  });

  it("keeps trying, and connects once the resets stop, without exiting", async () => {
    const daemon = scene.spawnDaemon(scene.config(['server_user = "world"'], [], port));
    // Seen on the old code: the first reset ("write ECONNRESET") is logged as
    // a failed attempt, and the same error then escapes: exit 70.
    await waitFor(
      () =>
        daemon.logs.some((l) => l.event === "escaped_error") ||
        daemon.logs.filter((l) => l.msg === "component connection failed").length >= 3,
      15_000,
      "three failed attempts, or the daemon's exit",
    );
    expect(daemon.logs.filter((l) => l.event === "escaped_error")).toEqual([]);
    resetting = false;
    await daemon.waitForLog({ msg: "privileges granted by the server" }, 15_000);
    expect(await daemon.stop()).toBe(0);
  });
});
