import { readFileSync, writeFileSync } from "node:fs";
import type { Client } from "@xmpp/client";
import { xml } from "@xmpp/component";
import type { Element } from "@xmpp/xml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep } from "../../src/launcher/polling.js";
import { type EjabberdServer, startEjabberd } from "../../testkit/ejabberd.js";
import { connectComponent, connectUser, stopQuietly } from "../harness/xmpp-users.js";

// Issue #17 item 6 asks whether ejabberd's domain_balancing by bare JID could
// let two daemons share one component domain, each owning whole users, the
// survivor taking over the users of a dead one. Measured on the real
// ejabberd 23.01 (README, "A standby that takes over", and SCALING.md say
// what follows from it): it cannot, so the standby never connects while the
// active lives.

const COMPONENT = "presence.localhost";
const SECRET = "balancing-secret";
const USERS = Array.from({ length: 8 }, (_, i) => `b${i}`);

type Peer = {
  entity: { stop(): Promise<unknown>; socket?: { destroy(): void } | null };
  stanzas: Element[];
};

/** Who sent the presences `peer` received from index `from` on, by localpart. */
const senders = (peer: Peer, from = 0) =>
  new Set(
    peer.stanzas
      .slice(from)
      .filter((s) => s.name === "presence")
      .map((s) => String(s.attrs.from).split("@")[0]),
  );
const advertisements = (peer: Peer) =>
  peer.stanzas.filter((s) => s.name === "message" && s.attrs.from === "localhost").length;

describe("ejabberd 23.01: domain_balancing by bare JID for one component domain", () => {
  let server: EjabberdServer;
  const clients: Client[] = [];
  const peers: Peer[] = [];

  const peer = async () => {
    const p = await connectComponent({
      service: `xmpp://127.0.0.1:${server.componentPort}`,
      domain: COMPONENT,
      password: SECRET,
    });
    peers.push(p);
    return p;
  };
  let original = "";
  /** The generated ejabberd.yml plus `domain_balancing` for the component, applied live. */
  const balance = async (lines: string[]) => {
    const option = `domain_balancing:\n  ${COMPONENT}:\n${lines.join("\n")}\n`;
    writeFileSync(server.configPath, `${original}\n${option}`);
    await server.ctl(["reload_config"]);
  };
  /** Every user sends `n` presence updates; then a moment for ejabberd to route them. */
  const everyoneSends = async (n = 1) => {
    for (const c of clients) {
      for (let i = 0; i < n; i++) await c.send(xml("presence", {}, xml("status", {}, `${i}`)));
    }
    await sleep(1_000);
  };

  beforeAll(async () => {
    server = await startEjabberd({
      domains: ["localhost"],
      component: { domain: COMPONENT, secret: SECRET },
    });
    await server.registerMany(USERS.map((user) => ({ user, host: "localhost", password: "pw" })));
    original = readFileSync(server.configPath, "utf8");
  });
  afterAll(async () => {
    try {
      for (const c of clients) await stopQuietly(c);
      for (const p of peers) await stopQuietly(p.entity);
    } finally {
      await server?.stop();
    }
  });

  it("without component_number, every component connection of the domain crashes at its handshake", async () => {
    await balance(["    type: bare_source"]);
    await expect(peer()).rejects.toThrow();
    // ejabberd_router:get_component_number/1 reads the key without a default.
    expect(server.logTail(400)).toMatch(/badkey,component_number/);
  });

  it("with component_number 2: whole users per connection, but one death silences both", async () => {
    await balance(["    type: bare_source", "    component_number: 2"]);
    const a = await peer();
    const b = await peer();
    for (const user of USERS) {
      clients.push(
        await connectUser({
          service: `xmpp://127.0.0.1:${server.c2sPort}`,
          domain: "localhost",
          username: user,
          password: "pw",
          resource: "r",
        }),
      );
    }
    await everyoneSends(3);
    const [ofA, ofB] = [senders(a), senders(b)];
    // Each user's presences all reach one connection: bare_source hashes the bare JID.
    expect(ofA.size).toBeGreaterThan(0);
    expect(ofB.size).toBeGreaterThan(0);
    expect([...ofA].filter((u) => ofB.has(u))).toEqual([]);
    expect(ofA.size + ofB.size).toBe(USERS.length);
    // The XEP-0356 advertisements (from "localhost") are balanced too: both reached one connection.
    expect(advertisements(a) + advertisements(b)).toBe(2);
    expect(Math.min(advertisements(a), advertisements(b))).toBe(0);

    // One connection dies: mod_privilege forgets the domain's permissions
    // (component_disconnected removes them per domain, not per connection),
    // so no presence reaches the survivor, not even from its own users.
    a.entity.socket?.destroy();
    await sleep(1_500);
    const bBefore = b.stanzas.length;
    await everyoneSends();
    expect(senders(b, bBefore)).toEqual(new Set());

    // Only a new connection (in the dead one's slot) brings them back; it
    // inherits the dead one's users, of whom it knows nothing.
    const c = await peer();
    await sleep(500);
    const bAgain = b.stanzas.length;
    await everyoneSends();
    expect(senders(b, bAgain)).toEqual(ofB);
    expect(senders(c)).toEqual(ofA);
  });
});
