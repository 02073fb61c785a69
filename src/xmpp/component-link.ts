import { EventEmitter } from "node:events";
import { type Component, component } from "@xmpp/component";
import type { Element } from "@xmpp/xml";
import type { Logger } from "../telemetry/log.js";
import { excerpt, LogLimiter } from "../telemetry/log-limiter.js";
import { PresenceStages } from "../telemetry/presence-stages.js";
import { guardStream, type RefusedStanza } from "./stream-guard.js";

/** What the rest of the daemon needs of the connection: tests give an in-memory one. */
export interface Link {
  readonly domain: string;
  readonly online: boolean;
  send(el: Element): Promise<void>;
  /** Several stanzas in one write, in order; all taken or, on a rejection, none known to be. */
  sendAll?(stanzas: readonly string[]): Promise<void>;
  on(event: "online" | "connecting", fn: () => void): unknown;
  on(event: "offline", fn: (reason: string) => void): unknown;
  on(event: "stanza", fn: (el: Element) => void): unknown;
  on(event: "refused", fn: (refused: RefusedStanza) => void): unknown;
  // biome-ignore lint/suspicious/noExplicitAny: EventEmitter's own listener type.
  off(event: string, fn: (...args: any[]) => void): unknown;
  /**
   * Where each presence's time inside the daemon is counted, stage by stage:
   * the link times read, parse and route; the notifier queue and write.
   */
  readonly stages?: PresenceStages;
}

/**
 * The daemon's one XEP-0114 connection, as the rest of the daemon sees it.
 *
 * Each attempt uses a fresh `@xmpp/component` entity with the library's own
 * fixed 1 s reconnect loop stopped: reconnection (with backoff) belongs to
 * the connection machine under the supervisor, never to both.
 *
 * Events: "connecting" (), "stanza" (el), "online" (), "offline" (reason),
 * "refused" (a stanza too large or too deep, not parsed: `stream-guard.ts`).
 * "connecting" comes before any stanza of the attempt: the server's replay
 * may be parsed before the library reports "online".
 */
export class ComponentLink extends EventEmitter implements Link {
  private entity: Component | undefined;
  private isOnline = false;
  /** Read failures: logged 1st, 2nd, 4th..., across reconnects. */
  private readonly failures = new LogLimiter(4);
  readonly stages = new PresenceStages();

  constructor(
    private readonly options: { service: string; domain: string; secret: string; logger: Logger },
  ) {
    super();
  }

  get domain(): string {
    return this.options.domain;
  }

  get online(): boolean {
    return this.isOnline;
  }

  /** Opens one connection; resolves once the handshake is accepted. */
  async connect(): Promise<void> {
    this.dispose();
    const { service, domain, secret } = this.options;
    const entity = component({ service, domain, password: secret });
    entity.reconnect.stop();
    this.entity = entity;
    bypassMiddleware(entity);
    guardStream(entity, {
      stages: this.stages,
      onRefused: (refused) => {
        if (this.entity === entity) this.emit("refused", refused);
      },
      onOverflow: (pendingBytes) => {
        if (this.entity !== entity) return;
        this.options.logger.error(
          { pendingBytes },
          "the server sent more than the stream guard allows without ending a stanza: closing the connection",
        );
        this.lost(entity, "stanza without end");
      },
      onFailure: (err) => {
        if (this.entity !== entity) return;
        const hit = this.failures.hit("read");
        if (hit.log) {
          this.options.logger.error(
            { err: excerpt((err as Error)?.message ?? String(err)), count: hit.count },
            "reading the server's stream failed: closing the connection",
          );
        }
        this.lost(entity, "stream read failed");
      },
    });
    // IQ requests (pings, disco#info, the snapshot, anything else) are
    // answered by StanzaDispatch (src/app/dispatch.ts), not the library's
    // iq callee: one owner of the answers (bypassMiddleware).
    // Handlers go on before start(): Prosody sends the privilege advertisement
    // and the replay of current presences in the same TCP chunk as <handshake/>.
    entity.on("stanza", (el: Element) => {
      if (this.entity === entity) this.emit("stanza", el);
    });
    entity.on("error", (err: Error) => {
      // Before "online", a failure rejects start() and the connection actor logs it.
      if (this.entity === entity && this.isOnline) {
        this.options.logger.warn({ err: err.message }, "xmpp stream error");
      }
    });
    // xmpp.js leaves Nagle's algorithm on: a notification written while the
    // previous one is unacknowledged would wait for the peer's delayed ACK
    // (up to 40 ms on Linux; bench/pipeline.ts measured the tail).
    entity.on("connect", () => entity.socket?.setNoDelay?.(true));
    entity.on("offline", () => this.lost(entity, "stream closed"));
    entity.on("disconnect", () => this.lost(entity, "socket closed"));
    entity.on("online", () => {
      if (this.entity !== entity) return;
      this.isOnline = true;
      this.emit("online");
    });
    this.emit("connecting");
    try {
      await startEntity(entity);
    } catch (err) {
      if (this.entity === entity) this.dispose();
      throw err;
    }
  }

  /** Sends a stanza; rejects when offline, so the caller keeps it queued. */
  async send(el: Element): Promise<void> {
    const entity = this.entity;
    if (!this.isOnline || !entity) throw new LinkOffline();
    await entity.send(el);
  }

  /** One socket write (one system call) for several serialised stanzas, which all carry their `from`. */
  async sendAll(stanzas: readonly string[]): Promise<void> {
    const entity = this.entity;
    if (!this.isOnline || !entity) throw new LinkOffline();
    await entity.write(stanzas.join(""));
  }

  /** Closes the stream politely (a `</stream>`), then forgets the entity. */
  async close(): Promise<void> {
    const entity = this.entity;
    if (!entity) return;
    this.entity = undefined;
    this.setOffline("closed by the daemon");
    await entity.stop().catch(() => undefined);
    entity.removeAllListeners();
    entity.on("error", () => undefined);
  }

  private lost(entity: Component, reason: string): void {
    if (this.entity !== entity) return;
    this.dispose();
    this.setOffline(reason);
  }

  private setOffline(reason: string): void {
    if (!this.isOnline) return;
    this.isOnline = false;
    this.emit("offline", reason);
  }

  private dispose(): void {
    const entity = this.entity;
    if (!entity) return;
    this.entity = undefined;
    entity.removeAllListeners();
    entity.on("error", () => undefined);
    entity.socket?.destroy();
  }
}

/**
 * `@xmpp/middleware` runs for every incoming element: a context with the
 * stanza's `from` and `to` parsed and unescaped into JID objects, then a
 * koa-compose chain (the library's iq caller and callee, its error
 * handler). None of it concerns a presence, which the router parses and
 * checks itself, and at one presence per transition it cost about 9 % of
 * the daemon's time (bench/pipeline.ts profile). Nor an IQ request: the
 * callee would answer every one StanzaDispatch does not register with it
 * `service-unavailable`, a second answer beside the dispatch's own. So
 * presences and IQ gets/sets skip it; messages and IQ results and errors go
 * through it as before. Left as it is if the library ever installs
 * something else than its one listener.
 */
export function bypassMiddleware(entity: Component): void {
  const listeners = entity.listeners("element");
  const [middleware] = listeners;
  if (listeners.length !== 1 || typeof middleware !== "function") return;
  entity.off("element", middleware as (el: Element) => void);
  entity.on("element", (el: Element) => {
    if (el.name === "presence") return;
    if (el.name === "iq" && el.attrs.type !== "result" && el.attrs.type !== "error") return;
    middleware(el);
  });
}

/**
 * `Connection.start()` of @xmpp/connection 0.13, with its "online" promise
 * handled. The library makes that promise (settled by "online" or "error")
 * before it opens the stream; when opening fails (a reset while the stream
 * header is written), start() rejects with the open's error and the online
 * promise rejects too, on the "error" event, with nothing awaiting it: an
 * unhandled rejection, which ends the process (found by the chaos test: a
 * reconnect meeting a connection reset, exit 70). The same steps here, the
 * online promise always handled.
 */
export async function startEntity(entity: Component): Promise<void> {
  if (entity.status !== "offline") throw new Error("Connection is not offline");
  const { service, domain, lang } = entity.options;
  await entity.connect(service);
  let settle = () => {};
  const online = new Promise<void>((resolve, reject) => {
    const onOnline = () => {
      settle();
      resolve();
    };
    const onError = (err: unknown) => {
      settle();
      reject(err);
    };
    settle = () => {
      entity.off("online", onOnline);
      entity.off("error", onError);
    };
    entity.once("online", onOnline);
    entity.once("error", onError);
  });
  online.catch(() => undefined);
  try {
    await entity.open(lang === undefined ? { domain } : { domain, lang });
  } catch (err) {
    settle();
    throw err;
  }
  await online;
}

export class LinkOffline extends Error {
  readonly _tag = "LinkOffline";
  constructor() {
    super("the XMPP connection is down");
  }
}
