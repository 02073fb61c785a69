import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { healthzRequest, rawExchange } from "../admin/raw-http.js";
import { adminScene } from "../admin/setup.js";

// Item 1 of issue #14: no input on the admin listener stops the daemon. The
// real listener (startAdmin on 127.0.0.1, port 0) gets raw bytes over TCP;
// after every run it must still answer a well-formed GET /healthz, and
// nothing may escape as an uncaught exception.

type Scene = Awaited<ReturnType<typeof adminScene>>;
let scene: Scene;
let host: string;
const escaped: unknown[] = [];
const onEscape = (err: unknown) => escaped.push(err);

beforeAll(async () => {
  process.on("uncaughtException", onEscape);
  process.on("unhandledRejection", onEscape);
  scene = await adminScene();
  host = new URL(scene.admin.url).host;
});
afterAll(async () => {
  await scene.stop();
  process.off("uncaughtException", onEscape);
  process.off("unhandledRejection", onEscape);
});

async function stillAlive(): Promise<void> {
  const { status, text } = await rawExchange(scene.admin.url, healthzRequest(host));
  expect(status, text).toBe(200);
  expect(escaped).toEqual([]);
}

describe("a malformed request target", () => {
  it.each([
    "//a:99999",
    "//",
    "//[::1",
    "http://x",
    "http://x:99999/healthz",
    "*",
    "%",
    "/%zz",
    "/healthz?%",
    "/constructor",
    "/__proto__",
    "/toString",
  ])("%s does not kill the process", async (target) => {
    const { status } = await rawExchange(
      scene.admin.url,
      `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
    );
    // Answered (400 for a target that is no path, 404 or 200 for one that is), never 500.
    expect(status).toBeDefined();
    expect(status).not.toBe(500);
    await stillAlive();
  });
});

const TARGETS = fc.oneof(
  fc.constantFrom("//a:99999", "http://x", "*", "/healthz", "/status", "/events", "/%", "/%zz"),
  fc.string({ unit: "binary", maxLength: 64 }).map((s) => `/${s}`),
  fc.string({ maxLength: 64 }).map((s) => `//${s}`),
  fc.nat({ max: 20_000 }).map((n) => `/${"a".repeat(n)}`),
  fc.webUrl(),
);
const METHODS = fc.constantFrom("GET", "HEAD", "POST", "OPTIONS", "CONNECT", "G\u00e9T", "");
const HEADER = fc.oneof(
  fc.constantFrom(
    `Host: ${"x".repeat(10)}`,
    "Host: evil.example",
    "Host: 127.0.0.1:1",
    "Host: [::1",
    "Host: localhost:99999",
    "Authorization: Bearer",
    "Authorization: Basic %%%",
    "Content-Length: -1",
    "Content-Length: 99999999999999999999",
    "Transfer-Encoding: chunked",
    "Transfer-Encoding: chunked, identity",
    "Expect: 100-continue",
    "Upgrade: websocket",
    "Connection: upgrade",
  ),
  fc
    .tuple(fc.string({ maxLength: 16 }), fc.string({ unit: "binary", maxLength: 64 }))
    .map(([k, v]) => `${k}: ${v}`),
  fc.nat({ max: 20_000 }).map((n) => `X-Big: ${"b".repeat(n)}`),
);

describe("fuzzed over real sockets", () => {
  it("survives arbitrary bytes", { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2_048 }), async (bytes) => {
        await rawExchange(scene.admin.url, bytes, 20);
        await stillAlive();
      }),
      { numRuns: 300 },
    );
  });

  it("survives structured request lines and headers", { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(
        METHODS,
        TARGETS,
        fc.array(HEADER, { maxLength: 8 }),
        fc.boolean(),
        async (method, target, headers, withHost) => {
          const lines = [`${method} ${target} HTTP/1.1`, ...(withHost ? [`Host: ${host}`] : [])];
          const request = `${[...lines, ...headers, "Connection: close"].join("\r\n")}\r\n\r\n`;
          await rawExchange(scene.admin.url, request, 20);
          await stillAlive();
        },
      ),
      { numRuns: 300 },
    );
  });
});
