import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { type AddressInfo, connect as connectTcp, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { xml } from "@xmpp/component";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { DaemonProcess } from "../harness/daemon.js";
import { Scenario } from "../harness/scenario.js";
import type { WorldServer } from "../harness/world.js";
import { waitFor } from "../harness/xmpp-users.js";

// `start --inspect`: the real daemon against a real Prosody, a real
// WebSocket client where the Stately Inspector's bridge page would be, and
// the events as @statelyai/inspect puts them on the wire: one JSON text frame
// per event, `type` "@xstate.actor" (name, sessionId, definition: the machine
// config as a JSON string, snapshot), "@xstate.event" (sessionId, event) or
// "@xstate.snapshot" (sessionId, event, snapshot).

interface WireEvent {
  type: "@xstate.actor" | "@xstate.event" | "@xstate.snapshot";
  name?: string;
  sessionId: string;
  definition?: string;
  snapshot?: { status?: string; value?: unknown };
  event?: { type: string; [key: string]: unknown };
  _version: string;
}

class InspectorClient {
  readonly events: WireEvent[] = [];
  readonly ws: WebSocket;
  readonly opened: Promise<void>;

  constructor(url: string, options: WebSocket.ClientOptions = {}) {
    this.ws = new WebSocket(url, options);
    this.ws.on("message", (data) => this.events.push(JSON.parse(String(data)) as WireEvent));
    this.opened = new Promise((resolve, reject) => {
      this.ws.once("open", () => resolve());
      this.ws.once("error", reject);
    });
  }

  actor(name: string): WireEvent | undefined {
    return this.events.find((e) => e.type === "@xstate.actor" && e.name === name);
  }

  snapshots(sessionId: string): unknown[] {
    return this.events
      .filter((e) => e.type === "@xstate.snapshot" && e.sessionId === sessionId)
      .map((e) => e.snapshot?.value);
  }

  async waitForSnapshot(sessionId: string, value: unknown): Promise<void> {
    const same = (v: unknown) => JSON.stringify(v) === JSON.stringify(value);
    await waitFor(
      () => this.snapshots(sessionId).some(same) || undefined,
      15_000,
      `a snapshot of ${sessionId} with value ${JSON.stringify(value)}; got ${JSON.stringify(this.snapshots(sessionId))}`,
    );
  }
}

const BIN = join(import.meta.dirname, "../../bin/presence-notify");

describe("start --inspect on prosody", () => {
  const scene = new Scenario("prosody");
  // `inspect-tail`, the terminal view for a machine without stately.ai.
  let tail: ChildProcess;
  let tailOut = "";
  let tailExit: Promise<number | null>;
  let daemon: DaemonProcess;
  let world: WorldServer;
  let url: string;
  let page: string;
  let client: InspectorClient;
  const clients: InspectorClient[] = [];
  const connect = (options?: WebSocket.ClientOptions) => {
    const c = new InspectorClient(url, options);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    await scene.start({ users: ["world@localhost", "alice@localhost"] });
    world = await scene.world("world", "localhost");
    daemon = new DaemonProcess(scene.config(['server_user = "world"']), {}, [
      "--inspect=127.0.0.1:0",
    ]).start();
    scene.daemons.push(daemon);
    const listening = await waitFor(
      () => daemon.logs.find((l) => typeof l.inspector === "string"),
      15_000,
      "the inspector URL in the logs",
    );
    url = String(listening.inspector);
    page = String(listening.page);
    client = connect();
    await client.opened;
    tail = spawn(process.execPath, [BIN, "inspect-tail", "--url", url], { stdio: "pipe" });
    tail.stdout?.on("data", (chunk: Buffer) => {
      tailOut += chunk.toString("utf8");
    });
    tailExit = new Promise((resolve) => tail.on("exit", (code) => resolve(code)));
    await daemon.waitForLog({ msg: "privileges granted by the server" });
    // Connected (it prints the replayed registrations first) before any user acts.
    await waitFor(() => tailOut.includes("+ notifier") || undefined, 10_000, "inspect-tail");
  });
  afterAll(async () => {
    tail?.kill("SIGKILL");
    for (const c of clients) c.ws.terminate();
    await scene.stop();
  });

  it("logs a loopback WebSocket URL and the bridge page", () => {
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    expect(page).toBe(`${url.replace("ws://", "http://")}/`);
  });

  it("registers the supervisor's children with their machine definitions", async () => {
    await waitFor(() => client.actor("notifier"), 10_000, "the notifier's registration");
    const connection = client.actor("connection");
    const notifier = client.actor("notifier");
    expect(client.actor("presence-notify")).toBeDefined();
    expect(JSON.parse(connection?.definition ?? "{}")).toMatchObject({
      id: "connection",
      initial: "connecting",
    });
    // safe-stable-stringify sorts keys.
    expect(Object.keys(JSON.parse(notifier?.definition ?? "{}").states)).toEqual([
      "done",
      "draining",
      "running",
    ]);
    expect(connection?._version).toBe("0.7.2");
    // The connection machine really ran: it reached online on the real Prosody.
    await client.waitForSnapshot(connection?.sessionId ?? "", "online");
  });

  it("registers the resync machine's actor, which settles after the link came up", async () => {
    await waitFor(() => client.actor("resync"), 10_000, "the resync actor's registration");
    const resync = client.actor("resync");
    expect(JSON.parse(resync?.definition ?? "{}")).toMatchObject({ id: "resync", initial: "idle" });
    // The first connect's resync settled (nothing to ping yet) and is idle again.
    await client.waitForSnapshot(resync?.sessionId ?? "", "idle");
    expect(client.snapshots(resync?.sessionId ?? "")).toContainEqual({ settling: "pinging" });
  });

  it("shows a real user's session as a session actor moving through the session machine", async () => {
    const jid = "alice@localhost/phone";
    const sessionId = `session:${jid}`;
    const alice = await scene.online("alice@localhost", "phone");
    await client.waitForSnapshot(sessionId, { available: { show: "online", sync: "confirmed" } });
    const registration = client.events.find(
      (e) => e.type === "@xstate.actor" && e.sessionId === sessionId,
    );
    expect(registration).toMatchObject({ name: jid, snapshot: { value: "offline" } });
    expect(JSON.parse(registration?.definition ?? "{}")).toMatchObject({
      id: "session",
      initial: "offline",
    });
    expect(
      client.events.find((e) => e.type === "@xstate.event" && e.sessionId === sessionId)?.event,
    ).toMatchObject({ type: "presence.available" });

    await alice.send(xml("presence", {}, xml("show", {}, "away")));
    await client.waitForSnapshot(sessionId, { available: { show: "away", sync: "confirmed" } });
    await alice.send(xml("presence", { type: "unavailable" }));
    await client.waitForSnapshot(sessionId, "unavailable");
    const unavailable = client.events.findLast(
      (e) => e.type === "@xstate.event" && e.sessionId === sessionId,
    );
    expect(unavailable?.event).toEqual({ type: "presence.unavailable", cause: "client" });
    // The Inspector and the server user saw the same thing.
    await world.waitFor(jid, ["available", "unavailable"]);
  });

  it("gives a client that connects late every live actor in its current state", async () => {
    const late = connect();
    await late.opened;
    await waitFor(() => late.actor("notifier"), 5_000, "the replayed registrations");
    const connection = late.actor("connection");
    // The replay sends every registration first, then every latest snapshot
    // (src/inspect/inspector-server.ts): wait for the snapshots to arrive too.
    await waitFor(
      () =>
        (late.snapshots(connection?.sessionId ?? "").length > 0 &&
          late.snapshots("session:alice@localhost/phone").length > 0) ||
        undefined,
      5_000,
      "the replayed snapshots",
    );
    expect(late.snapshots(connection?.sessionId ?? "")).toEqual(["online"]);
    expect(late.snapshots("session:alice@localhost/phone")).toEqual(["unavailable"]);
  });

  it("serves the bridge page and refuses a WebSocket from another web origin", async () => {
    const html = await (await fetch(page)).text();
    expect(html).toContain("https://stately.ai/inspect");
    const foreign = connect({ origin: "https://attacker.example" });
    await expect(foreign.opened).rejects.toThrow(/401/);
    // The bridge page through an SSH tunnel on another local port is still this
    // machine: the browser sends the tunnel's address as Host and as Origin.
    const tunnelled = connect({
      origin: "http://localhost:18088",
      headers: { host: "localhost:18088" },
    });
    await tunnelled.opened;
    // A page from another port of this machine is another origin.
    const otherPort = connect({ origin: "http://localhost:18088" });
    await expect(otherPort.opened).rejects.toThrow(/401/);
  });

  it("survives a client that breaks the WebSocket protocol", async () => {
    const { port } = new URL(url);
    const socket = connectTcp(Number(port), "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.write(
      "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    await new Promise((resolve) => socket.once("data", resolve));
    // An unmasked client frame: RFC 6455 5.1 says the server must fail the connection.
    socket.write(Buffer.from([0x81, 0x02, 0x68, 0x69]));
    await new Promise((resolve) => socket.once("close", resolve));
    const probe = connect();
    await probe.opened;
    await waitFor(() => probe.actor("notifier"), 5_000, "the daemon still streaming");
  });

  it("prints the same stream as text with inspect-tail", async () => {
    await waitFor(
      () => tailOut.includes("alice@localhost/phone") || undefined,
      5_000,
      `alice in inspect-tail's output:\n${tailOut}`,
    );
    const lines = tailOut.split("\n");
    expect(lines).toContainEqual(expect.stringMatching(/^\+ connection\s+connecting$/));
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^alice@localhost\/phone\s+\{"available":\{"show":"away","sync":"confirmed"\}\}\s+<- presence\.available$/,
      ),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/^alice@localhost\/phone\s+unavailable\s+<- presence\.unavailable$/),
    );
  });

  it("stops the inspector on shutdown", async () => {
    const closed = new Promise<void>((resolve) => client.ws.once("close", () => resolve()));
    expect(await daemon.stop()).toBe(0);
    await closed;
    expect(await tailExit).toBe(0);
    const after = new WebSocket(url);
    await expect(
      new Promise((resolve, reject) => {
        after.once("open", resolve);
        after.once("error", reject);
      }),
    ).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe("start --inspect refusals (before anything starts)", () => {
  const run = (args: string[]) =>
    spawnSync(process.execPath, [BIN, "start", "--config", "/nonexistent.toml", ...args], {
      encoding: "utf8",
      timeout: 20_000,
    });

  it.each([["--inspect=0.0.0.0:8088"], ["--inspect=192.168.1.5:8088"], ["--inspect=nope"]])(
    "exits 64 with a sentence for %s",
    (arg) => {
      const { status, stderr } = run([arg]);
      expect(status).toBe(64);
      expect(stderr).toMatch(/^presence-notify: --inspect=/);
    },
  );

  it("exits 75 with a sentence when the port is taken", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as AddressInfo).port;
    const dir = mkdtempSync(join(tmpdir(), "pn-inspect-"));
    const config = join(dir, "c.toml");
    writeFileSync(
      config,
      '[component]\nservice = "xmpp://127.0.0.1:1"\ndomain = "p.localhost"\nsecret = "s"\n',
    );
    const { status, stderr } = spawnSync(
      process.execPath,
      [BIN, "start", "--config", config, `--inspect=127.0.0.1:${port}`],
      { encoding: "utf8", timeout: 20_000 },
    );
    taken.close();
    rmSync(dir, { recursive: true, force: true });
    expect(status).toBe(75);
    expect(stderr).toMatch(/cannot listen on ws:\/\/127\.0\.0\.1:\d+ for the inspector/);
  });

  it("inspect-tail exits 69 with a sentence when no inspector listens, 64 on a bad URL", () => {
    const down = spawnSync(process.execPath, [BIN, "inspect-tail", "--url", "ws://127.0.0.1:1"], {
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(down.status).toBe(69);
    expect(down.stderr).toMatch(/cannot connect to the inspector at ws:\/\/127\.0\.0\.1:1/);
    const bad = spawnSync(process.execPath, [BIN, "inspect-tail", "--url", "127.0.0.1:1"], {
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(bad.status).toBe(64);
  });
});
