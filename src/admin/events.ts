import type { ServerResponse } from "node:http";
import type { Clock } from "../otp/clock.js";

/**
 * `/events`: Server-Sent Events (WHATWG HTML, "Server-sent events"). Each
 * client gets a `snapshot` event at once and then every `intervalMs` while
 * it stays connected; the timer runs only while someone is watching. A
 * snapshot is small (counts and the latest 50 sends), so sending the whole
 * state beats a diff protocol the page would have to replay.
 */
/** Open dashboards at most; each costs a snapshot a second. */
export const MAX_CLIENTS = 32;

/**
 * A stream ends after this long; the browser reconnects by itself (`retry`),
 * so a dashboard notices nothing, but a slot held by a client that went away
 * without closing (a suspended laptop, a half-open connection) comes back.
 */
export const MAX_STREAM_MS = 15 * 60_000;

/**
 * A client that has not taken the last snapshot for this long is cut off: it
 * holds a slot and a snapshot of memory, and is not reading anyway.
 */
export const STALL_MS = 30_000;

interface Client {
  readonly openedAt: number;
  /** When it first had a snapshot still unsent at a tick; undefined while it keeps up. */
  laggingSince: number | undefined;
}

export class EventStream {
  readonly #clients = new Map<ServerResponse, Client>();
  #timer: unknown;

  constructor(
    private readonly options: {
      readonly clock: Clock;
      readonly intervalMs: number;
      readonly snapshot: () => unknown;
    },
  ) {}

  get clients(): number {
    return this.#clients.size;
  }

  /** Starts a stream on `res`; false (nothing written) when MAX_CLIENTS already watch. */
  attach(res: ServerResponse): boolean {
    if (this.#clients.size >= MAX_CLIENTS) return false;
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      connection: "keep-alive",
      // Ask a reverse proxy (nginx) not to buffer the stream.
      "x-accel-buffering": "no",
    });
    // A browser reconnects by itself after a drop; tell it how soon.
    res.write("retry: 2000\n\n");
    this.#clients.set(res, { openedAt: this.options.clock.now(), laggingSince: undefined });
    res.on("close", () => {
      this.#clients.delete(res);
      if (this.#clients.size === 0) this.#stop();
    });
    this.#send(res, this.options.snapshot());
    this.#schedule();
    return true;
  }

  /** Ends every stream (the listener is closing). */
  close(): void {
    this.#stop();
    for (const res of this.#clients.keys()) res.end();
    this.#clients.clear();
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#clients.size === 0) return;
    this.#timer = this.options.clock.setTimeout(() => {
      this.#timer = undefined;
      const now = this.options.clock.now();
      const snapshot = this.options.snapshot();
      for (const [res, client] of this.#clients) {
        if (!res.writableNeedDrain) client.laggingSince = undefined;
        else client.laggingSince ??= now;
        if (now - client.openedAt >= MAX_STREAM_MS) res.end();
        else if (client.laggingSince !== undefined && now - client.laggingSince >= STALL_MS) {
          res.destroy();
        }
        this.#send(res, snapshot);
      }
      this.#schedule();
    }, this.options.intervalMs);
  }

  #stop(): void {
    if (this.#timer === undefined) return;
    this.options.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #send(res: ServerResponse, data: unknown): void {
    // A client that has not read the last one skips this one: a stalled
    // dashboard must not pile snapshots up in the daemon's memory.
    if (res.writableNeedDrain || res.writableEnded || res.destroyed) return;
    // JSON has no raw line breaks, so one data line carries it.
    res.write(`event: snapshot\ndata: ${JSON.stringify(data)}\n\n`);
  }
}
