import { openSync, readFileSync } from "node:fs";
import { startAdmin } from "../src/admin/app.js";
import { type Daemon, startDaemon } from "../src/app/daemon.js";
import { resolveConfig } from "../src/config/load.js";
import { createLogger, turnDestination } from "../src/telemetry/log.js";

/**
 * The daemon as the benchmarks run it: the production shape, default
 * configuration but the connection, the secret and the server user, wired as
 * `presence-notify start` wires it (src/app/cli.ts): the admin listener on (its
 * feed of sends is on the send path; port 0 here), the log at `log` (the
 * default, info, is a line per transition) to /dev/null through the daemon's
 * default destination (`turnDestination`: one synchronous write per turn of
 * the event loop) in place of stdout.
 */
export async function startBenchDaemon(options: {
  port: number;
  domain: string;
  secret: string;
  serverUser: string;
  log: string;
}): Promise<{ daemon: Daemon; stop: () => Promise<void> }> {
  const config = resolveConfig({
    path: "(bench)",
    env: {},
    readFile: (path) => readFileSync(path, "utf8"),
    text: [
      "[component]",
      `service = "xmpp://127.0.0.1:${options.port}"`,
      `domain = "${options.domain}"`,
      `secret = "${options.secret}"`,
      "[notify]",
      `server_user = "${options.serverUser}"`,
      "[log]",
      `level = "${options.log}"`,
      "[admin]",
      `listen = "127.0.0.1:0"`,
    ].join("\n"),
  }).config;
  const logger = createLogger({ level: options.log }, turnDestination(openSync("/dev/null", "w")));
  const admin = await startAdmin({ settings: config.admin, logger });
  const daemon = startDaemon({ config, logger, ...(admin ? { onSent: admin.feed.record } : {}) });
  admin?.attach(daemon);
  return {
    daemon,
    stop: async () => {
      await daemon.stop();
      await admin?.close();
    },
  };
}
