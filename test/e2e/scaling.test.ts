import type { Client } from "@xmpp/client";
import { xml } from "@xmpp/component";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ProsodyServer, startProsody } from "../../src/launcher/prosody.js";
import { DaemonProcess } from "../harness/daemon.js";
import { WorldServer } from "../harness/world.js";
import { connectUser, stopQuietly } from "../harness/xmpp-users.js";

// SCALING.md, "one daemon per XMPP domain": two virtual hosts on one real
// Prosody, each granting XEP-0356 privileges to its own component only, and
// one daemon per component with notify.domains set to its host. Each domain's
// server user hears about its own domain's sessions, from its own daemon, and
// a daemon killed takes nothing of the other domain with it.

const PASSWORD = "pw";
const DOMAINS = { a: "a.localhost", b: "b.localhost" } as const;
const COMPONENTS = {
  a: { domain: "presence.a.localhost", secret: "secret-a", hosts: [DOMAINS.a] },
  b: { domain: "presence.b.localhost", secret: "secret-b", hosts: [DOMAINS.b] },
};

describe("prosody: one daemon per virtual host", () => {
  let server: ProsodyServer;
  const daemons: DaemonProcess[] = [];
  const clients: Client[] = [];
  const worlds: Record<"a" | "b", WorldServer> = {} as Record<"a" | "b", WorldServer>;

  const daemonFor = (side: "a" | "b") =>
    new DaemonProcess(
      [
        "[component]",
        `service = "xmpp://127.0.0.1:${server.componentPort}"`,
        `domain = "${COMPONENTS[side].domain}"`,
        `secret = "${COMPONENTS[side].secret}"`,
        "[notify]",
        'server_user = "world"',
        `domains = ["${DOMAINS[side]}"]`,
        "[admin]",
        'listen = "127.0.0.1:0"',
      ].join("\n"),
    ).start();

  const online = async (user: string, domain: string) => {
    const client = await connectUser({
      service: `xmpp://127.0.0.1:${server.c2sPort}`,
      domain,
      username: user,
      password: PASSWORD,
      resource: "r",
    });
    clients.push(client);
    await client.send(xml("presence"));
    return client;
  };

  beforeAll(async () => {
    server = await startProsody({
      domains: [DOMAINS.a, DOMAINS.b],
      component: COMPONENTS.a,
      moreComponents: [COMPONENTS.b],
    });
    await server.registerMany(
      ["world", "u1", "u2", "u3"].flatMap((user) =>
        Object.values(DOMAINS).map((host) => ({ user, host, password: PASSWORD })),
      ),
    );
    for (const side of ["a", "b"] as const) {
      worlds[side] = await new WorldServer(server, "world", DOMAINS[side], PASSWORD).connect();
      const daemon = daemonFor(side);
      daemons.push(daemon);
      await daemon.waitForLog({ msg: "privileges granted by the server" });
    }
  });

  afterAll(async () => {
    for (const daemon of daemons) {
      await daemon.stop();
      daemon.cleanup();
    }
    for (const client of clients) await stopQuietly(client);
    for (const world of Object.values(worlds)) await world?.stop();
    await server?.stop();
  });

  it("tells each domain's server user about its own domain only, from its own component", async () => {
    await online("u1", DOMAINS.a);
    await online("u1", DOMAINS.b);
    await online("u2", DOMAINS.b);
    await worlds.a.waitFor(`u1@${DOMAINS.a}/r`, ["available"]);
    await worlds.b.waitFor(`u1@${DOMAINS.b}/r`, ["available"]);
    await worlds.b.waitFor(`u2@${DOMAINS.b}/r`, ["available"]);
    // A late one from the other daemon would come in this time at the latest.
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const side of ["a", "b"] as const) {
      const received = worlds[side].received.filter((r) => !r.user?.startsWith("world@"));
      expect(received.length).toBeGreaterThan(0);
      for (const r of received) {
        expect(r.user?.split("/")[0]?.endsWith(`@${DOMAINS[side]}`)).toBe(true);
        expect(r.from).toBe(COMPONENTS[side].domain);
      }
    }
    expect(worlds.a.received.filter((r) => !r.user?.startsWith("world@"))).toHaveLength(1);
  });

  it("keeps notifying one domain while the other domain's daemon is dead", async () => {
    const [daemonA] = daemons;
    expect(await daemonA?.kill()).toBe(null);
    await online("u3", DOMAINS.b);
    await online("u3", DOMAINS.a);
    await worlds.b.waitFor(`u3@${DOMAINS.b}/r`, ["available"]);
    expect(worlds.a.about(`u3@${DOMAINS.a}/r`)).toEqual([]);
  });
});
