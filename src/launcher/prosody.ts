import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type Logger, silentLogger } from "../telemetry/log.js";
import { registerAll, type UserAccount } from "./accounts.js";
import { acceptsConnection, freePorts } from "./ports.js";
import {
  type MessagePermission,
  type PresencePermission,
  type ProsodyComponent,
  renderProsodyConfig,
} from "./prosody-config.js";
import {
  type ServerProcess,
  serverProcess,
  stopAndRestart,
  type ThrowawayServer,
} from "./server-process.js";
import { makeTempDir } from "./temp-dir.js";

/**
 * A throwaway Prosody 0.12 with XEP-0356 (mod_privilege) for the `demo`
 * command, the tests and the benchmarks: generated config in a fresh temp
 * dir, loopback only, free ports, no s2s, no HTTP, no TLS. Never the system
 * config. The only launcher built into dist/ (the demo ships); ejabberd's and
 * RabbitMQ's are in testkit/.
 */

export interface ProsodyOptions {
  /** Virtual hosts; default `["localhost"]`. */
  domains?: string[];
  /** The XEP-0114 component the virtual hosts grant privileges to (all of them unless `hosts`). */
  component: ProsodyComponent;
  /** More components on the same port, e.g. one daemon per virtual host (SCALING.md). */
  moreComponents?: ProsodyComponent[];
  /** XEP-0356 permissions; default presence managed_entity, message outgoing. */
  privileges?: { presence?: PresencePermission; message?: MessagePermission };
  /** Load mod_offline; default false so bounces to offline users are observable. */
  offline?: boolean;
  /**
   * Load this package's mod_presence_notify_guard on the component, so a
   * user's directed presence cannot pass for the server's broadcast; default
   * true. false only to show what happens without it.
   */
  guard?: boolean;
  /** Log at debug level into the temp dir (default true: the log tail explains failures). */
  debug?: boolean;
  /** Fixed ports instead of free ones, e.g. to start again where a previous one listened. */
  ports?: { c2s?: number; component?: number };
  /** How long to wait for both ports to accept connections; default 15 s. */
  readyTimeoutMs?: number;
  /** How long SIGTERM may take before SIGKILL; default 5 s. */
  stopTimeoutMs?: number;
  logger?: Logger;
}

export interface ProsodyServer extends ThrowawayServer {
  readonly kind: "prosody";
  readonly c2sPort: number;
  readonly componentPort: number;
  readonly domains: readonly string[];
  readonly componentDomain: string;
  readonly secret: string;
  readonly configPath: string;
  register(user: string, host: string, password: string): Promise<void>;
  registerMany(accounts: readonly UserAccount[], concurrency?: number): Promise<void>;
}

/** Startup failed: the sentence says what, `logTail` says why. */
export class ProsodyStartError extends Error {
  readonly _tag = "ProsodyStartError";
  constructor(
    message: string,
    readonly logTail: string,
  ) {
    super(`${message}\n--- prosody log tail ---\n${logTail}`);
    this.name = "ProsodyStartError";
  }
}

/** `prosodyctl register` failed. */
export class ProsodyCommandError extends Error {
  readonly _tag = "ProsodyCommandError";
  constructor(message: string) {
    super(message);
    this.name = "ProsodyCommandError";
  }
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 15_000 }, (err, stdout, stderr) => {
      if (err) {
        // Not err.message: it repeats the command line, password included.
        const what = `${cmd} ${args.slice(2, 5).join(" ")}`;
        const why = `${err.code ?? err.signal ?? "error"}: ${stdout}${stderr}`.trim();
        reject(new ProsodyCommandError(`${what} failed (${why})`));
      } else resolve();
    });
  });
}

/** The Prosody process on `configPath`, ready when both ports are its own and accept. */
function prosodyProcess(
  dir: string,
  configPath: string,
  { c2sPort, componentPort }: { c2sPort: number; componentPort: number },
  options: ProsodyOptions,
  logger: Logger,
): ServerProcess {
  // Ready = both ports accept AND this process logged that it activated
  // them (so a stranger squatting on a port is not mistaken for Prosody).
  const activated = [
    `Activated service 'c2s' on [127.0.0.1]:${c2sPort}`,
    `Activated service 'component' on [127.0.0.1]:${componentPort}`,
  ];
  return serverProcess({
    label: "Prosody",
    command: "prosody",
    args: ["--config", configPath, "-F"],
    cwd: dir,
    logPath: join(dir, "prosody.log"),
    context: `config ${configPath}`,
    readiness: {
      what: `accept connections on 127.0.0.1:${c2sPort} (c2s) and :${componentPort} (component)`,
      // Prosody keeps running without a port it could not bind; do not wait for it.
      failure: (log) => {
        const bind = /Failed to open server port \d+ on [^\n]*/.exec(log)?.[0];
        return bind === undefined ? undefined : `Prosody could not listen: ${bind}`;
      },
      ready: async (log) =>
        activated.every((line) => log.includes(line)) &&
        (await acceptsConnection(c2sPort)) &&
        (await acceptsConnection(componentPort)),
      timeoutMs: options.readyTimeoutMs ?? 15_000,
      intervalMs: 25,
    },
    stopTimeoutMs: options.stopTimeoutMs ?? 5_000,
    startError: (message, logTail) => new ProsodyStartError(message, logTail),
    readyFields: { c2sPort, componentPort },
    logger,
  });
}

export async function startProsody(options: ProsodyOptions): Promise<ProsodyServer> {
  const logger = (options.logger ?? silentLogger).child({ server: "prosody" });
  const domains = options.domains ?? ["localhost"];
  const dir = await makeTempDir("prosody");
  const configPath = join(dir.path, "prosody.cfg.lua");
  try {
    await mkdir(join(dir.path, "data"));
    await mkdir(join(dir.path, "certs"));
    const [c2sPort = 0, componentPort = 0] = await freePorts([
      options.ports?.c2s,
      options.ports?.component,
    ]);
    await writeFile(
      configPath,
      renderProsodyConfig({
        dir: dir.path,
        c2sPort,
        componentPort,
        domains,
        component: options.component,
        ...(options.moreComponents ? { moreComponents: options.moreComponents } : {}),
        presence: options.privileges?.presence ?? "managed_entity",
        message: options.privileges?.message ?? "outgoing",
        offline: options.offline ?? false,
        guard: options.guard ?? true,
        debug: options.debug ?? true,
      }),
    );
    const proc = prosodyProcess(dir.path, configPath, { c2sPort, componentPort }, options, logger);
    await proc.start();

    const register = (user: string, host: string, password: string) =>
      run("prosodyctl", ["--config", configPath, "register", user, host, password]);
    return {
      kind: "prosody",
      c2sPort,
      componentPort,
      domains,
      componentDomain: options.component.domain,
      secret: options.component.secret,
      dir: dir.path,
      configPath,
      get pid() {
        return proc.pid;
      },
      get exited() {
        return proc.exited;
      },
      register,
      registerMany: (accounts, concurrency = 4) =>
        registerAll(accounts, concurrency, (a) => register(a.user, a.host, a.password)),
      ...stopAndRestart(
        dir,
        [proc],
        () => new ProsodyCommandError("restart() after stop(): the data dir is gone"),
      ),
      logTail: proc.logTail,
    };
  } catch (err) {
    await dir.remove();
    throw err;
  }
}
