import { afterEach, describe, expect, it } from "vitest";
import { classify } from "../../../src/admin/counter-families.js";
import { settle } from "../../support/memory-link.js";
import { available, unavailable } from "../pipeline/setup.js";
import { ADVERTISEMENT, adminScene } from "./setup.js";

// /metrics: Prometheus text from the daemon's own state, read at scrape time.

type Scene = Awaited<ReturnType<typeof adminScene>>;
let scene: Scene | undefined;
afterEach(async () => {
  await scene?.stop();
  scene = undefined;
});

async function scrape(s: Scene): Promise<string> {
  const res = await s.get("/metrics");
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

/** The value of one sample, e.g. `presence_notify_sessions{show="online"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("/metrics", () => {
  it("exports process metrics, with the prefix, from a registry of its own", async () => {
    scene = await adminScene();
    const text = await scrape(scene);
    expect(text).toMatch(/^presence_notify_process_cpu_seconds_total /m);
    expect(text).toMatch(/^presence_notify_nodejs_heap_size_used_bytes /m);
    // Outcomes worth alerting on are there before they first happen.
    expect(sample(text, 'presence_notify_notifications_total{outcome="failed"}')).toBe(0);
    expect(sample(text, 'presence_notify_notifications_total{outcome="expired"}')).toBe(0);
    expect(sample(text, "presence_notify_ready")).toBe(0);
    expect(sample(text, "presence_notify_reconnects_total")).toBe(0);
    expect(text).toMatch(
      /^# HELP presence_notify_reconnects_total Times the component link came up again/m,
    );
  });

  it("moves with real presences: sessions, presences, notifications, latency", async () => {
    scene = await adminScene();
    scene.server.connect();
    scene.server.deliver(ADVERTISEMENT);
    scene.server.deliver(available("alice@localhost/phone"));
    scene.server.deliver(available("bob@example.test/desk", "<show>dnd</show>"));
    scene.server.deliver(available("carol@localhost/x"));
    scene.server.deliver(unavailable("carol@localhost/x"));
    scene.clock.increment(250);
    await settle();
    const text = await scrape(scene);
    expect(sample(text, 'presence_notify_sessions{show="online"}')).toBe(1);
    expect(sample(text, 'presence_notify_sessions{show="dnd"}')).toBe(1);
    expect(sample(text, "presence_notify_users")).toBe(2);
    expect(sample(text, 'presence_notify_presences_total{outcome="accepted"}')).toBe(4);
    expect(sample(text, 'presence_notify_notifications_total{outcome="queued"}')).toBe(4);
    expect(sample(text, 'presence_notify_notifications_total{outcome="sent"}')).toBe(4);
    expect(sample(text, 'presence_notify_queue_depth{queue="mailbox"}')).toBe(0);
    expect(sample(text, 'presence_notify_queue_capacity{queue="mailbox"}')).toBe(100);
    expect(sample(text, 'presence_notify_queue_depth{queue="held"}')).toBe(0);
    expect(sample(text, "presence_notify_send_latency_seconds_count")).toBe(4);
    expect(sample(text, "presence_notify_connected")).toBe(1);
    expect(sample(text, "presence_notify_ready")).toBe(1);
    expect(sample(text, "presence_notify_link_connects_total")).toBe(1);
    // Metrics are about the daemon, never about a person (SECURITY.md).
    expect(text).not.toMatch(/alice|bob|carol|@/);
  });

  it("shows mail piling up while the link is down, and bounces by outcome", async () => {
    scene = await adminScene();
    scene.server.connect();
    scene.server.offline.add("world@localhost");
    scene.server.deliver(available("alice@localhost/phone"));
    await settle();
    scene.server.drop();
    scene.server.deliver(available("bob@localhost/desk"));
    await settle();
    const text = await scrape(scene);
    expect(sample(text, 'presence_notify_queue_depth{queue="mailbox"}')).toBe(1);
    expect(sample(text, 'presence_notify_queue_depth{queue="held"}')).toBe(1);
    expect(sample(text, 'presence_notify_notifications_total{outcome="bounced"}')).toBe(1);
    expect(sample(text, "presence_notify_connected")).toBe(0);
  });

  it("counts restarts per child of the supervision tree", async () => {
    scene = await adminScene();
    scene.supervisor.send("flaky", { type: "crash" });
    await settle();
    scene.supervisor.send("flaky", { type: "crash" });
    await settle();
    const text = await scrape(scene);
    expect(
      sample(
        text,
        'presence_notify_child_restarts_total{supervisor="presence-notify",child="flaky"}',
      ),
    ).toBe(2);
    expect(
      sample(text, 'presence_notify_child_running{supervisor="presence-notify",child="notifier"}'),
    ).toBe(1);
  });

  it("times a presence through each stage, on the injected clock", async () => {
    scene = await adminScene();
    const stage = (text: string, s: string, part: string) =>
      sample(text, `presence_notify_presence_stage_seconds_${part}{stage="${s}"}`);
    const before = await scrape(scene);
    for (const s of ["read", "parse", "route", "queue", "write"]) {
      expect(stage(before, s, "count")).toBe(0);
    }
    scene.server.connect();
    scene.server.deliver(ADVERTISEMENT);
    scene.server.deliver(available("alice@localhost/phone"));
    // The notifier takes the notification in a later microtask: 5 ms in the mailbox.
    scene.clock.increment(5);
    await settle();
    const text = await scrape(scene);
    expect(text).toMatch(/^# TYPE presence_notify_presence_stage_seconds histogram$/m);
    // One presence read, parsed and routed (the advertisement is no presence);
    // one notification queued and written.
    for (const s of ["read", "parse", "route", "queue", "write"]) {
      expect(stage(text, s, "count")).toBe(1);
      expect(
        sample(text, `presence_notify_presence_stage_seconds_bucket{le="+Inf",stage="${s}"}`),
      ).toBe(1);
    }
    expect(stage(text, "queue", "sum")).toBeCloseTo(0.005, 9);
    expect(stage(text, "route", "sum")).toBe(0);
    // Buckets are cumulative and `le` inclusive: 5 ms is in le=0.005, not le=0.0025.
    const bucket = (le: string) =>
      sample(text, `presence_notify_presence_stage_seconds_bucket{le="${le}",stage="queue"}`);
    expect(bucket("0.0025")).toBe(0);
    expect(bucket("0.005")).toBe(1);
    expect(bucket("60")).toBe(1);
    // A presence that notifies nobody is read, parsed and routed, never queued.
    scene.server.deliver(available("world@localhost/desk"));
    await settle();
    const after = await scrape(scene);
    expect(stage(after, "route", "count")).toBe(2);
    expect(stage(after, "queue", "count")).toBe(1);
  });

  it("exports a counter nobody declared, under its own name, from its first scrape", async () => {
    scene = await adminScene();
    expect(await scrape(scene)).not.toMatch(/receipts_timed_out/);
    scene.service.counters.inc("receipts_timed_out");
    scene.service.counters.inc("config_reload_failures", 2);
    const text = await scrape(scene);
    expect(text).toMatch(/^# TYPE presence_notify_receipts_timed_out_total counter$/m);
    expect(sample(text, "presence_notify_receipts_timed_out_total")).toBe(1);
    expect(sample(text, "presence_notify_config_reload_failures_total")).toBe(2);
    scene.service.counters.inc("receipts_timed_out");
    expect(sample(await scrape(scene), "presence_notify_receipts_timed_out_total")).toBe(2);
  });
});

describe("counter names", () => {
  it("fold into labelled families by prefix, or stand alone", () => {
    expect(classify("notifications_sent")).toMatchObject({ kind: "family", outcome: "sent" });
    expect(classify("presence_filtered")).toMatchObject({ kind: "family", outcome: "filtered" });
    expect(classify("liveness_gone")).toMatchObject({ kind: "family", outcome: "gone" });
    expect(classify("liveness_pings")).toEqual({
      kind: "own",
      metric: "presence_notify_liveness_pings_total",
    });
    expect(classify("odd-name.x")).toEqual({
      kind: "own",
      metric: "presence_notify_odd_name_x_total",
    });
  });
});
