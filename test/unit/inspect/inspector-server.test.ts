import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import {
  type InspectorServer,
  startInspectorServer,
} from "../../../src/inspect/inspector-server.js";
import { rawExchange } from "../admin/raw-http.js";

// Who may read the inspector's stream (every session's JID): the bridge page
// of this very origin and non-browser clients, by a name of this machine.

let server: InspectorServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function open(url: string, options: WebSocket.ClientOptions = {}): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, options);
    ws.once("open", () => {
      ws.terminate();
      resolve("open");
    });
    ws.once("unexpected-response", (_req, res) => {
      ws.terminate();
      resolve(String(res.statusCode));
    });
    ws.once("error", (err) => resolve(err.message));
  });
}

describe("the inspector's WebSocket", () => {
  it("refuses a page served from another port of this machine (another origin, not the bridge)", async () => {
    server = await startInspectorServer({ host: "127.0.0.1", port: 0 });
    expect(await open(server.url, { origin: "http://127.0.0.1:3000" })).toBe("401");
    expect(await open(server.url, { origin: "http://localhost:1" })).toBe("401");
  });

  it("refuses a DNS-rebinding page (its own name as Host and Origin)", async () => {
    server = await startInspectorServer({ host: "127.0.0.1", port: 0 });
    const { port } = new URL(server.url);
    const host = `evil.example:${port}`;
    expect(await open(server.url, { origin: `http://${host}`, headers: { host } })).toBe("401");
  });

  it("admits the bridge page's own origin, also through an SSH tunnel, and a client without Origin", async () => {
    server = await startInspectorServer({ host: "127.0.0.1", port: 0 });
    const { host } = new URL(server.url);
    expect(await open(server.url, { origin: `http://${host}` })).toBe("open");
    const tunnel = "localhost:18088";
    expect(await open(server.url, { origin: `http://${tunnel}`, headers: { host: tunnel } })).toBe(
      "open",
    );
    expect(await open(server.url)).toBe("open");
  });
});

describe("the bridge page", () => {
  it("is refused to a DNS-rebinding Host with 421", async () => {
    server = await startInspectorServer({ host: "127.0.0.1", port: 0 });
    const { status, text } = await rawExchange(
      server.page,
      "GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
    );
    expect(status).toBe(421);
    expect(text).toContain("the Host header must name this machine");
  });

  it("posts events to the Stately Inspector's origin only, never to '*', under a strict CSP", async () => {
    server = await startInspectorServer({ host: "127.0.0.1", port: 0 });
    const res = await fetch(server.page);
    const html = await res.text();
    expect(html).toContain('<iframe id="inspector" src="https://stately.ai/inspect">');
    expect(html).not.toContain('"*"');
    expect(html).toContain("postMessage(event, ORIGIN)");
    expect(html).toContain("e.origin !== ORIGIN || e.source !== frame.contentWindow");
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toMatch(/^default-src 'none'; script-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(csp).toContain("frame-src https://stately.ai;");
    expect(csp).toContain("frame-ancestors 'none'");
  });
});
