import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import type { Client } from "@xmpp/client";
import { xml } from "@xmpp/client";
import type { Component } from "@xmpp/component";
import type { Element } from "@xmpp/xml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createActor, toPromise, waitFor as waitForSnapshot } from "xstate";
import { descendants } from "../../src/launcher/process-tree.js";
import { OsProcessExited, osProcessLogic } from "../../src/otp/os-process.js";
import { type EjabberdServer, EjabberdStartError, startEjabberd } from "../../testkit/ejabberd.js";
import { connectComponent, connectUser, stopQuietly, waitFor } from "../harness/xmpp-users.js";

// The throwaway ejabberd 23.01 the e2e tests can run against instead of
// Prosody, checked with real peers, and the SERVERS.md facts that make the
// daemon's job different there: no unavailable for a dead socket, no presence
// replay on component connect, pings and admin commands to find the truth.

const PRIVILEGE_NS = "urn:xmpp:privilege:1"; // XEP-0356 0.2.1 §4 (what 23.01 speaks)
const PING_NS = "urn:xmpp:ping"; // XEP-0199
const STANZAS_NS = "urn:ietf:params:xml:ns:xmpp-stanzas";
const COMPONENT = "presence.localhost";
const SECRET = "e2e-secret";

const presenceFrom = (stanzas: Element[], from: string, type?: string) =>
  stanzas.find((s) => s.name === "presence" && s.attrs.from === from && s.attrs.type === type);

/** Every process of user `ejabberd` named `name`: ours run as that user. */
function processesOfEjabberd(name: string): number[] {
  const uid = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith("ejabberd:"))
    ?.split(":")[2];
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const status = readFileSync(`/proc/${p}/status`, "utf8");
        return (
          new RegExp(`^Name:\\s+${name}$`, "m").test(status) &&
          new RegExp(`^Uid:\\s+${uid}\\s`, "m").test(status)
        );
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe("startEjabberd: a real ejabberd 23.01 with mod_privilege on loopback", () => {
  let server: EjabberdServer;
  const entities: (Client | Component)[] = [];
  // One component connection at a time: ejabberd accepts a second one for the
  // same domain and spreads stanzas (replies, advertisements) over both.
  let peer: { entity: Component; stanzas: Element[] };

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
  let pingSeq = 0;
  /** A raw XEP-0199 ping from the component; resolves with the reply. */
  const ping = async (to: string) => {
    const id = `ping-${++pingSeq}`;
    await peer.entity.send(
      xml("iq", { type: "get", id, to, from: COMPONENT }, xml("ping", { xmlns: PING_NS })),
    );
    return waitFor(
      () => peer.stanzas.find((s) => s.name === "iq" && s.attrs.id === id),
      5_000,
      `reply to ping ${id}`,
    );
  };

  beforeAll(async () => {
    const started = Date.now();
    server = await startEjabberd({
      domains: ["localhost", "example.test"],
      component: { domain: COMPONENT, secret: SECRET },
      httpApi: true,
    });
    const ready = Date.now();
    await server.registerMany([
      { user: "alice", host: "localhost", password: "alice-pw" },
      { user: "bob", host: "example.test", password: "bob-pw" },
    ]);
    // One through ejabberdctl too, the path used without httpApi.
    await server.ctl(["register", "carol", "localhost", "carol-pw"]);
    console.info(
      `ejabberd ready in ${ready - started} ms; 2 HTTP + 1 ejabberdctl registrations in ${Date.now() - ready} ms`,
    );
  });

  afterAll(async () => {
    try {
      for (const entity of entities) await stopQuietly(entity);
    } finally {
      await server?.stop();
    }
  });

  it("listens on 127.0.0.1 only, without epmd, with its config in its own temp dir", () => {
    expect(server.kind).toBe("ejabberd");
    const ports = [server.c2sPort, server.componentPort, server.httpApiPort];
    expect(new Set(ports).size).toBe(3);
    expect(server.configPath.startsWith(server.dir)).toBe(true);
    expect(server.logTail(200)).toContain(`is started in the node '${server.node}'`);
    // Every socket the VM listens on (XMPP, HTTP, Erlang distribution) is loopback.
    const listening = execFileSync("ss", ["-Hltnp"], { encoding: "utf8" })
      .split("\n")
      .filter((l) => l.includes(`pid=${server.pid},`));
    expect(listening.length).toBe(4);
    for (const line of listening) expect(line).toMatch(/\s127\.0\.0\.1:\d+\s/);
    expect(processesOfEjabberd("epmd")).toEqual([]);
    expect(readFileSync(`/proc/${server.pid}/cmdline`, "utf8")).toContain("-start_epmd\0false");
  });

  it("lets a user log in with SASL PLAIN over plaintext c2s", async () => {
    const alice = await user("alice", "localhost", "phone");
    expect(alice.isSecure()).toBe(false);
    expect(alice.jid?.toString()).toBe("alice@localhost/phone");
    const carol = await user("carol", "localhost", "desk");
    expect(carol.jid?.toString()).toBe("carol@localhost/desk");
    await stopQuietly(carol);
  });

  it("advertises privileges to the component, then forwards presence from full JIDs", async () => {
    peer = await componentPeer();
    const { stanzas } = peer;
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
    expect(perms).toEqual(["message=outgoing", "presence=managed_entity", "roster=none"]);
    // Alice was online before the component came: unlike Prosody, no replay.
    await new Promise((r) => setTimeout(r, 300));
    expect(stanzas.filter((s) => s.name === "presence")).toEqual([]);

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

    const bob = await user("bob", "example.test", "laptop");
    await bob.send(xml("presence"));
    await waitFor(() => presenceFrom(stanzas, "bob@example.test/laptop"), 5_000, "bob's presence");
  });

  it("answers the component's pings: result from a live full JID, service-unavailable for a dead one", async () => {
    const live = await ping("alice@localhost/phone");
    expect(live.attrs.type).toBe("result");
    expect(live.attrs.from).toBe("alice@localhost/phone");
    const dead = await ping("alice@localhost/nowhere");
    expect(dead.attrs.type).toBe("error");
    expect(dead.getChild("error")?.getChild("service-unavailable", STANZAS_NS)).toBeDefined();
  });

  it("lists exactly the live sessions, over ejabberdctl and the HTTP API", async () => {
    const expected = ["alice@localhost/phone", "bob@example.test/laptop"];
    expect(await server.connectedSessions()).toEqual(expected);
    const viaCtl = (await server.ctl(["connected_users"])).split("\n").filter(Boolean).sort();
    expect(viaCtl).toEqual(expected);

    interface SessionInfo {
      jid: string;
      connection: string;
      ip: string;
      port: number;
      priority: number;
      node: string;
      uptime: number;
      status: string;
      resource: string;
      statustext: string;
    }
    const info = await server.api<SessionInfo[]>("connected_users_info");
    const alice = info.find((s) => s.jid === "alice@localhost/phone");
    expect(info.map((s) => s.jid).sort()).toEqual(expected);
    expect(alice).toMatchObject({
      connection: "c2s",
      ip: "127.0.0.1",
      node: server.node,
      resource: "phone",
      status: "away",
      statustext: "brb",
      priority: 0,
    });
    expect(typeof alice?.uptime).toBe("number");
  });

  it("sends NOTHING to the component when a client's socket dies, but drops the session", async () => {
    const { stanzas } = peer;
    const bob = entities.find((e) => e.jid?.toString() === "bob@example.test/laptop") as Client;
    const seen = stanzas.length;
    bob.socket?.destroy();
    // ejabberd notices the closed socket at once...
    let live: string[] = [];
    const deadline = Date.now() + 5_000;
    do live = await server.connectedSessions();
    while (live.includes("bob@example.test/laptop") && Date.now() < deadline);
    expect(live).toEqual(["alice@localhost/phone"]);
    // ...yet the component hears nothing about it (SERVERS.md; Prosody sends unavailable).
    await new Promise((r) => setTimeout(r, 1_500));
    expect(stanzas.slice(seen)).toEqual([]);
  });

  it("restarts on the same ports and spool; a new component gets only the advertisement", async () => {
    const { c2sPort, componentPort, httpApiPort, pid } = server;
    await server.restart();
    expect(server.pid).not.toBe(pid);
    expect([server.c2sPort, server.componentPort, server.httpApiPort]).toEqual([
      c2sPort,
      componentPort,
      httpApiPort,
    ]);
    expect(await server.connectedSessions()).toEqual([]);
    await stopQuietly(peer.entity);
    // Accounts survived in the spool.
    const alice = await user("alice", "localhost", "tablet");
    await alice.send(xml("presence"));
    await new Promise((r) => setTimeout(r, 200));
    const { stanzas } = await componentPeer();
    await waitFor(() => stanzas.length >= 2, 5_000, "advertisements after restart");
    await new Promise((r) => setTimeout(r, 500));
    expect(stanzas.map((s) => s.name)).toEqual(["message", "message"]);
    expect(await server.connectedSessions()).toEqual(["alice@localhost/tablet"]);
  });

  it("stop() leaves no beam or epmd of ours and removes the temp dir", async () => {
    const { pid, dir } = server;
    const tree = descendants(process.pid).filter((p) => p.comm === "beam.smp");
    expect(tree.map((p) => p.pid)).toContain(pid);
    const before = Date.now();
    await server.stop();
    console.info(`ejabberd stopped in ${Date.now() - before} ms`);
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
    expect(descendants(process.pid).filter((p) => /beam|epmd|erl_child|eimp/.test(p.comm))).toEqual(
      [],
    );
    expect(processesOfEjabberd("epmd")).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    expect(await server.exited).toEqual({ code: 0, signal: null });
    await server.stop(); // idempotent
  });
});

describe("startEjabberd: failures", () => {
  it("fails fast with the log tail when a port is taken, and leaves nothing behind", async () => {
    const squatter = createServer();
    await new Promise<void>((r) => squatter.listen(0, "127.0.0.1", r));
    const port = (squatter.address() as AddressInfo).port;
    try {
      const before = Date.now();
      const error = await startEjabberd({
        component: { domain: COMPONENT, secret: SECRET },
        ports: { component: port },
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EjabberdStartError);
      expect((error as EjabberdStartError).message).toContain(
        `Failed to open socket at 127.0.0.1:${port} for ejabberd_service: address already in use`,
      );
      expect((error as EjabberdStartError).logTail).not.toContain(SECRET);
      expect(Date.now() - before).toBeLessThan(10_000);
      const dir = /config (\S+)\/ejabberd\.yml/.exec((error as Error).message)?.[1];
      expect(dir && existsSync(dir)).toBe(false);
      expect(descendants(process.pid).filter((p) => p.comm === "beam.smp")).toEqual([]);
    } finally {
      squatter.close();
    }
  });

  it("reports the VM dying on its own to osProcessLogic as the signal that killed it", async () => {
    let dir = "";
    const actor = createActor(osProcessLogic, {
      input: {
        name: "ejabberd",
        start: async () => {
          const server = await startEjabberd({ component: { domain: COMPONENT, secret: SECRET } });
          dir = server.dir;
          return server;
        },
      },
    });
    const result = toPromise(actor);
    actor.start();
    try {
      const { pid } = await waitForSnapshot(actor, (s) => s.phase === "running", {
        timeout: 30_000,
      });
      process.kill(pid as number, "SIGKILL");
      const error = await result.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OsProcessExited);
      expect((error as OsProcessExited).exit).toEqual({ code: null, signal: "SIGKILL" });
      await waitFor(() => !existsSync(dir), 5_000, "temp dir removal");
      expect(descendants(process.pid).filter((p) => p.comm === "beam.smp")).toEqual([]);
    } finally {
      actor.stop();
    }
  });
});
