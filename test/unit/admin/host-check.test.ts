import { afterEach, describe, expect, it } from "vitest";
import { loopbackHost } from "../../../src/admin/host-header.js";
import { pathOf } from "../../../src/admin/server.js";
import { rawExchange } from "./raw-http.js";
import { adminScene } from "./setup.js";

// DNS rebinding: a page on evil.example whose name was made to resolve to
// 127.0.0.1 reaches the loopback admin listener as a same-origin page, with
// its own name in Host. The listener answers only Host values naming this machine.

type Scene = Awaited<ReturnType<typeof adminScene>>;
let scene: Scene | undefined;
afterEach(async () => {
  await scene?.stop();
  scene = undefined;
});

const get = (s: Scene, path: string, host: string) =>
  rawExchange(s.admin.url, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);

describe("the Host check on a loopback listener", () => {
  it("refuses a DNS-rebinding Host (another name) with 421 and a sentence, on every path", async () => {
    scene = await adminScene();
    const s = scene;
    const port = new URL(s.admin.url).port;
    for (const path of ["/status", "/events", "/metrics", "/healthz", "/"]) {
      const { status, text } = await get(s, path, `evil.example:${port}`);
      expect(status, path).toBe(421);
      expect(text).toContain("the Host header must name this machine");
    }
    expect(s.service.counters.get("admin_requests_wrong_host")).toBe(5);
  });

  it("answers localhost, 127.0.0.1 and [::1], with any port (an SSH tunnel's own)", async () => {
    scene = await adminScene();
    const s = scene;
    const port = new URL(s.admin.url).port;
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, "[::1]:9000", "LOCALHOST"]) {
      expect((await get(s, "/healthz", host)).status, host).toBe(200);
    }
  });
});

describe("loopbackHost", () => {
  it.each([
    ["localhost:1", true],
    ["127.0.0.1", true],
    ["127.9.9.9:80", true],
    ["[::1]:80", true],
    ["[::ffff:127.0.0.1]", true],
    ["daemon.internal:80", true],
    ["evil.example", false],
    ["localhost.evil.example", false],
    ["127.0.0.1.nip.io", false],
    ["0.0.0.0", false],
    ["", false],
    ["[::1", false],
    ["::1", false],
  ])("%s: %s", (header, expected) => {
    expect(loopbackHost(header, "daemon.internal")).toBe(expected);
  });
});

describe("pathOf", () => {
  it.each([
    ["/status?x=1", "/status"],
    ["/a#b", "/a"],
    ["http://localhost:1/metrics", "/metrics"],
    ["//a:99999", undefined],
    ["*", undefined],
    ["http://x:99999/", undefined],
    ["status", undefined],
  ])("%s: %s", (target, expected) => {
    expect(pathOf(target)).toBe(expected);
  });
});
