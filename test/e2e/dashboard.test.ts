import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminClient, freePort } from "../harness/admin-client.js";
import { Scenario } from "../harness/scenario.js";
import { TcpProxy } from "../harness/tcp-proxy.js";
import type { WorldServer } from "../harness/world.js";

// The dashboard in a real browser (Debian's Chromium, driven by
// playwright-core) in front of the real daemon on a real Prosody: it turns
// green when the daemon is ready, shows a real user's session coming online
// without a reload, and turns red when the XMPP server, then the daemon, goes away.

const TOKEN = "e2e-dashboard-token";
const SCREENSHOTS = join(import.meta.dirname, "../../test-results");

describe("the dashboard on prosody", () => {
  const scene = new Scenario("prosody");
  let proxy: TcpProxy;
  let world: WorldServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    await scene.start({ users: ["world@localhost", "alice@localhost"] });
    world = await scene.world("world");
    proxy = await new TcpProxy(scene.server.componentPort).start(await freePort());
    const daemon = scene.spawnDaemon(
      scene.config(
        ['server_user = "world"'],
        ["[admin]", 'listen = "127.0.0.1:0"', `token = "${TOKEN}"`],
        proxy.port,
      ),
    );
    const admin = await AdminClient.of(daemon, TOKEN);
    browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: ["--headless", "--no-sandbox", "--disable-gpu"],
    });
    // The browser answers the listener's Basic challenge with the token, as a person would.
    const context = await browser.newContext({
      httpCredentials: { username: "ops", password: TOKEN },
      viewport: { width: 1280, height: 900 },
    });
    page = await context.newPage();
    await page.goto(`${admin.url}/`);
  });
  afterAll(async () => {
    await browser?.close();
    await scene.stop();
    await proxy?.stop();
  });

  it("says the daemon is ready, in green, within seconds", async () => {
    const banner = page.locator("#status");
    await expect.poll(() => banner.getAttribute("data-level"), { timeout: 15_000 }).toBe("ok");
    expect(await page.locator("#status-text").textContent()).toMatch(/^READY/);
    const tree = page.locator("#tree li[data-child]");
    await expect
      .poll(() => tree.evaluateAll((items) => items.map((li) => li.getAttribute("data-child"))))
      .toEqual(["presence-notify", "connection", "notifier"]);
    expect(await page.locator('#queues [data-queue="mailbox"] .qsize').textContent()).toBe(
      "0 / 100,000",
    );
  });

  it("shows a real user's session coming online, without a reload", async () => {
    // Anything the page itself holds survives only if it is never reloaded.
    await page.evaluate(() => Object.assign(globalThis, { notReloaded: true }));
    await scene.online("alice@localhost", "phone");
    await world.waitFor("alice@localhost/phone", ["available"]);

    const row = page.locator('#latest tr[data-user="alice@localhost/phone"]');
    await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(1);
    expect(await row.getAttribute("data-presence")).toBe("available");
    await expect.poll(() => page.locator("#t-sessions .value").textContent()).toBe("1");
    expect(await page.locator("#t-sent .value").textContent()).toBe("1");
    expect(await page.locator("#by-domain").textContent()).toContain("localhost1");
    expect(await page.evaluate(() => Reflect.get(globalThis, "notReloaded"))).toBe(true);

    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, "dashboard.png"), fullPage: true });
  });

  it("turns red when the XMPP server goes away", async () => {
    await proxy.stop();
    const banner = page.locator("#status");
    await expect.poll(() => banner.getAttribute("data-level"), { timeout: 10_000 }).toBe("bad");
    expect(await page.locator("#status-text").textContent()).toBe(
      "NOT READY: not connected to the XMPP server",
    );
    await page.screenshot({ path: join(SCREENSHOTS, "dashboard-not-ready.png"), fullPage: true });
  });

  it("says so when the daemon itself is gone", async () => {
    await scene.daemons[0]?.stop();
    await expect
      .poll(() => page.locator("#status-text").textContent(), { timeout: 10_000 })
      .toBe("NO CONTACT: the daemon's admin listener does not answer");
    expect(await page.locator("#status").getAttribute("data-level")).toBe("bad");
  });
});
