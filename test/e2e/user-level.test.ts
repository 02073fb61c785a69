import { xml } from "@xmpp/component";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminClient } from "../harness/admin-client.js";
import type { DaemonProcess } from "../harness/daemon.js";
import { Scenario } from "../harness/scenario.js";
import type { WorldServer } from "../harness/world.js";
import { waitFor } from "../harness/xmpp-users.js";

// notify.level = "user" with notify.fields = ["ts", "reason"], end to end on
// a real Prosody 0.12: one user's two resources give one notification when
// the first comes online and one when the last goes. The first to go loses
// its socket (Prosody relays a plain unavailable, as for a goodbye); the
// last breaks its stream, and Prosody says why ("Disconnected:
// not-well-formed"): reason "server".

describe("notify.level = user on Prosody", () => {
  const scene = new Scenario("prosody");
  let world: WorldServer;
  let daemon: DaemonProcess;

  beforeAll(async () => {
    await scene.start({ users: ["world@localhost", "alice@localhost", "bob@localhost"] });
    world = await scene.world("world");
    daemon = await scene.daemon(
      scene.config(['server_user = "world"', 'level = "user"', 'fields = ["ts", "reason"]']),
    );
  });
  afterAll(() => scene.stop());

  /** Available sessions the daemon tracks, summed over every show (`/metrics`). */
  const tracked = async (admin: AdminClient) =>
    (await admin.metrics())
      .split("\n")
      .filter((l) => l.startsWith("presence_notify_sessions{"))
      .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);

  const argsOf = (user: string) =>
    world.received
      .filter((r) => r.user === user)
      .map((r) => JSON.parse(r.stanza.getChild("event", "flux:xmpp")?.getText() ?? "{}").args);

  it("tells the first resource online and the last offline, with the resource count", async () => {
    const start = Date.now();
    const phone = await scene.online("alice@localhost", "phone");
    await world.waitFor("alice@localhost", ["available"]);
    const laptop = await scene.online("alice@localhost", "laptop");
    // The server reports each socket's presences in its own order: until the
    // daemon has the laptop's session, the phone's loss could come first and
    // really leave alice with no resource (then "unavailable" is the truth).
    const admin = await AdminClient.of(daemon);
    await waitFor(
      async () => (await tracked(admin)) === 2,
      10_000,
      "both of alice's sessions tracked",
    );
    // The second resource, a show change and the first one's lost socket tell nothing.
    await laptop.send(xml("presence", {}, xml("show", {}, "away")));
    phone.socket?.destroy();
    // A marker: once bob's notification is in, alice's changes before it were handled.
    await scene.online("bob@localhost", "marker");
    await world.waitFor("bob@localhost", ["available"]);
    expect(world.about("alice@localhost")).toEqual(["available"]);

    const lost = Date.now();
    // Bytes that are not XML: Prosody closes the stream with <not-well-formed/>.
    (laptop.socket as unknown as { write(text: string): void } | null)?.write("<<not xml");
    await world.waitFor("alice@localhost", ["available", "unavailable"]);
    const [online, offline] = argsOf("alice@localhost");
    expect(online).toMatchObject({ presence: "available", reason: "login", resources: 1 });
    expect(offline).toMatchObject({ presence: "unavailable", reason: "server", resources: 0 });
    expect(online.ts).toBeGreaterThanOrEqual(start);
    expect(offline.ts).toBeGreaterThanOrEqual(lost);
    expect(offline.ts).toBeLessThanOrEqual(Date.now());
    expect(Number.isInteger(offline.ts)).toBe(true);
    // No session's full JID is ever told at this level.
    expect(world.received.filter((r) => r.user.includes("/"))).toEqual([]);
  });
});
