import { afterEach, describe, expect, it } from "vitest";
import { MAX_CLIENTS } from "../../../src/admin/events.js";
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
