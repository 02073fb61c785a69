import type { Logger } from "../telemetry/log.js";
import { excerpt } from "../telemetry/log-limiter.js";

/** sysexits.h EX_SOFTWARE: the service manager restarts on it (Restart=on-failure). */
export const EXIT_ESCAPED = 70;

/**
 * What happens to an error that escaped every handler. Each listener catches,
 * counts and rate-logs its own failures (admin and inspector requests, the
 * component socket, broker deliveries), so anything reaching the process is
 * a bug whose damage is unknown: state half-updated, a timer lost. Going on
 * would risk a view of who is online that silently differs from the truth;
 * exiting lets systemd start a clean daemon that resyncs with the server (and
 * replays the durable outbox). So: one fatal JSON line through the logger
 * with the error and where it came from, then exit 70. A second escape while
 * exiting is not logged again.
 */
export function crashPolicy(logger: Logger, exit: (code: number) => void) {
  let escaped = false;
  return (origin: "uncaughtException" | "unhandledRejection", err: unknown): void => {
    if (escaped) return;
    escaped = true;
    const error = err instanceof Error ? err : new Error(String(err));
    logger.fatal(
      {
        event: "escaped_error",
        origin,
        err: excerpt(error.message),
        stack: excerpt(error.stack, 4_000),
        exit: EXIT_ESCAPED,
      },
      "an error escaped every handler: exiting so that the service manager restarts a clean daemon",
    );
    exit(EXIT_ESCAPED);
  };
}

/** Installs `crashPolicy` on the process (the `start` command only). */
export function installCrashPolicy(logger: Logger): void {
  const escaped = crashPolicy(logger, (code) => process.exit(code));
  process.on("uncaughtException", (err) => escaped("uncaughtException", err));
  process.on("unhandledRejection", (reason) => escaped("unhandledRejection", reason));
}
