import { existsSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import type { Client } from "@xmpp/client";
import { xml } from "@xmpp/client";
import type { Component } from "@xmpp/component";
import type { Element } from "@xmpp/xml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createActor, toPromise, waitFor as waitForSnapshot } from "xstate";
import { type ProsodyServer, ProsodyStartError, startProsody } from "../../src/launcher/prosody.js";
import { OsProcessExited, osProcessLogic } from "../../src/otp/os-process.js";
import { connectComponent, connectUser, stopQuietly, waitFor } from "../harness/xmpp-users.js";

// The throwaway Prosody the other e2e files build on, checked with real peers:
// a c2s user (@xmpp/client) and a raw XEP-0114 component (@xmpp/component).

const PRIVILEGE_NS = "urn:xmpp:privilege:2"; // XEP-0356 §4 (advertisement)
const DELAY_NS = "urn:xmpp:delay"; // XEP-0203
const COMPONENT = "presence.localhost";
const SECRET = "e2e-secret";

const presenceFrom = (stanzas: Element[], from: string, type?: string) =>
  stanzas.find((s) => s.name === "presence" && s.attrs.from === from && s.attrs.type === type);

describe("startProsody: a real Prosody 0.12 with mod_privilege on loopback", () => {
  let server: ProsodyServer;
  const entities: (Client | Component)[] = [];

  const user = async (username: string, domain: string, resource: string) => {
    const entity = await connectUser({
      service: `xmpp://127.0.0.1:${server.c2sPort}`,
      domain,
      username,
      password: `${username}-pw`,
      resource,
    });
    entities.push(entity);
    return entity;
  };
  const componentPeer = async () => {
    const peer = await connectComponent({
      service: `xmpp://127.0.0.1:${server.componentPort}`,
      domain: COMPONENT,
      password: SECRET,
    });
    entities.push(peer.entity);
    return peer;
  };

  beforeAll(async () => {
    server = await startProsody({
      domains: ["localhost", "example.test"],
      component: { domain: COMPONENT, secret: SECRET },
    });
    await server.registerMany([
      { user: "alice", host: "localhost", password: "alice-pw" },
      { user: "bob", host: "example.test", password: "bob-pw" },
    ]);
  });

  afterAll(async () => {
    try {
      for (const entity of entities) await stopQuietly(entity);
    } finally {
      await server?.stop();
    }
  });

  it("listens on 127.0.0.1 only, with the config in its own temp dir", () => {
    expect(server.c2sPort).not.toBe(server.componentPort);
    expect(server.configPath.startsWith(server.dir)).toBe(true);
    expect(server.logTail(1000)).toContain(
      `Activated service 'c2s' on [127.0.0.1]:${server.c2sPort}`,
    );
    expect(server.logTail(1000)).not.toMatch(/\terror\t/);
  });

  it("lets a user log in with SASL PLAIN over plaintext c2s", async () => {
    const alice = await user("alice", "localhost", "phone");
    expect(alice.isSecure()).toBe(false);
    expect(alice.jid?.toString()).toBe("alice@localhost/phone");
    expect(server.logTail(1000)).toMatch(/Authenticated as alice@localhost/);
  });

  it("advertises privileges to the component, then forwards every session's presence", async () => {
    const { stanzas } = await componentPeer();
    const adverts = await waitFor(
      () => {
        const found = stanzas.filter(
          (s) => s.name === "message" && s.getChild("privilege", PRIVILEGE_NS),
        );
        return found.length === 2 && found;
      },
      5_000,
      "two privilege advertisements",
    );
    expect(adverts.map((m) => m.attrs.from).sort()).toEqual(["example.test", "localhost"]);
    const perms = adverts[0]
      ?.getChild("privilege", PRIVILEGE_NS)
      ?.getChildren("perm")
      .map((p) => `${p.attrs.access}=${p.attrs.type}`)
      .sort();
    expect(perms).toEqual(["message=outgoing", "presence=managed_entity"]);

    const alice = entities[0] as Client;
    await alice.send(xml("presence", {}, xml("show", {}, "away"), xml("status", {}, "brb")));
    const fromAlice = await waitFor(
      () => presenceFrom(stanzas, "alice@localhost/phone"),
      5_000,
      "alice's presence at the component",
    );
    expect(fromAlice.attrs.to).toBe(COMPONENT);
    expect(fromAlice.getChildText("show")).toBe("away");
    expect(fromAlice.getChildText("status")).toBe("brb");

    // A second virtual host goes through the same component.
    const bob = await user("bob", "example.test", "laptop");
    await bob.send(xml("presence"));
    await waitFor(() => presenceFrom(stanzas, "bob@example.test/laptop"), 5_000, "bob's presence");

    // A dead socket, no unavailable sent: Prosody synthesizes one.
    const before = Date.now();
    bob.socket?.destroy();
    const gone = await waitFor(
      () => presenceFrom(stanzas, "bob@example.test/laptop", "unavailable"),
      5_000,
      "bob's synthesized unavailable",
    );
    expect(gone.attrs.to).toBe(COMPONENT);
    expect(Date.now() - before).toBeLessThan(2_000);
  });

  it("restarts on the same ports, and a reconnecting component gets current presences with <delay>", async () => {
    const { c2sPort, componentPort, pid } = server;
    await server.restart();
    expect(server.pid).not.toBe(pid);
    expect([server.c2sPort, server.componentPort]).toEqual([c2sPort, componentPort]);

    // The restart dropped every session; users come back before the component.
    const alice = await user("alice", "localhost", "tablet");
    await alice.send(xml("presence", {}, xml("status", {}, "back")));
    const bob = await user("bob", "example.test", "desk");
    await bob.send(xml("presence"));
    // Give Prosody time to process both initial presences before the component arrives.
    await new Promise((r) => setTimeout(r, 200));

    const { stanzas } = await componentPeer();
    const replayed = await waitFor(
      () => {
        const a = presenceFrom(stanzas, "alice@localhost/tablet");
        const b = presenceFrom(stanzas, "bob@example.test/desk");
        return a && b && [a, b];
      },
      5_000,
      "replayed presences",
    );
    for (const p of replayed) {
      expect(p.attrs.to).toBe(COMPONENT);
      expect(p.getChild("delay", DELAY_NS)?.attrs.stamp).toMatch(/^\d{4}-\d\d-\d\dT/);
    }
    expect(replayed[0]?.getChildText("status")).toBe("back");
    // mod_privilege replays ALL sessions once per privileged virtual host
    // (it walks the global full_sessions), so with two hosts each arrives twice.
    const replays = (from: string) => stanzas.filter((s) => s.attrs.from === from).length;
    await waitFor(() => replays("bob@example.test/desk") === 2, 2_000, "second replay");
    expect(replays("alice@localhost/tablet")).toBe(2);
  });

  it("stop() leaves no process and removes the temp dir", async () => {
    const { pid, dir } = server;
    await server.stop();
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
    expect(existsSync(dir)).toBe(false);
    await server.stop(); // idempotent
  });
});

describe("startProsody: startup failures", () => {
  it("fails fast with the log tail when a port is taken, and leaves nothing behind", async () => {
    const squatter = createServer();
    await new Promise<void>((r) => squatter.listen(0, "127.0.0.1", r));
    const port = (squatter.address() as AddressInfo).port;
    try {
      const before = Date.now();
      const error = await startProsody({
        component: { domain: COMPONENT, secret: SECRET },
        ports: { c2s: port },
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProsodyStartError);
      expect((error as ProsodyStartError).message).toContain(
        `Failed to open server port ${port} on 127.0.0.1`,
      );
      expect((error as ProsodyStartError).logTail).toContain("Hello and welcome to Prosody");
      expect(Date.now() - before).toBeLessThan(5_000);
      const dir = /config (\S+)\/prosody\.cfg\.lua/.exec((error as Error).message)?.[1];
      expect(dir && existsSync(dir)).toBe(false);
    } finally {
      squatter.close();
    }
  });
});

describe("osProcessLogic supervising startProsody", () => {
  it("fails when Prosody dies on its own, and cleans the temp dir up", async () => {
    let dir = "";
    const actor = createActor(osProcessLogic, {
      input: {
        name: "prosody",
        start: async () => {
          const server = await startProsody({ component: { domain: COMPONENT, secret: SECRET } });
          dir = server.dir;
          return server;
        },
      },
    });
    const result = toPromise(actor);
    actor.start();
    try {
      const { pid } = await waitForSnapshot(actor, (s) => s.phase === "running", {
        timeout: 15_000,
      });
      process.kill(pid as number, "SIGKILL");
      const error = await result.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OsProcessExited);
      expect((error as OsProcessExited).exit.signal).toBe("SIGKILL");
      await waitFor(() => !existsSync(dir), 5_000, "temp dir removal");
    } finally {
      actor.stop();
    }
  });

  it("stops Prosody on shutdown", async () => {
    let dir = "";
    const actor = createActor(osProcessLogic, {
      input: {
        name: "prosody",
        start: async () => {
          const server = await startProsody({ component: { domain: COMPONENT, secret: SECRET } });
          dir = server.dir;
          return server;
        },
      },
    });
    const result = toPromise(actor);
    actor.start();
    try {
      const { pid } = await waitForSnapshot(actor, (s) => s.phase === "running", {
        timeout: 15_000,
      });
      actor.send({ type: "shutdown" });
      // Prosody exits 0 on SIGTERM once its handler is installed, a moment
      // after it starts listening; before that, SIGTERM's default action ends it.
      expect([
        { code: 0, signal: null },
        { code: null, signal: "SIGTERM" },
      ]).toContainEqual(await result);
      expect(() => process.kill(pid as number, 0)).toThrow(/ESRCH/);
      await waitFor(() => !existsSync(dir), 5_000, "temp dir removal");
    } finally {
      actor.stop();
    }
  });
});
