import type { Env } from "../config/env.js";
import { isConfigError } from "../config/errors.js";
import { loadConfig } from "../config/load.js";
import type { Logger } from "../telemetry/log.js";
import type { Daemon } from "./daemon.js";

/**
 * SIGHUP: read the configuration file again, as `start` did (same file, same
 * environment overrides), and hand it to the daemon. A file that does not
 * load is refused with the sentence `check-config` would print, and the
 * daemon keeps running with what it had: a typo must never stop it.
 */
export function reloadFromFile(input: {
  readonly path: string;
  readonly env: Env;
  readonly daemon: Pick<Daemon, "reload" | "service">;
  readonly logger: Logger;
}): boolean {
  const { path, env, daemon, logger } = input;
  let next: ReturnType<typeof loadConfig>;
  try {
    next = loadConfig({ path, env });
  } catch (err) {
    if (!isConfigError(err)) throw err;
    daemon.service.counters.inc("config_reload_failures");
    logger.error(
      {
        event: "config_reload_failed",
        config: path,
        key: err.key,
        reason: err.message,
        failures: daemon.service.counters.get("config_reload_failures"),
      },
      `configuration reload refused, still running with the previous configuration: ${err.message}`,
    );
    return false;
  }
  daemon.reload(next.config);
  return true;
}
