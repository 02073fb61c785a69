import { parseArgs } from "node:util";
import { type Admin, startAdmin } from "../admin/app.js";
import { isAdminListenError } from "../admin/server.js";
import { describeConfig } from "../config/describe.js";
import { ConfigError } from "../config/errors.js";
import { loadConfig } from "../config/load.js";
import type { DaemonConfig } from "../config/schema.js";
import { exposedSecrets } from "../config/secret-permissions.js";
import type { Inspection } from "../inspect/inspection.js";
import { InvalidInspectAddress, parseInspectAddress } from "../inspect/loopback-address.js";
import { systemClock } from "../otp/clock.js";
import { exitCodeOf } from "../otp/supervisor-root.js";
import { pseudonymiser } from "../protocol/pseudonym.js";
import { isStoreError, type StoreError } from "../store/errors.js";
import { type DurableStore, openStore } from "../store/open.js";
import type { Logger } from "../telemetry/log.js";
import { createLogger, prettyDestination } from "../telemetry/log.js";
import { COMMAND_USAGE, USAGE, version } from "./cli-help.js";
import { installCrashPolicy } from "./crash-policy.js";
import { startDaemon } from "./daemon.js";
import { reloadFromFile } from "./reload-on-hup.js";
import { Signals } from "./signals.js";
import { standBy, type Takeover } from "./standby.js";
import { announceTakeover } from "./standby-takeover.js";

/** sysexits.h: the exit codes an operator's tooling understands. */
// 70 (EX_SOFTWARE) comes from exitCodeOf when the root supervisor gave up.
export const EXIT = { ok: 0, usage: 64, tempfail: 75, config: 78 } as const;

export async function main(argv: string[], options: { signals?: Signals } = {}): Promise<number> {
  const signals = options.signals ?? new Signals();
  // Only `start` owns the signals; every other command has their defaults.
  if (argv[0] !== "start") signals.release();
  const [command, ...rest] = argv;
  const commandUsage = command === undefined ? undefined : COMMAND_USAGE[command];
  if (commandUsage !== undefined && rest.some((a) => a === "--help" || a === "-h")) {
    process.stdout.write(`${commandUsage}\n`);
    return EXIT.ok;
  }
  try {
    return await run(command, rest, signals);
  } catch (err) {
    // parseArgs: an unknown option or a missing value is the user's mistake, not ours.
    const code = (err as { code?: unknown } | null)?.code;
    if (typeof code !== "string" || !code.startsWith("ERR_PARSE_ARGS")) throw err;
    process.stderr.write(`${(err as Error).message}\n${commandUsage ?? USAGE}\n`);
    return EXIT.usage;
  }
}

async function run(command: string | undefined, rest: string[], signals: Signals): Promise<number> {
  switch (command) {
    case "start":
      return start(rest, signals);
    case "check-config":
      return checkConfig(rest);
    case "export-machines": {
      const { exportMachinesCommand } = await import("../inspect/export-command.js");
      return exportMachinesCommand(rest);
    }
    case "inspect-tail": {
      const { inspectTailCommand } = await import("../inspect/tail-command.js");
      return inspectTailCommand(rest);
    }
    case "watch": {
      const { watchCommand } = await import("./watch-command.js");
      return watchCommand(rest);
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
    case "--version":
    case "-v":
    case "version":
      process.stdout.write(`presence-notify ${version()}\n`);
      return EXIT.ok;
    default:
      process.stderr.write(
        `${command === undefined ? "no command given" : `unknown command "${command}"`}\n${USAGE}\n`,
      );
      return EXIT.usage;
  }
}

/** `check-config`'s option: `--config FILE`. */
function configPath(args: string[]): string | undefined {
  const { values } = parseArgs({
    args,
    options: { config: { type: "string", short: "c" } },
    strict: true,
  });
  if (values.config === undefined) process.stderr.write("--config FILE is required\n");
  return values.config;
}

/** `start`'s options: `--config FILE`, `--pretty`, `--inspect[=HOST:PORT]` (bare: the default address). */
function startOptions(args: string[]) {
  const { values } = parseArgs({
    // parseArgs has no optional values: a bare --inspect is given the empty one.
    args: args.map((a) => (a === "--inspect" ? "--inspect=" : a)),
    options: {
      config: { type: "string", short: "c" },
      pretty: { type: "boolean" },
      inspect: { type: "string" },
    },
    strict: true,
  });
  if (values.config === undefined) process.stderr.write("--config FILE is required\n");
  return { path: values.config, pretty: values.pretty === true, inspect: values.inspect };
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
  for (const exposed of exposedSecrets(loaded)) {
    process.stderr.write(`presence-notify: warning: ${exposed.message}\n`);
  }
  return EXIT.ok;
}

async function start(args: string[], signals: Signals): Promise<number> {
  const { path, pretty, inspect } = startOptions(args);
  if (path === undefined) return EXIT.usage;
  let address: ReturnType<typeof parseInspectAddress> | undefined;
  try {
    if (inspect !== undefined) address = parseInspectAddress(inspect);
  } catch (err) {
    if (!(err instanceof InvalidInspectAddress)) throw err;
    process.stderr.write(`presence-notify: ${err.message}\n`);
    return EXIT.usage;
  }
  // An invalid configuration stops us here, before any connection is made.
  const loaded = load(path);
  if (!loaded) return EXIT.config;
  const { config } = loaded;
  const logger = createLogger(
    { level: config.log.level, ...(config.log.redactJids ? { jids: pseudonymiser() } : {}) },
    pretty ? await prettyDestination() : undefined,
  );
  installCrashPolicy(logger);
  for (const { key, path: file, mode, message } of exposedSecrets(loaded)) {
    logger.warn({ setting: key, path: file, mode }, message);
  }
  const opened = await openResources(config, address, logger, signals);
  if (typeof opened === "number") return opened;
  const { store, inspection, admin, takeover } = opened;
  logger.info(
    { config: path, domain: config.component.domain, service: config.component.service },
    "starting",
  );
  const daemon = startDaemon({
    config,
    logger,
    ...(store ? { store } : {}),
    ...(inspection ? { inspection } : {}),
    ...(admin ? { onSent: admin.feed.record } : {}),
  });
  admin?.attach(daemon);
  if (takeover) announceTakeover(daemon, takeover, logger);

  let stopping: Promise<void> | undefined;
  signals.whenStop((signal) => {
    if (stopping) return;
    logger.info(
      { signal, queued: daemon.service.outbox.mailbox.size },
      "stopping: draining queued notifications",
    );
    stopping = daemon.stop();
  });
  // systemd's ExecReload sends SIGHUP (config/presence-notify.service).
  signals.whenReload(() => {
    if (stopping) return; // draining: the configuration no longer matters
    logger.debug({ signal: "SIGHUP", config: path }, "reloading the configuration");
    reloadFromFile({ path, env: process.env, daemon, logger });
  });

  const end = await daemon.supervisor.done;
  await stopping;
  await inspection?.close();
  await admin?.close();
  if (end.exit === "failed") return exitCodeOf(end);
  logger.info("stopped");
  return EXIT.ok;
}

/**
 * What `start` opens before the daemon runs: the state file, the inspector,
 * the admin listener. An exit code if one cannot be opened, or if a stop
 * signal came meanwhile (then what was opened is closed again: exit 0).
 */
async function openResources(
  config: DaemonConfig,
  address: ReturnType<typeof parseInspectAddress> | undefined,
  logger: Logger,
  signals: Signals,
): Promise<
  | number
  | {
      store?: DurableStore;
      inspection?: Inspection;
      admin?: Admin | undefined;
      takeover?: Takeover;
    }
> {
  let store: DurableStore | undefined;
  let inspection: Inspection | undefined;
  const stoppedEarly = async () => {
    if (signals.stopping === undefined) return false;
    store?.close();
    await inspection?.close();
    logger.info({ signal: signals.stopping }, "stopped before the daemon started");
    return true;
  };
  if (config.durability.mode === "sqlite") {
    try {
      store = openDurable(config);
    } catch (err) {
      if (!isStoreError(err)) throw err;
      // A standby waits for it (below, once /readyz can say so).
      if (err.reason !== "locked" || !config.standby.enabled) return storeFailed(err);
    }
    if (store) logger.info(store.info(), "durable store opened");
  }
  if (address) {
    // Loaded only with --inspect: without it, nothing of the inspector exists.
    const { startInspection } = await import("../inspect/inspection.js");
    const { InspectorUnavailable } = await import("../inspect/inspector-server.js");
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
  if (await stoppedEarly()) return EXIT.ok;
  // Bound before anything connects: a port in use is another process's, like a locked state file.
  let admin: Admin | undefined;
  try {
    admin = await startAdmin({ settings: config.admin, logger });
  } catch (err) {
    if (!isAdminListenError(err)) throw err;
    process.stderr.write(`presence-notify: ${err.message}\n`);
    store?.close();
    await inspection?.close();
    return EXIT.tempfail;
  }
  let takeover: Takeover | undefined;
  if (config.durability.mode === "sqlite" && store === undefined) {
    const won = await waitForStateFile(config, logger, signals, admin);
    if (typeof won === "number") {
      await inspection?.close();
      await admin?.close();
      return won;
    }
    ({ store, takeover } = won);
  }
  if (await stoppedEarly()) {
    await admin?.close();
    return EXIT.ok;
  }
  return {
    ...(store ? { store } : {}),
    ...(inspection ? { inspection } : {}),
    admin,
    ...(takeover ? { takeover } : {}),
  };
}

/** `[standby] enabled` and the state file locked: waits for it (src/app/standby.ts); an exit code if none comes. */
async function waitForStateFile(
  config: DaemonConfig,
  logger: Logger,
  signals: Signals,
  admin: Admin | undefined,
): Promise<number | { store: DurableStore; takeover: Takeover }> {
  let won: Awaited<ReturnType<typeof standBy>>;
  try {
    won = await standBy({
      config,
      logger,
      clock: systemClock,
      // Each try must not block: SQLite waits out its busy timeout synchronously.
      open: () => openDurable(config, 0),
      onStop: (cancel) => signals.whenStop(cancel),
      ...(admin ? { show: (status) => admin.standby(status) } : {}),
    });
  } catch (err) {
    if (!isStoreError(err)) throw err;
    return storeFailed(err);
  }
  if (won === undefined) {
    logger.info({ signal: signals.stopping }, "stopped while standing by");
    return EXIT.ok;
  }
  logger.info(won.store.info(), "durable store opened");
  return won;
}

function openDurable(config: DaemonConfig, lockTimeoutMs?: number): DurableStore {
  return openStore(config.durability.path, {
    outboxCapacity: config.mailbox.capacity,
    synchronous: config.durability.synchronous,
    ...(lockTimeoutMs === undefined ? {} : { lockTimeoutMs }),
  });
}

function storeFailed(err: StoreError): number {
  process.stderr.write(`presence-notify: durability.path: ${err.message}\n`);
  // Another daemon holding the file is a temporary condition; the rest is configuration.
  return err.reason === "locked" ? EXIT.tempfail : EXIT.config;
}
