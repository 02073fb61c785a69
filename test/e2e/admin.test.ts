import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminClient, freePort, sample } from "../harness/admin-client.js";
import type { DaemonProcess } from "../harness/daemon.js";
import { Scenario, SERVERS } from "../harness/scenario.js";
import { TcpProxy } from "../harness/tcp-proxy.js";
import type { WorldServer } from "../harness/world.js";

// The admin listener of the real daemon process, on real Prosody and real
// ejabberd: probes, the supervision tree, metrics moved by a real user's
// presence, the token, a port in use, and the listener closed on stop.

const TOKEN = "e2e-admin-token";

describe.each(SERVERS)("the admin listener on %s", (kind) => {
  const scene = new Scenario(kind);
  let proxy: TcpProxy | undefined;
  let componentPort: number;
  let daemon: DaemonProcess;
  let admin: AdminClient;
  let world: WorldServer;

  beforeAll(async () => {
    await scene.start({ users: ["world@localhost", "alice@localhost"] });
    world = await scene.world("world");
    // The daemon is told of a relay that does not exist yet: it cannot connect
    // until the test opens it, so "not ready" is seen for certain.
    componentPort = await freePort();
    const config = scene.config(
      ['server_user = "world"'],
      ["[admin]", 'listen = "127.0.0.1:0"', `token = "${TOKEN}"`],
      componentPort,
    );
    daemon = scene.spawnDaemon(config);
    admin = await AdminClient.of(daemon, TOKEN);
  });
  afterAll(async () => {
    await scene.stop();
    await proxy?.stop();
  });

  it("is alive at once, and ready only after the component connected with its privilege", async () => {
    expect((await admin.get("/healthz")).status).toBe(200);
    const before = await admin.get("/readyz");
    expect(before.status).toBe(503);
    expect(await before.json()).toMatchObject({
      ready: false,
      connected: false,
      reason: "not connected to the XMPP server",
    });

    proxy = await new TcpProxy(scene.server.componentPort).start(componentPort);
    const ready = await admin.until(async () => {
      const res = await admin.get("/readyz");
      return res.status === 200 && res.json();
    }, "/readyz 200");
    expect(ready).toEqual({ ready: true, connected: true, presencePrivilege: true });
    // The log line may trail the HTTP answer through the stdout pipe.
    await daemon.waitForLog({ msg: "privileges granted by the server" });
  });

  it("shows the live supervision tree", async () => {
    const tree = await admin.json("/tree");
    expect(tree).toMatchObject({
      id: "presence-notify",
      status: "running",
      children: [
        { id: "connection", status: "running" },
        { id: "notifier", status: "running", restarts: 0 },
      ],
    });
  });

  it("moves the metrics when a real user comes online", async () => {
    const metric = async (series: string) => sample(await admin.metrics(), series) ?? 0;
    const sentBefore = await metric('presence_notify_notifications_total{outcome="sent"}');
    await scene.online("alice@localhost", "phone");
    await world.waitFor("alice@localhost/phone", ["available"]);
    const text = await admin.until(async () => {
      const t = await admin.metrics();
      const sent = sample(t, 'presence_notify_notifications_total{outcome="sent"}') ?? 0;
      return sent > sentBefore && t;
    }, "notifications sent to grow");
    expect(sample(text, 'presence_notify_sessions{show="online"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'presence_notify_presences_total{outcome="accepted"}')).toBeGreaterThan(0);
    expect(sample(text, "presence_notify_send_latency_seconds_count")).toBeGreaterThan(0);
    expect(sample(text, 'presence_notify_queue_depth{queue="mailbox"}')).toBe(0);
    expect(sample(text, "presence_notify_ready")).toBe(1);
    expect(sample(text, "presence_notify_link_connects_total")).toBe(1);
    expect(text).toMatch(/^presence_notify_process_resident_memory_bytes /m);
    const status = await admin.json<{ latest: { user: string }[] }>("/status");
    expect(status.latest.map((r) => r.user)).toContain("alice@localhost/phone");
  });

  it("demands the token on everything but /healthz, and never logs it", async () => {
    const anonymous = new AdminClient(admin.url);
    expect((await anonymous.get("/healthz")).status).toBe(200);
    for (const path of ["/metrics", "/readyz", "/tree", "/status", "/"]) {
      expect((await anonymous.get(path)).status, path).toBe(401);
    }
    expect((await new AdminClient(admin.url, "wrong").get("/metrics")).status).toBe(401);
    expect((await admin.get("/nope")).status).toBe(404);
    expect((await fetch(`${admin.url}/metrics`, { method: "POST" })).status).toBe(405);
    expect(JSON.stringify(daemon.logs)).not.toContain(TOKEN);
  });

  it("refuses to start a second daemon on the same admin port: exit 75, one clear sentence", async () => {
    const port = new URL(admin.url).port;
    const second = scene.spawnDaemon(
      scene.config(['server_user = "world"'], ["[admin]", `listen = "127.0.0.1:${port}"`]),
    );
    expect(await second.exitCode()).toBe(75);
    expect(second.stderr).toBe(
      `presence-notify: admin.listen http://127.0.0.1:${port}: the port is already in use by another process; choose another port, or stop that process\n`,
    );
  });

  it("refuses a non-loopback listen without a token: exit 78 before binding or connecting", async () => {
    const open = scene.spawnDaemon(
      scene.config(['server_user = "world"'], ["[admin]", 'listen = "0.0.0.0:0"']),
    );
    expect(await open.exitCode()).toBe(78);
    expect(open.stderr).toMatch(
      /^presence-notify: configuration error: admin\.listen \("0\.0\.0\.0:0", from file \S+\) is not a loopback address, and admin\.token is not set/,
    );
    expect(open.logs).toEqual([]);
  });

  it("closes the listener on stop, after the drain", async () => {
    expect(await daemon.stop()).toBe(0);
    await expect(admin.get("/healthz")).rejects.toThrow();
    await daemon.waitForLog({ msg: "stopped" });
    const order = daemon.logs.map((l) => l.msg);
    expect(order.indexOf("stopping: draining queued notifications")).toBeLessThan(
      order.indexOf("stopped"),
    );
  });
});
