import type { Client } from "@xmpp/client";
import { xml } from "@xmpp/component";
import type { Element } from "@xmpp/xml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ProsodyServer, startProsody } from "../../src/launcher/prosody.js";
import { COMPONENT, Scenario, SERVERS } from "../harness/scenario.js";
import type { WorldServer } from "../harness/world.js";
import {
  collectStanzas,
  connectComponent,
  connectUser,
  stopQuietly,
  waitFor,
} from "../harness/xmpp-users.js";

// A user's presence addressed straight to the component (RFC 6121 §4.6
// directed presence) reaches it byte for byte like the broadcast the server
// forwards under XEP-0356 (SERVERS.md; checked on the wire on both servers:
// same from, to, attributes, no wrapper). Nothing in the stanza can tell them
// apart, so the guard is server-side: server-modules/prosody and
// server-modules/ejabberd, mod_presence_notify_guard, which the launchers
// install by default. Each spoof is shown to work without it and to fail with it.

const STANZAS_NS = "urn:ietf:params:xml:ns:xmpp-stanzas";
const DELAY_NS = "urn:xmpp:delay"; // XEP-0203
const USERS = ["world", "alice", "bob", "carol", "dave", "sentinel"].map((u) => `${u}@localhost`);

/** Directed presences a user can address to the component's domain. */
const spoofTargets = [COMPONENT, `${COMPONENT}/any`, `node@${COMPONENT}`];

describe.each(SERVERS)("directed presence to the component on %s", (kind) => {
  /**
   * One scene per guard setting: a daemon serving every user of localhost.
   * `settled` brings a fresh session of the sentinel user online and waits
   * for its notification: what the spoofing user sent before has been
   * through the same server and the same daemon by then.
   */
  const setup = (guard: boolean) => {
    const scene = new Scenario(kind);
    const state = { world: undefined as unknown as WorldServer, sentinels: 0 };
    beforeAll(async () => {
      await scene.start({ users: USERS, guard });
      state.world = await scene.world("world");
      await scene.daemon(scene.config(['server_user = "world"', 'include = ["*"]']));
    });
    afterAll(() => scene.stop());
    const settled = async () => {
      const resource = `s${++state.sentinels}`;
      await scene.online("sentinel@localhost", resource);
      await state.world.waitFor(`sentinel@localhost/${resource}`, ["available"]);
    };
    return { scene, state, settled };
  };

  const sendAll = async (entity: Client, type?: "unavailable") => {
    for (const to of spoofTargets) await entity.send(xml("presence", { to, type }));
  };

  const forbiddenFrom = (stanzas: Element[]) =>
    stanzas.filter(
      (s) =>
        s.is("presence") &&
        s.attrs.type === "error" &&
        s.attrs.from?.includes(COMPONENT) &&
        s.getChild("error")?.getChild("forbidden", STANZAS_NS) !== undefined,
    );

  describe("with mod_presence_notify_guard", () => {
    const { scene, state, settled } = setup(true);

    it("a user cannot fake its own departure: a directed unavailable leaves its live session online", async () => {
      await scene.online("alice@localhost", "phone");
      const alice = scene.clients.at(-1) as Client;
      await state.world.waitFor("alice@localhost/phone", ["available"]);
      await sendAll(alice, "unavailable");
      await settled();
      expect(state.world.about("alice@localhost/phone")).toEqual(["available"]);
    });

    it("a user cannot fake its arrival: a session that never broadcast presence stays unannounced, and is told forbidden", async () => {
      // Logged in, but never available to anyone (no broadcast presence).
      const bob = await scene.online("bob@localhost", "laptop", xml("presence", { to: COMPONENT }));
      const replies = collectStanzas(bob);
      await sendAll(bob);
      await settled();
      expect(state.world.about("bob@localhost/laptop")).toEqual([]);
      await waitFor(() => forbiddenFrom(replies).length >= spoofTargets.length, 5_000, "errors");
    });

    it("leaves the server's own broadcasts alone: after a refused directed presence a polite logout is one unavailable", async () => {
      const carol = await scene.online("carol@localhost", "tablet");
      await state.world.waitFor("carol@localhost/tablet", ["available"]);
      await carol.send(xml("presence", { to: COMPONENT }));
      await carol.send(xml("presence", { type: "unavailable" }));
      await state.world.waitFor("carol@localhost/tablet", ["available", "unavailable"]);
      await settled();
      expect(state.world.about("carol@localhost/tablet")).toEqual(["available", "unavailable"]);
    });
  });

  // Known-unprotected behaviour of the bare servers: these pin why the guard
  // exists, and would tell if a server release started telling them apart.
  describe("without the guard (what the server alone allows)", () => {
    const { scene, state, settled } = setup(false);

    it("a user's directed unavailable makes its live session look gone", async () => {
      await scene.online("alice@localhost", "phone");
      const alice = scene.clients.at(-1) as Client;
      await state.world.waitFor("alice@localhost/phone", ["available"]);
      await alice.send(xml("presence", { to: COMPONENT, type: "unavailable" }));
      await state.world.waitFor("alice@localhost/phone", ["available", "unavailable"]);
      // The session is still there: the daemon believes a lie.
      expect(alice.status).toBe("online");
    });

    it("a user's directed available announces a session that never broadcast presence", async () => {
      await scene.online("bob@localhost", "laptop", xml("presence", { to: COMPONENT }));
      await state.world.waitFor("bob@localhost/laptop", ["available"]);
      await settled();
    });
  });
});

// XEP-0203 stamps are the server's to add. Prosody forwards a client's own
// <delay/> unchanged (SERVERS.md), so a broadcast could pass for a replayed
// presence; the Prosody guard removes it from what it lets through. (The
// ejabberd guard does not: there the daemon must not trust a delay at all.)
describe.each([true, false])("a client's own <delay/> on Prosody (guard %s)", (guard) => {
  let server: ProsodyServer;
  const entities: { stop(): Promise<unknown> }[] = [];
  beforeAll(async () => {
    server = await startProsody({ component: { domain: COMPONENT, secret: "s" }, guard });
    await server.register("alice", "localhost", "pw");
  });
  afterAll(async () => {
    for (const entity of entities) await stopQuietly(entity);
    await server?.stop();
  });

  it(
    guard
      ? "is removed before the broadcast reaches the component"
      : "reaches the component unchanged",
    async () => {
      const { entity, stanzas } = await connectComponent({
        service: `xmpp://127.0.0.1:${server.componentPort}`,
        domain: COMPONENT,
        password: "s",
      });
      entities.push(entity);
      const alice = await connectUser({
        service: `xmpp://127.0.0.1:${server.c2sPort}`,
        domain: "localhost",
        username: "alice",
        password: "pw",
        resource: "r",
      });
      entities.push(alice);
      const forged = { xmlns: DELAY_NS, from: "localhost", stamp: "2020-01-01T00:00:00Z" };
      await alice.send(xml("presence", {}, xml("delay", forged)));
      const presence = await waitFor(
        () => stanzas.find((s) => s.is("presence") && s.attrs.from === "alice@localhost/r"),
        5_000,
        "alice's presence at the component",
      );
      expect(presence.getChild("delay", DELAY_NS) !== undefined).toBe(!guard);
    },
  );
});
