import { type DestinationStream, type Logger, type LoggerOptions, pino } from "pino";
import type { JidView } from "./protocol/pseudonym.js";

export type { Logger } from "pino";

/**
 * The daemon's one logger factory. Secrets never reach a log line: any key
 * named like one is censored, wherever it sits in the object.
 *
 * With `jids` (`log.redact_jids`), the fields that carry a JID (`user`, `to`,
 * `from`, `session`, `jid`) are written as `jids(value)`, a keyed pseudonym,
 * and stanza excerpts are dropped, so a log can leave the host without the
 * users' addresses.
 */
const SECRET_FIELDS = ["secret", "password", "token"];
const JID_FIELDS = ["user", "to", "from", "session", "jid"];

export function createLogger(
  options: { level?: string; name?: string; jids?: JidView } = {},
  destination?: DestinationStream,
): Logger {
  const { jids } = options;
  const secrets = SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]);
  const redacted = jids ? [...JID_FIELDS, "stanza", ...JID_FIELDS.map((f) => `*.${f}`)] : [];
  const opts: LoggerOptions = {
    name: options.name ?? "presence-notify",
    level: options.level ?? "info",
    redact: {
      paths: [...secrets, ...redacted],
      censor: (value: unknown, path: string[]) => {
        const field = path.at(-1) ?? "";
        if (SECRET_FIELDS.includes(field)) return "[redacted]";
        if (field === "stanza") return "[redacted stanza]";
        return jids && typeof value === "string" ? jids(value) : value;
      },
    },
  };
  return destination ? pino(opts, destination) : pino(opts);
}

/** A logger that writes nothing, for code paths that were handed none. */
export const silentLogger: Logger = pino({ level: "silent" });

/**
 * `start --pretty`: pino-pretty's human-readable lines, for someone at a
 * terminal. Loaded only then; JSON stays the default for journald and log
 * shippers. Synchronous, so the last lines before an exit are not lost.
 */
export async function prettyDestination(): Promise<DestinationStream> {
  const { default: pretty } = await import("pino-pretty");
  return pretty({
    colorize: process.stdout.isTTY === true,
    translateTime: "SYS:yyyy-mm-dd HH:MM:ss.l",
    ignore: "pid,hostname",
    sync: true,
  });
}
