import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { StatelyInspectionEvent } from "@statelyai/inspect";
import { WebSocket, WebSocketServer } from "ws";
import { loopbackHost, sameOrigin } from "../admin/host-header.js";
import { LruMap } from "../collections/lru-map.js";
import { type InspectAddress, urlOf } from "./loopback-address.js";

/**
 * The loopback WebSocket endpoint of `start --inspect`: every inspection
 * event, as the JSON text `@statelyai/inspect`'s WebSocket inspector puts on
 * the wire (one Stately inspection event per text frame), goes to every
 * connected client. `GET /` serves a bridge page that embeds the Stately
 * Inspector and forwards the stream into it, as the library's own
 * `createInspectorServer` does.
 *
 * Not that server, nor `createWebSocketInspector`, because: the server
 * listens on every interface and runs `xdg-open`; the client is a second
 * socket to ourselves that retries every 5 s on a timer `stop()` cannot
 * cancel. The events themselves are still made by the library's
 * `createInspector` (see `inspection.ts`).
 *
 * A client that connects late first gets, per actor, its registration and
 * its latest snapshot (bounded, oldest forgotten first; ended actors
 * dropped), so the Inspector shows the daemon as it is now; past events are
 * not replayed.
 */

export interface InspectorServer {
  /** The WebSocket URL, e.g. `ws://127.0.0.1:8088`. */
  readonly url: string;
  /** The bridge page, e.g. `http://127.0.0.1:8088/`. */
  readonly page: string;
  /** Sends one inspection event to every client. */
  send(event: StatelyInspectionEvent): void;
  close(): Promise<void>;
}

/** Bytes queued for one client beyond which it is dropped as not reading. */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

/** Actors (and latest snapshots) remembered for clients that connect later. */
const REMEMBERED_ACTORS = 10_000;

export class InspectorUnavailable extends Error {
  readonly _tag = "InspectorUnavailable";
  constructor(
    readonly address: InspectAddress,
    cause: Error,
  ) {
    super(
      `cannot listen on ${urlOf("ws", address)} for the inspector (${cause.message}); ` +
        "choose another port with --inspect=127.0.0.1:PORT",
    );
    this.name = "InspectorUnavailable";
  }
}

export async function startInspectorServer(address: InspectAddress): Promise<InspectorServer> {
  const http = createServer((req, res) => {
    // Input reaches only this and the upgrade; neither may throw into the process.
    try {
      servePage(req, res, address.host);
    } catch {
      res.destroy();
    }
  });
  await new Promise<void>((resolve, reject) => {
    http.once("error", (err) => reject(new InspectorUnavailable(address, err)));
    http.listen(address.port, address.host, () => resolve());
  });
  const bound = { host: address.host, port: (http.address() as AddressInfo).port };
  // A web page on any site can open a WebSocket to 127.0.0.1. Only our own
  // bridge page (same origin: http:// and the Host it connected to, also
  // through an SSH tunnel on another local port) and non-browser clients,
  // which send no Origin, may read; and only by a name of this machine (a
  // DNS-rebinding page brings its own name as Host and as Origin).
  const wss = new WebSocketServer({
    server: http,
    verifyClient: ({ origin, req }: { origin?: string; req: IncomingMessage }) => {
      try {
        const host = req.headers.host;
        return loopbackHost(host, address.host) && (!origin || sameOrigin(origin, host));
      } catch {
        return false;
      }
    },
  });
  // The latest of each, replayed to a new client; bounded, the least recent forgotten.
  const actors = new LruMap<string, string>(REMEMBERED_ACTORS);
  const snapshots = new LruMap<string, string>(REMEMBERED_ACTORS);
  // An error here must never reach the daemon as an uncaught exception.
  wss.on("error", () => {});
  wss.on("connection", (ws) => {
    ws.on("error", () => ws.terminate());
    for (const text of actors.values()) ws.send(text);
    for (const text of snapshots.values()) ws.send(text);
    // The stream is one-way; what a client says is ignored.
  });
  return {
    url: urlOf("ws", bound),
    page: `${urlOf("http", bound)}/`,
    send(event) {
      const text = JSON.stringify(plain(event, 0, new Set()));
      if (event.type === "@xstate.actor") {
        actors.set(event.sessionId, text);
        snapshots.delete(event.sessionId);
      } else if (event.type === "@xstate.snapshot" && actors.has(event.sessionId)) {
        // An ended actor (a finished connect attempt, a stopped child) is not replayed.
        const ended = (event.snapshot as { status?: string }).status !== "active";
        if (ended) actors.delete(event.sessionId);
        if (ended) snapshots.delete(event.sessionId);
        else snapshots.set(event.sessionId, text);
      }
      for (const client of wss.clients) {
        if (client.readyState !== WebSocket.OPEN) continue;
        // A client that stopped reading would otherwise hold the stream in our heap.
        if (client.bufferedAmount > MAX_BUFFERED_BYTES) client.terminate();
        else client.send(text);
      }
    },
    async close() {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** As the library's serializer: at most 10 levels deep, no cycles, functions dropped. */
const DEPTH_LIMIT = 10;

function plain(value: unknown, depth: number, ancestors: Set<object>): unknown {
  const json =
    typeof value === "object" &&
    value !== null &&
    typeof Reflect.get(value, "toJSON") === "function"
      ? (value as { toJSON(): unknown }).toJSON()
      : value;
  if (typeof json === "bigint") return json.toString();
  if (typeof json === "function" || typeof json === "symbol") return undefined;
  if (typeof json !== "object" || json === null) return json;
  if (ancestors.has(json)) return "[Circular]";
  if (depth >= DEPTH_LIMIT) return Array.isArray(json) ? "[Array]" : "[Object]";
  ancestors.add(json);
  const out = Array.isArray(json)
    ? json.map((item) => plain(item, depth + 1, ancestors) ?? null)
    : Object.fromEntries(
        Object.entries(json).map(([key, item]) => [key, plain(item, depth + 1, ancestors)]),
      );
  ancestors.delete(json);
  return out;
}

function servePage(req: IncomingMessage, res: ServerResponse, configured: string): void {
  const host = req.headers.host;
  if (!loopbackHost(host, configured)) {
    res
      .writeHead(421, { "content-type": "text/plain; charset=utf-8" })
      .end(
        "the Host header must name this machine (localhost, 127.0.0.1 or [::1]): the inspector is on loopback\n",
      );
    return;
  }
  if (req.method !== "GET" || (req.url ?? "/").split("?")[0] !== "/") {
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    return;
  }
  res
    .writeHead(200, {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      "content-security-policy": BRIDGE_CSP,
      "referrer-policy": "no-referrer",
      "x-content-type-options": "nosniff",
    })
    .end(BRIDGE_PAGE);
}

/**
 * The bridge: the Stately Inspector in an iframe, fed over postMessage once
 * it says `@statelyai.connected` (the protocol of the library's
 * `createBrowserReceiver`). It connects back to the host it was loaded from.
 *
 * This is where the events leave this machine's processes: the Inspector is
 * stately.ai's code, running in the browser, and it receives every event
 * (every session's JID). The library's own browser inspector posts to "*";
 * here the target origin is pinned, so a frame navigated elsewhere gets
 * nothing, and only that frame's own window can start the flow. `inspect-tail`
 * is the view that stays on this machine.
 */
const INSPECTOR_ORIGIN = "https://stately.ai";

const BRIDGE_SCRIPT = `
  const ORIGIN = ${JSON.stringify(INSPECTOR_ORIGIN)};
  const frame = document.getElementById("inspector");
  const pending = [];
  let connected = false;
  window.addEventListener("message", (e) => {
    if (e.origin !== ORIGIN || e.source !== frame.contentWindow) return;
    if (e.data && e.data.type === "@statelyai.connected") {
      connected = true;
      for (const event of pending.splice(0)) frame.contentWindow.postMessage(event, ORIGIN);
    }
  });
  const ws = new WebSocket("ws://" + location.host);
  ws.onmessage = (m) => {
    const event = JSON.parse(m.data);
    if (connected) frame.contentWindow.postMessage(event, ORIGIN);
    else pending.push(event);
  };
  ws.onclose = () => { document.title = "presence-notify: inspector disconnected"; };
`;

const BRIDGE_STYLE = "html,body{height:100%;margin:0}iframe{width:100%;height:100%;border:0}";

const hash = (text: string) => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;

/** Exactly this script and style, the Inspector's frame, and the WebSocket back to this origin. */
export const BRIDGE_CSP = [
  "default-src 'none'",
  `script-src ${hash(BRIDGE_SCRIPT)}`,
  `style-src ${hash(BRIDGE_STYLE)}`,
  `frame-src ${INSPECTOR_ORIGIN}`,
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const BRIDGE_PAGE = `<!doctype html>
<html>
<head>
<meta charset="utf-8">
<title>presence-notify: Stately Inspector</title>
<style>${BRIDGE_STYLE}</style>
</head>
<body>
<iframe id="inspector" src="${INSPECTOR_ORIGIN}/inspect"></iframe>
<script>${BRIDGE_SCRIPT}</script>
</body>
</html>
`;
