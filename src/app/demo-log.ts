import { Writable } from "node:stream";

/**
 * The daemon's log as the demo shows it: in the demo's words, on its feed.
 *
 * The demo starts Prosody and the daemon in one supervision tree, so the
 * daemon's first connection attempts meet a component port that is not open
 * yet. That is the demo working, not a failure: it is said once, in a
 * sentence, and the connection is announced when it comes. Any other warning
 * or error is shown as one short line; the rest of the log (info) is left out.
 */
export class DemoLog {
  #connected = false;
  #waitingSaid = false;

  /** The demo line for one JSON log line, or undefined to leave it out. */
  line(json: string): string | undefined {
    let entry: { level?: number; msg?: string; err?: string; [key: string]: unknown };
    try {
      entry = JSON.parse(json);
    } catch {
      return json.trim() === "" ? undefined : `  daemon: ${json.trim()}`;
    }
    const level = entry.level ?? 30;
    switch (entry.msg) {
      case "component connected":
        this.#connected = true;
        this.#waitingSaid = false;
        return "  daemon: connected to Prosody as its component";
      case "component connection failed":
        if (this.#connected || this.#waitingSaid)
          return this.#connected ? warning(entry) : undefined;
        this.#waitingSaid = true;
        return `  daemon: Prosody's component port is not open yet (${entry.err ?? "refused"}); trying again until it is`;
      case "component connection lost":
        this.#connected = false;
        return "  daemon: lost the connection to Prosody; reconnecting";
      default:
        return level >= 40 ? warning(entry) : undefined;
    }
  }

  /** A pino destination writing the demo's lines to `out`. */
  destination(out: (line: string) => void): Writable {
    let rest = "";
    return new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        const lines = (rest + chunk.toString("utf8")).split("\n");
        rest = lines.pop() ?? "";
        for (const l of lines) {
          const said = this.line(l);
          if (said !== undefined) out(said);
        }
        done();
      },
    });
  }
}

function warning(entry: { level?: number; msg?: string; err?: string }): string {
  const what = (entry.level ?? 40) >= 50 ? "error" : "warning";
  return `  daemon ${what}: ${entry.msg ?? "(no message)"}${entry.err ? ` (${entry.err})` : ""}`;
}
