import { xml } from "@xmpp/component";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DaemonProcess } from "../harness/daemon.js";
import { COMPONENT, LIVENESS, Scenario, SERVERS } from "../harness/scenario.js";
import type { WorldServer } from "../harness/world.js";
import { waitFor } from "../harness/xmpp-users.js";

// The product, end to end on a real Prosody 0.12 + mod_privilege and a real
// ejabberd 23.01: real users change presence, the real daemon process
// notifies a real server user. The same assertions on both servers.

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
// Unicode 3.2 characters only: stringprep (RFC 3454), which Prosody 0.12 uses,
// refuses later ones and binds a random resource instead. 𝄞 is four bytes of UTF-8.
const RESOURCE_WEIRD = `Zoë's <"café"> & 日本 𝄞/x`;

describe.each(SERVERS)("notifications on %s (server user in the file, all users)", (kind) => {
  const scene = new Scenario(kind);
  let daemon: DaemonProcess;
  let world: WorldServer;
  let worldExample: WorldServer;

  beforeAll(async () => {
    await scene.start({
      domains: ["localhost", "example.test"],
      users: [
        "world@localhost",
        "world@example.test",
        "alice@localhost",
        "bob@localhost",
        "carol@localhost",
        "dave@example.test",
        "excluded.bot@localhost",
        "erin@localhost",
        "mallory@localhost",
      ],
    });
    world = await scene.world("world", "localhost");
    worldExample = await scene.world("world", "example.test");
    daemon = await scene.daemon(
      scene.config(['server_user = "world"', 'include = ["*"]', 'exclude = ["excluded.*"]']),
    );
  });
  afterAll(() => scene.stop());

  it("notifies a session coming online, in mod_presence_notify's exact format", async () => {
    await scene.online("alice@localhost", "phone");
    await world.waitFor("alice@localhost/phone", ["available"]);
    const { stanza, trace } = world.received.find((r) => r.user === "alice@localhost/phone") ?? {};
    expect(stanza?.attrs).toMatchObject({ type: "chat", from: COMPONENT, id: trace });
    expect(stanza?.attrs.to).toMatch(/^world@localhost(\/backend)?$/);
    expect(trace).toMatch(UUID_V4);
    expect(stanza?.getChildText("body")).toBe("Presence update");
    const event = stanza?.getChild("event", "flux:xmpp");
    expect(event?.attrs.mime).toBe("application/json");
    expect(JSON.parse(event?.getText() ?? "")).toEqual({
      trace,
      type: "PRESENCE_DID_CHANGE",
      args: { user: "alice@localhost/phone", presence: "available" },
    });
  });

  it("does not notify a show change, and notifies an explicit unavailable", async () => {
    const bob = await scene.online("bob@localhost", "desk");
    await world.waitFor("bob@localhost/desk", ["available"]);
    await bob.send(xml("presence", {}, xml("show", {}, "dnd"), xml("status", {}, "busy")));
    await bob.send(xml("presence", {}, xml("show", {}, "away")));
    await bob.send(xml("presence", { type: "unavailable" }));
    await world.waitFor("bob@localhost/desk", ["available", "unavailable"]);
  });

  it("notifies unavailable when a client's socket dies without a goodbye", async () => {
    const carol = await scene.online("carol@localhost", "laptop");
    await world.waitFor("carol@localhost/laptop", ["available"]);
    const killed = Date.now();
    carol.socket?.destroy();
    await world.waitFor("carol@localhost/laptop", ["available", "unavailable"]);
    const elapsedMs = Date.now() - killed;
    if (kind === "ejabberd") {
      // ejabberd tells the component nothing: the daemon's liveness check
      // finds the dead session, within interval + 2 x timeout (+ 1 s slack).
      expect(elapsedMs).toBeLessThan((LIVENESS.intervalS + 2 * LIVENESS.timeoutS + 1) * 1000);
      const failed = daemon.logs.find((l) => l.msg === "liveness check failed: session gone");
      expect(failed?.session).toBe("carol@localhost/laptop");
    } else {
      // Prosody reports the dead socket itself, within milliseconds.
      expect(elapsedMs).toBeLessThan(1_000);
    }
  });

  it("notifies each resource of one user as its own session", async () => {
    const one = await scene.online("erin@localhost", "one");
    await scene.online("erin@localhost", "two");
    await world.waitFor("erin@localhost/one", ["available"]);
    await world.waitFor("erin@localhost/two", ["available"]);
    await one.stop();
    await world.waitFor("erin@localhost/one", ["available", "unavailable"]);
    expect(world.about("erin@localhost/two")).toEqual(["available"]);
  });

  it("sends to the server user of the user's own virtual host", async () => {
    await scene.online("dave@example.test", "home");
    await worldExample.waitFor("dave@example.test/home", ["available"]);
    expect(world.about("dave@example.test/home")).toEqual([]);
    expect(worldExample.received.at(-1)?.stanza.attrs.to).toMatch(/^world@example\.test/);
  });

  it("honours exclude globs", async () => {
    await scene.online("excluded.bot@localhost", "r");
    await scene.online("alice@localhost", "marker");
    await world.waitFor("alice@localhost/marker", ["available"]);
    expect(world.about("excluded.bot@localhost/r")).toEqual([]);
  });

  it("carries non-ASCII and XML-special resources byte-exact", async () => {
    const client = await scene.online("alice@localhost", RESOURCE_WEIRD);
    expect(client.jid?.toString()).toBe(`alice@localhost/${RESOURCE_WEIRD}`);
    await world.waitFor(`alice@localhost/${RESOURCE_WEIRD}`, ["available"]);
  });

  it("never notifies the server user about its own sessions", () => {
    expect(world.received.filter((r) => r.user.startsWith("world@"))).toEqual([]);
  });

  it("survives hostile stanzas sent straight at the component", async () => {
    const mallory = await scene.online("mallory@localhost", "evil");
    await world.waitFor("mallory@localhost/evil", ["available"]);
    await mallory.send(xml("presence", { to: COMPONENT, type: "bogus" }));
    await mallory.send(
      xml(
        "message",
        { to: COMPONENT },
        xml(
          "privilege",
          { xmlns: "urn:xmpp:privilege:2" },
          xml("perm", { access: "presence", type: "none" }),
        ),
      ),
    );
    await mallory.send(
      xml("iq", { to: COMPONENT, type: "set", id: "x1" }, xml("query", { xmlns: "urn:evil" })),
    );
    await mallory.send(
      xml("message", { to: COMPONENT, type: "error" }, xml("error", { type: "cancel" })),
    );
    const pong = await mallory.iqCaller.request(
      xml("iq", { to: COMPONENT, type: "get" }, xml("ping", { xmlns: "urn:xmpp:ping" })),
    );
    expect(pong.attrs.type).toBe("result");
    // Still working, and the user's privileges were not taken for the server's.
    await scene.online("alice@localhost", "after-hostile");
    await world.waitFor("alice@localhost/after-hostile", ["available"]);
    expect(daemon.logs.filter((l) => l.msg === "privileges granted by the server")).toHaveLength(2);
  });

  it("drains and exits 0 on SIGTERM", async () => {
    expect(await daemon.stop("SIGTERM")).toBe(0);
    expect(daemon.logs.some((l) => l.msg === "stopped")).toBe(true);
  });
});

describe.each(SERVERS)("notifications on %s (configuration variants)", (kind) => {
  const scene = new Scenario(kind);

  beforeAll(async () => {
    await scene.start({
      users: [
        "backend@localhost",
        "world@localhost",
        "ghost@localhost",
        "flux.actor.1@localhost",
        "flux.sim.2@localhost",
        "human@localhost",
      ],
    });
  });
  afterAll(() => scene.stop());

  it("takes the server user from WORLD_SERVER_USERNAME when the file has none, and filters by include", async () => {
    const backend = await scene.world("backend");
    const daemon = await scene.daemon(scene.config(['include = ["flux.actor.*", "flux.sim.*"]']), {
      WORLD_SERVER_USERNAME: "backend",
    });
    await scene.online("human@localhost", "r");
    await scene.online("flux.actor.1@localhost", "r");
    await scene.online("flux.sim.2@localhost", "r");
    await backend.waitFor("flux.actor.1@localhost/r", ["available"]);
    await backend.waitFor("flux.sim.2@localhost/r", ["available"]);
    expect(backend.about("human@localhost/r")).toEqual([]);
    expect(await daemon.stop()).toBe(0);
  });

  it("prefers server_user in the file over WORLD_SERVER_USERNAME", async () => {
    const world = await scene.world("world");
    const daemon = await scene.daemon(
      scene.config(['server_user = "world"', 'include = ["flux.*"]']),
      {
        WORLD_SERVER_USERNAME: "backend",
      },
    );
    // The daemon's start replays the sessions already online.
    await world.waitFor("flux.actor.1@localhost/r", ["available"]);
    expect(await daemon.stop()).toBe(0);
  });

  it('sends from the user\'s bare JID with from = "user" (XEP-0356 message=outgoing)', async () => {
    const world = scene.worlds.find((w) => w.username === "world") as WorldServer;
    const daemon = await scene.daemon(
      scene.config(['server_user = "world"', 'include = ["flux.*"]', 'from = "user"']),
    );
    await scene.online("flux.actor.1@localhost", "second");
    await waitFor(
      () => world.received.find((r) => r.user === "flux.actor.1@localhost/second"),
      10_000,
      "notification",
    );
    const received = world.received.find((r) => r.user === "flux.actor.1@localhost/second");
    expect(received?.from).toBe("flux.actor.1@localhost");
    expect(received?.stanza.attrs.id).toBe(received?.trace);
    expect(await daemon.stop()).toBe(0);
  });

  it("holds notifications the server bounces while the server user is offline, and delivers them when it is back", async () => {
    // ghost@localhost exists but is not online, and there is no offline storage.
    const daemon = await scene.daemon(
      scene.config(['server_user = "ghost"', 'include = ["flux.sim.*"]']),
    );
    await scene.online("flux.sim.2@localhost", "bounce");
    const sent = await daemon.waitForLog({
      msg: "session transition",
      user: "flux.sim.2@localhost/bounce",
    });
    const bounce = await daemon.waitForLog({
      msg: "notification bounced: held until the server user is back",
      trace: sent.trace,
    });
    expect(bounce).toMatchObject({
      condition: "service-unavailable",
      from: "ghost@localhost",
      user: "flux.sim.2@localhost/bounce",
      presence: "available",
      to: "ghost@localhost",
    });
    const ghost = await scene.world("ghost");
    await ghost.waitFor("flux.sim.2@localhost/bounce", ["available"]);
    expect(ghost.received.find((r) => r.user === "flux.sim.2@localhost/bounce")?.trace).toBe(
      sent.trace,
    );
    expect(daemon.logs.some((l) => l.event === "presence_notify_error")).toBe(false);
    expect(await daemon.stop()).toBe(0);
  });
});
