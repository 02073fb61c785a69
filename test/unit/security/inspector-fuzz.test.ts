import { connect } from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import {
  type InspectorServer,
  startInspectorServer,
} from "../../../src/inspect/inspector-server.js";
import { rawExchange } from "../admin/raw-http.js";

// Item 1 of issue #14, the inspector's listener: the real server (HTTP page
// and WebSocket upgrade on 127.0.0.1, port 0) gets raw bytes over TCP, and
// after every run still serves its page and streams to a WebSocket client;
// nothing escapes as an uncaught exception.

let server: InspectorServer;
let host: string;
const escaped: unknown[] = [];
const onEscape = (err: unknown) => escaped.push(err);

beforeAll(async () => {
  process.on("uncaughtException", onEscape);
  process.on("unhandledRejection", onEscape);
  server = await startInspectorServer({ host: "127.0.0.1", port: 0 });
  host = new URL(server.url).host;
});
afterAll(async () => {
  await server.close();
  process.off("uncaughtException", onEscape);
  process.off("unhandledRejection", onEscape);
});

const EVENT = {
  type: "@xstate.event",
  sessionId: "probe",
  event: { type: "probe" },
  _version: "1",
} as never;

async function stillAlive(): Promise<void> {
  const page = await rawExchange(
    server.page,
    `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
  );
  expect(page.status, page.text.slice(0, 200)).toBe(200);
  const got = await new Promise<string>((resolve) => {
    const ws = new WebSocket(server.url);
    ws.once("open", () => server.send(EVENT));
    ws.once("message", (data) => {
      ws.terminate();
      resolve(String(data));
    });
    ws.once("error", (err) => resolve(err.message));
  });
  expect(JSON.parse(got)).toMatchObject({ sessionId: "probe" });
  expect(escaped).toEqual([]);
}

/** An upgrade the server accepts, then `frames` as raw bytes on the open WebSocket. */
function afterUpgrade(frames: Uint8Array): Promise<void> {
  const [hostname, port] = [new URL(server.url).hostname, Number(new URL(server.url).port)];
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port });
    const done = () => {
      socket.destroy();
      resolve();
    };
    socket.once("connect", () =>
      socket.write(
        `GET / HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
      ),
    );
    socket.once("data", () => {
      socket.write(frames);
      setTimeout(done, 10);
    });
    socket.on("error", done);
    socket.on("close", done);
  });
}

const HEADER = fc.oneof(
  fc.constantFrom(
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Connection: upgrade, keep-alive",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Key: !!",
    "Sec-WebSocket-Version: 13",
    "Sec-WebSocket-Version: 99999999999",
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=99",
    "Sec-WebSocket-Protocol: ,,,",
    "Origin: null",
    "Origin: http://evil.example",
    "Origin: http://[::1",
    `Origin: http://${"o".repeat(5_000)}`,
    "Host: evil.example",
    "Host: [::1",
    "Content-Length: 5",
  ),
  fc
    .tuple(fc.string({ maxLength: 16 }), fc.string({ unit: "binary", maxLength: 64 }))
    .map(([k, v]) => `${k}: ${v}`),
);
const TARGET = fc.oneof(
  fc.constantFrom("/", "//a:99999", "*", "http://x", "/?%", "/%zz"),
  fc.string({ unit: "binary", maxLength: 64 }).map((s) => `/${s}`),
);

describe("the inspector listener, fuzzed over real sockets", () => {
  it("survives arbitrary bytes", { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2_048 }), async (bytes) => {
        await rawExchange(server.page, bytes, 20);
        await stillAlive();
      }),
      { numRuns: 100 },
    );
  });

  it("survives structured upgrade requests", { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("GET", "POST", "HEAD", "OPTIONS"),
        TARGET,
        fc.array(HEADER, { maxLength: 10 }),
        fc.boolean(),
        async (method, target, headers, withHost) => {
          const lines = [`${method} ${target} HTTP/1.1`, ...(withHost ? [`Host: ${host}`] : [])];
          await rawExchange(server.page, `${[...lines, ...headers].join("\r\n")}\r\n\r\n`, 20);
          await stillAlive();
        },
      ),
      { numRuns: 100 },
    );
  });

  it("survives arbitrary frames on an open WebSocket", { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 1_024 }), async (frames) => {
        await afterUpgrade(frames);
        await stillAlive();
      }),
      { numRuns: 100 },
    );
  });
});
