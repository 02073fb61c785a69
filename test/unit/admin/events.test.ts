import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { MAX_CLIENTS, MAX_STREAM_MS, STALL_MS } from "../../../src/admin/events.js";
import type { Snapshot } from "../../../src/admin/snapshot.js";
import { pseudonymiser } from "../../../src/protocol/pseudonym.js";
import { settle } from "../../support/memory-link.js";
import { available } from "../pipeline/setup.js";
import { ADVERTISEMENT, adminScene, readEvents } from "./setup.js";

// What the dashboard is fed: /status (one snapshot) and /events (SSE), and
// the page itself. Time between snapshots is the simulated clock's.

type Scene = Awaited<ReturnType<typeof adminScene>>;
let scene: Scene | undefined;
afterEach(async () => {
  await scene?.stop();
  scene = undefined;
});

describe("/status", () => {
  it("is the daemon's state at a glance: readiness, sessions, queues, tree, latest sends", async () => {
    scene = await adminScene();
    scene.server.connect();
    scene.server.deliver(ADVERTISEMENT);
    scene.server.deliver(available("alice@localhost/phone"));
    scene.server.deliver(available("dave@example.test/home", "<show>away</show>"));
    scene.clock.increment(40);
    await settle();
    const s = (await (await scene.get("/status")).json()) as Snapshot;
    expect(s.status.ready).toBe(true);
    expect(s.sessions).toMatchObject({
      total: 2,
      users: 2,
      byDomain: { "example.test": 1, localhost: 1 },
    });
    expect(s.sessions.byShow).toMatchObject({ online: 1, away: 1 });
    expect(s.queues).toEqual({
      mailbox: { size: 0, capacity: 100 },
      held: { size: 0, capacity: 100 },
    });
    expect(s.notifications).toMatchObject({ queued: 2, sent: 2 });
    expect(s.tree.children?.map((c) => c.id)).toEqual(["flaky", "notifier"]);
    expect(s.latest.map((r) => [r.user, r.presence, r.to])).toEqual([
      ["dave@example.test/home", "available", "world@example.test"],
      ["alice@localhost/phone", "available", "world@localhost"],
    ]);
  });

  it("shows pseudonyms instead of JIDs when admin.pseudonymise is on", async () => {
    scene = await adminScene({ pseudonymise: true });
    scene.server.connect();
    scene.server.deliver(available("alice@localhost/phone"));
    await settle();
    const text = await (await scene.get("/status")).text();
    expect(text).not.toContain("alice");
    expect(text).not.toContain("phone");
    const s = JSON.parse(text) as Snapshot;
    expect(s.latest[0]?.user).toMatch(/^u-[0-9a-f]{10}@localhost\/r-[0-9a-f]{6}$/);
    expect(s.latest[0]?.to).toMatch(/^u-[0-9a-f]{10}@localhost$/);
  });
});

describe("/events", () => {
  it("sends a snapshot at once, then one a second while someone watches", async () => {
    scene = await adminScene();
    const s = scene;
    s.server.connect();
    const events = (await readEvents(`${s.admin.url}/events`, 2, () => {
      s.server.deliver(available("alice@localhost/phone"));
      // The next snapshot is due a second later, on the daemon's clock.
      setImmediate(() => s.clock.increment(1_000));
    })) as Snapshot[];
    expect(events[0]?.sessions.total).toBe(0);
    expect(events[1]?.sessions.total).toBe(1);
    expect(events[1]?.at).toBe(new Date(1_000).toISOString());
  });

  it("ends the streams when the listener closes", async () => {
    scene = await adminScene();
    const res = await scene.get("/events");
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const reader = res.body?.getReader();
    await reader?.read();
    await scene.stop();
    scene = undefined;
    let done = false;
    while (!done) done = (await reader?.read())?.done ?? true;
    expect(done).toBe(true);
  });
});

describe("/events, bounded", () => {
  it(`refuses a stream past ${MAX_CLIENTS} open ones`, async () => {
    scene = await adminScene();
    const s = scene;
    const open = await Promise.all(Array.from({ length: MAX_CLIENTS }, () => s.get("/events")));
    expect(open.every((r) => r.status === 200)).toBe(true);
    const refused = await s.get("/events");
    expect(refused.status).toBe(503);
    expect(await refused.json()).toEqual({ error: "too many open event streams" });
    for (const r of open) await r.body?.cancel();
  });

  it(`lets a new dashboard in once ${MAX_CLIENTS} idle streams have lived MAX_STREAM_MS (they no longer hold every slot forever)`, async () => {
    scene = await adminScene();
    const s = scene;
    const open = await Promise.all(Array.from({ length: MAX_CLIENTS }, () => s.get("/events")));
    expect((await s.get("/events")).status).toBe(503);
    s.clock.increment(MAX_STREAM_MS);
    // Each ended stream reaches its reader as the end of the body.
    for (const r of open) {
      const reader = r.body?.getReader();
      let done = false;
      while (!done) done = (await reader?.read())?.done ?? true;
    }
    const next = await s.get("/events");
    expect(next.status).toBe(200);
    await next.body?.cancel();
  });

  it("cuts off a client that stopped reading for STALL_MS instead of keeping its slot and buffer", {
    timeout: 30_000,
  }, async () => {
    scene = await adminScene();
    const s = scene;
    s.server.connect();
    // Big snapshots (the latest 50 sends, long resources) fill the socket buffers sooner.
    for (let i = 0; i < 50; i++)
      s.server.deliver(available(`u${i}@localhost/${"r".repeat(1000)}${i}`));
    await settle();
    const { hostname, port } = new URL(s.admin.url);
    const socket = connect({ host: hostname, port: Number(port) });
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.write(`GET /events HTTP/1.1\r\nHost: ${hostname}\r\n\r\n`);
    socket.pause();
    const ended = new Promise<boolean>((resolve) => {
      socket.once("end", () => resolve(true));
      socket.once("error", () => resolve(true));
      setTimeout(() => resolve(false), 10_000);
    });
    // Ten minutes of the daemon's clock, a snapshot a second; the client reads none.
    for (let t = 0; t < 600; t++) {
      s.clock.increment(1_000);
      await new Promise((resolve) => setImmediate(resolve));
    }
    socket.resume();
    expect(STALL_MS).toBeLessThan(600_000);
    expect(await ended).toBe(true);
    socket.destroy();
  });
});

describe("the dashboard page", () => {
  it("is one self-contained page whose CSP admits its own script and style only", async () => {
    scene = await adminScene();
    const res = await scene.get("/");
    expect(res.status).toBe(200);
    const html = await res.text();
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toMatch(/default-src 'none'; script-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(html).toContain('new EventSource("events")');
    expect(html).not.toMatch(/<script src|<link /);
  });
});

describe("pseudonyms", () => {
  it("are stable for one key, differ across keys, keep the domain and share the user part", () => {
    const a = pseudonymiser(Buffer.alloc(32, 1));
    const b = pseudonymiser(Buffer.alloc(32, 2));
    expect(a("alice@localhost/phone")).toBe(a("alice@localhost/phone"));
    expect(a("alice@localhost/phone")).not.toBe(b("alice@localhost/phone"));
    const [phoneUser] = a("alice@localhost/phone").split("/");
    const [deskUser] = a("alice@localhost/desk").split("/");
    expect(phoneUser).toBe(deskUser);
    expect(a("alice@localhost/phone")).not.toBe(a("alice@localhost/desk"));
    expect(a("alice@localhost")).toBe(phoneUser);
    expect(a("localhost")).toBe("localhost");
  });
});
