import type { Client } from "@xmpp/client";
import { xml } from "@xmpp/component";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Scenario, SERVERS } from "../harness/scenario.js";
import type { WorldServer } from "../harness/world.js";
import { waitFor } from "../harness/xmpp-users.js";

// Fault injection against real servers. Each test states its promise and
// checks it by comparing what the server user received with what the users did.

const CLIENTS = 50;
const CHANGES_PER_CLIENT = 400; // 20,000 presence changes in all

/** The server user's view: the last notification per session. */
function view(world: WorldServer): Map<string, string> {
  const last = new Map<string, string>();
  for (const r of world.received) last.set(r.user, r.presence);
  return last;
}

describe.each(SERVERS)("%s: faults", (kind) => {
  const scene = new Scenario(kind);
  let world: WorldServer;
  const users = Array.from({ length: CLIENTS }, (_, i) => `burst${i}@localhost`);

  beforeAll(async () => {
    await scene.start({ users: ["world@localhost", ...users] });
    world = await scene.world("world");
  });
  afterAll(() => scene.stop());

  it(`delivers a burst of ${CLIENTS * CHANGES_PER_CLIENT} presence changes: every availability flip, in order, per session`, async () => {
    // Promise (memory mode, no overload): every transition is notified, in
    // transition order per session; show changes are not notified.
    const daemon = await scene.daemon(
      scene.config(['server_user = "world"', 'include = ["burst*"]']),
    );
    const clients: Client[] = await Promise.all(users.map((jid) => scene.online(jid, "burst")));
    await Promise.all(clients.map((c) => world.waitForSession(`${c.jid}`, 1)));

    // Each client: unavailable, available, a show change, ... (no awaits between sends
    // beyond the socket's own write), so the server sees a real burst.
    await Promise.all(
      clients.map(async (client) => {
        for (let i = 1; i < CHANGES_PER_CLIENT; i++) {
          const stanza =
            i % 4 === 1
              ? xml("presence", { type: "unavailable" })
              : i % 4 === 3
                ? xml("presence", {}, xml("show", {}, "away"))
                : xml("presence");
          await client.send(stanza);
        }
      }),
    );
    // Changes 1..399: i%4==1 unavailable (100), i%4 in {2,0} available (199, of which
    // those right after an unavailable flip the session: 100), i%4==3 show only.
    const flips = 1 + 2 * Math.ceil((CHANGES_PER_CLIENT - 1) / 4);
    await waitFor(
      () => clients.every((c) => world.about(`${c.jid}`).length >= flips),
      60_000,
      `${flips} notifications per session`,
    );
    for (const client of clients) {
      const alternating = Array.from({ length: flips }, (_, i) =>
        i % 2 === 0 ? "available" : "unavailable",
      );
      expect(world.about(`${client.jid}`)).toEqual(alternating);
    }
    expect(daemon.logs.some((l) => l.event === "presence_notify_error")).toBe(false);
    expect(await daemon.stop()).toBe(0);
    for (const client of clients) await client.stop().catch(() => undefined);
  });

  it("after kill -9 of the XMPP server and a restart, the server user's view equals the server's sessions", async () => {
    // Promise: every session the crash ended is reported unavailable once the
    // daemon is reconnected (no replay, no list: pings, or the empty list),
    // and notifications bounced meanwhile reach the server user once it is back.
    const daemon = await scene.daemon(
      scene.config(['server_user = "world"', 'include = ["burst*"]']),
    );
    const before = await Promise.all(users.slice(0, 10).map((jid) => scene.online(jid, "crash")));
    for (const c of before) await world.waitFor(`${c.jid}`, ["available"]);

    process.kill(scene.server.pid, "SIGKILL");
    await scene.server.exited;
    await scene.server.restart();
    await world.connect();
    const after = await scene.online(users[10] as string, "after-crash");

    await waitFor(
      () => before.every((c) => view(world).get(`${c.jid}`) === "unavailable"),
      30_000,
      "every crashed session reported unavailable",
    );
    await world.waitFor(`${after.jid}`, ["available"]);
    const online = [...view(world)].filter(
      ([jid, p]) => p === "available" && jid.endsWith("/after-crash"),
    );
    expect(online.map(([jid]) => jid)).toEqual([`${after.jid}`]);
    if (scene.server.kind === "ejabberd") {
      const live = (await scene.server.connectedSessions()).filter((j) => !j.startsWith("world@"));
      expect(live).toEqual([`${after.jid}`]);
    }
    expect(await daemon.stop()).toBe(0);
  });
});
