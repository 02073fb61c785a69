import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { resolveConfig } from "../src/config/load.js";
import { startDaemon } from "../src/daemon.js";
import { createLogger } from "../src/log.js";
import { startForwarder } from "./forwarder-component.js";

/**
 * One component under test, alone in a fresh process (forked by
 * bench/e2e.ts), so that its CPU time is attributable: the real daemon or the
 * minimal forwarder, connected to the server's component port. Tells the
 * parent `{ ready: true }` over IPC once its link is up; stops on SIGTERM or
 * when the parent goes away.
 *
 *   --who daemon|forwarder --port P --domain D --secret S --server-user LOCAL --user-domain D [--log info]
 */

const { values: a } = parseArgs({
  options: {
    who: { type: "string", default: "daemon" },
    port: { type: "string" },
    domain: { type: "string", default: "presence.localhost" },
    secret: { type: "string" },
    "server-user": { type: "string", default: "world" },
    "user-domain": { type: "string", default: "localhost" },
    log: { type: "string", default: "info" },
  },
  strict: true,
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function start(): Promise<() => Promise<void> | void> {
  if (a.who === "forwarder") {
    const forwarder = await startForwarder({
      port: Number(a.port),
      domain: a.domain,
      secret: a.secret ?? "",
      serverUser: `${a["server-user"]}@${a["user-domain"]}`,
    });
    return () => forwarder.close();
  }
  // The production shape: default configuration but the connection, the
  // secret and the server user; the default log level (info, a line per
  // transition) through pino's synchronous destination to /dev/null.
  const config = resolveConfig({
    path: "(bench)",
    env: {},
    readFile: (path) => readFileSync(path, "utf8"),
    text: [
      "[component]",
      `service = "xmpp://127.0.0.1:${a.port}"`,
      `domain = "${a.domain}"`,
      `secret = "${a.secret}"`,
      "[notify]",
      `server_user = "${a["server-user"]}"`,
      "[log]",
      `level = "${a.log}"`,
    ].join("\n"),
  }).config;
  const logger = createLogger({ level: a.log }, pino.destination("/dev/null"));
  const daemon = startDaemon({ config, logger });
  for (let i = 0; i < 1500 && !daemon.link.online; i++) await sleep(10);
  if (!daemon.link.online) throw new Error("the daemon did not connect within 15 s");
  return () => daemon.stop();
}

const stop = await start();
let stopping = false;
const quit = () => {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(0), 3_000).unref();
  void Promise.resolve(stop()).finally(() => process.exit(0));
};
process.on("SIGTERM", quit);
process.on("disconnect", quit);
process.send?.({ ready: true });
