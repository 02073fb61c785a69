import { parseArgs } from "node:util";
import { exitCodeOf } from "./actors/supervisor-root.js";
import { describeConfig } from "./config/describe.js";
import { ConfigError } from "./config/errors.js";
import { loadConfig } from "./config/load.js";
import { startDaemon } from "./daemon.js";
import type { Inspection } from "./inspect/inspection.js";
import { InvalidInspectAddress, parseInspectAddress } from "./inspect/loopback-address.js";
import { createLogger } from "./log.js";
import { isStoreError } from "./store/errors.js";
import { type DurableStore, openStore } from "./store/open.js";

/** sysexits.h: the exit codes an operator's tooling understands. */
// 70 (EX_SOFTWARE) comes from exitCodeOf when the root supervisor gave up.
export const EXIT = { ok: 0, usage: 64, tempfail: 75, config: 78 } as const;

const USAGE = `usage: presence-notify <command> [options]

commands:
  start --config FILE         run the daemon in the foreground (JSON logs on stdout)
      [--inspect[=HOST:PORT]]   stream live actor and session events to the Stately Inspector
                                over WebSocket, loopback only (default 127.0.0.1:8088)
  inspect-tail [--url WS-URL] print that stream as text, one line per state change
  check-config --config FILE  print the effective configuration and where each value came from
  export-machines --out DIR   write every state machine as XState JSON, with a guide to view them
  demo                        run a local Prosody with simulated users and show the notifications

exit codes: 0 ok, 64 usage, 69 inspect-tail cannot connect, 70 internal failure,
            73 export-machines cannot write DIR,
            75 state file locked by another daemon (or the --inspect port in use),
            78 configuration error`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "start":
      return start(rest);
    case "check-config":
      return checkConfig(rest);
    case "export-machines": {
      const { exportMachinesCommand } = await import("./inspect/export-command.js");
      return exportMachinesCommand(rest);
    }
    case "inspect-tail": {
      const { inspectTailCommand } = await import("./inspect/tail-command.js");
      return inspectTailCommand(rest);
    }
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
  return parseCommand(args, false)?.config;
}

/** `--config FILE`, and for `start` `--inspect[=HOST:PORT]` (bare: "", the default address). */
function parseCommand(args: string[], inspect: boolean) {
  try {
    const { values } = parseArgs({
      // parseArgs has no optional values: a bare --inspect is given the empty one.
      args: inspect ? args.map((a) => (a === "--inspect" ? "--inspect=" : a)) : args,
      options: {
        config: { type: "string", short: "c" },
        ...(inspect ? { inspect: { type: "string" } } : {}),
      },
      strict: true,
    });
    if (values.config === undefined) process.stderr.write("--config FILE is required\n");
    else return values as { config: string; inspect?: string };
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
  }
  return undefined;
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
  const parsed = parseCommand(args, true);
  if (parsed === undefined) return EXIT.usage;
  const path = parsed.config;
  let address: ReturnType<typeof parseInspectAddress> | undefined;
  try {
    if (parsed.inspect !== undefined) address = parseInspectAddress(parsed.inspect);
  } catch (err) {
    if (!(err instanceof InvalidInspectAddress)) throw err;
    process.stderr.write(`presence-notify: ${err.message}\n`);
    return EXIT.usage;
  }
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
  let inspection: Inspection | undefined;
  if (address) {
    // Loaded only with --inspect: without it, nothing of the inspector exists.
    const { startInspection } = await import("./inspect/inspection.js");
    const { InspectorUnavailable } = await import("./inspect/inspector-server.js");
    try {
      inspection = await startInspection(address);
    } catch (err) {
      if (!(err instanceof InspectorUnavailable)) throw err;
      store?.close();
      process.stderr.write(`presence-notify: ${err.message}\n`);
      return EXIT.tempfail;
    }
    logger.info(
      { inspector: inspection.url, page: inspection.page },
      `inspector listening: open ${inspection.page} for the Stately Inspector`,
    );
  }
  logger.info(
    { config: path, domain: config.component.domain, service: config.component.service },
    "starting",
  );
  const daemon = startDaemon({
    config,
    logger,
    ...(store ? { store } : {}),
    ...(inspection ? { inspection } : {}),
  });

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
  await inspection?.close();
  if (end.exit === "failed") return exitCodeOf(end);
  logger.info("stopped");
  return EXIT.ok;
}
