import type { ServerResponse } from "node:http";
import type { Clock } from "../clock.js";

/**
 * `/events`: Server-Sent Events (WHATWG HTML, "Server-sent events"). Each
 * client gets a `snapshot` event at once and then every `intervalMs` while
 * it stays connected; the timer runs only while someone is watching. A
 * snapshot is small (counts and the latest 50 sends), so sending the whole
 * state beats a diff protocol the page would have to replay.
 */
/** Open dashboards at most; each costs a snapshot a second. */
export const MAX_CLIENTS = 32;

export class EventStream {
  readonly #clients = new Set<ServerResponse>();
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
    this.#clients.add(res);
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
    for (const res of this.#clients) res.end();
    this.#clients.clear();
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#clients.size === 0) return;
    this.#timer = this.options.clock.setTimeout(() => {
      this.#timer = undefined;
      const snapshot = this.options.snapshot();
      for (const res of this.#clients) this.#send(res, snapshot);
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
    if (res.writableNeedDrain) return;
    // JSON has no raw line breaks, so one data line carries it.
    res.write(`event: snapshot\ndata: ${JSON.stringify(data)}\n\n`);
  }
}
