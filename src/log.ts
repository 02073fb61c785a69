import { type DestinationStream, type Logger, type LoggerOptions, pino } from "pino";

export type { Logger } from "pino";

/**
 * The daemon's one logger factory. Secrets never reach a log line: any key
 * named like one is censored, wherever it sits in the object.
 */
export function createLogger(
  options: { level?: string; name?: string } = {},
  destination?: DestinationStream,
): Logger {
  const opts: LoggerOptions = {
    name: options.name ?? "presence-notify",
    level: options.level ?? "info",
    redact: {
      paths: ["secret", "*.secret", "*.*.secret", "password", "*.password", "token", "*.token"],
      censor: "[redacted]",
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
