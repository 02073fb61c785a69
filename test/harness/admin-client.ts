import type { DaemonProcess } from "./daemon.js";

/**
 * The daemon's admin listener, as a scraper or an operator's curl sees it:
 * found through the "admin listening" log line (the daemon binds port 0 in
 * tests), asked over real HTTP, with the bearer token when there is one.
 */
export class AdminClient {
  constructor(
    readonly url: string,
    private readonly token?: string,
  ) {}

  static async of(daemon: DaemonProcess, token?: string): Promise<AdminClient> {
    const line = await daemon.waitForLog({ msg: "admin listening" });
    return new AdminClient(String(line.url), token);
  }

  get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    const auth: Record<string, string> =
      this.token === undefined ? {} : { authorization: `Bearer ${this.token}` };
    return fetch(`${this.url}${path}`, { headers: { ...auth, ...headers } });
  }

  async json<T = Record<string, unknown>>(path: string): Promise<T> {
    return (await (await this.get(path)).json()) as T;
  }

  async metrics(): Promise<string> {
    return (await this.get("/metrics")).text();
  }

  /** Polls until `probe` holds (real time: this is an end-to-end test). */
  async until<T>(
    probe: () => Promise<T | undefined | false>,
    what: string,
    timeoutMs = 15_000,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
      try {
        const value = await probe();
        if (value !== undefined && value !== false) return value;
      } catch (err) {
        last = err;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(
      `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ""}`,
    );
  }
}

/** One sample of a Prometheus exposition, e.g. `presence_notify_sessions{show="online"}`. */
export function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

// A loopback port free right now (for a relay a daemon is told about before it exists).
export { freePort } from "../../src/launcher/ports.js";
