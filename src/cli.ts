import { parseArgs } from "node:util";
import { exitCodeOf } from "./actors/supervisor-root.js";
import { type Admin, startAdmin } from "./admin/app.js";
import { isAdminListenError } from "./admin/server.js";
import { describeConfig } from "./config/describe.js";
import { ConfigError } from "./config/errors.js";
import { loadConfig } from "./config/load.js";
import { startDaemon } from "./daemon.js";
import { createLogger } from "./log.js";
import { isStoreError } from "./store/errors.js";
import { type DurableStore, openStore } from "./store/open.js";

/** sysexits.h: the exit codes an operator's tooling understands. */
// 70 (EX_SOFTWARE) comes from exitCodeOf when the root supervisor gave up.
export const EXIT = { ok: 0, usage: 64, tempfail: 75, config: 78 } as const;

const USAGE = `usage: presence-notify <command> [options]

commands:
  start --config FILE         run the daemon in the foreground (JSON logs on stdout)
  check-config --config FILE  print the effective configuration and where each value came from
  demo                        run a local Prosody with simulated users and show the notifications

exit codes: 0 ok, 64 usage, 70 internal failure, 75 state file locked by another daemon
            or admin.listen port in use, 78 configuration error`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "start":
      return start(rest);
    case "check-config":
      return checkConfig(rest);
    case "demo": {
      const { runDemo } = await import("./demo.js");
      return runDemo(rest);
    }
    case "--help":
    case "-h":
    case "help":
      process.stdout.write(`${USAGE}\n`);
      return EXIT.ok;
    default:
      process.stderr.write(
        `${command === undefined ? "no command given" : `unknown command "${command}"`}\n${USAGE}\n`,
      );
      return EXIT.usage;
  }
}

function configPath(args: string[]): string | undefined {
  const { values } = parseArgs({
    args,
    options: { config: { type: "string", short: "c" } },
    strict: true,
  });
  if (values.config === undefined) process.stderr.write("--config FILE is required\n");
  return values.config;
}

function load(path: string) {
  try {
    return loadConfig({ path, env: process.env });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`presence-notify: configuration error: ${err.message}\n`);
      return undefined;
    }
    throw err;
  }
}

async function checkConfig(args: string[]): Promise<number> {
  const path = configPath(args);
  if (path === undefined) return EXIT.usage;
  const loaded = load(path);
  if (!loaded) return EXIT.config;
  process.stdout.write(`${describeConfig(loaded)}\n`);
  return EXIT.ok;
}

async function start(args: string[]): Promise<number> {
  const path = configPath(args);
  if (path === undefined) return EXIT.usage;
  // An invalid configuration stops us here, before any connection is made.
  const loaded = load(path);
  if (!loaded) return EXIT.config;
  const { config } = loaded;
  const logger = createLogger({ level: config.log.level });
  let store: DurableStore | undefined;
  if (config.durability.mode === "sqlite") {
    try {
      store = openStore(config.durability.path, { outboxCapacity: config.mailbox.capacity });
    } catch (err) {
      if (!isStoreError(err)) throw err;
      process.stderr.write(`presence-notify: durability.path: ${err.message}\n`);
      // Another daemon holding the file is a temporary condition; the rest is configuration.
      return err.reason === "locked" ? EXIT.tempfail : EXIT.config;
    }
    logger.info(store.info(), "durable store opened");
  }
  // Bound before anything connects: a port in use is another process's, like a locked state file.
  let admin: Admin | undefined;
  try {
    admin = await startAdmin({ settings: config.admin, logger });
  } catch (err) {
    if (!isAdminListenError(err)) throw err;
    process.stderr.write(`presence-notify: ${err.message}\n`);
    store?.close();
    return EXIT.tempfail;
  }
  logger.info(
    { config: path, domain: config.component.domain, service: config.component.service },
    "starting",
  );
  const daemon = startDaemon({
    config,
    logger,
    ...(store ? { store } : {}),
    ...(admin ? { onSent: admin.feed.record } : {}),
  });
  admin?.attach(daemon);

  let stopping: Promise<void> | undefined;
  const stop = (signal: string) => {
    if (stopping) return;
    logger.info(
      { signal, queued: daemon.pipeline.mailbox.size },
      "stopping: draining queued notifications",
    );
    stopping = daemon.stop();
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));

  const end = await daemon.supervisor.done;
  await stopping;
  await admin?.close();
  if (end.exit === "failed") return exitCodeOf(end);
  logger.info("stopped");
  return EXIT.ok;
}
