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
