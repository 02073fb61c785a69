import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { chown, mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { registerAll, type UserAccount } from "../src/launcher/accounts.js";
import { readTail } from "../src/launcher/log-file.js";
import { acceptsConnection, freePorts } from "../src/launcher/ports.js";
import { decodeShellExit } from "../src/launcher/process-tree.js";
import type { MessagePermission, PresencePermission } from "../src/launcher/prosody-config.js";
import {
  type ServerProcess,
  serverProcess,
  stopAndRestart,
  type ThrowawayServer,
} from "../src/launcher/server-process.js";
import { makeTempDir } from "../src/launcher/temp-dir.js";
import { type Logger, silentLogger } from "../src/telemetry/log.js";
import { EjabberdCommandError, type Ejabberdctl, ejabberdctl, httpApi } from "./ejabberd-admin.js";
import { INETRC, renderEjabberdctlCfg, renderEjabberdYml } from "./ejabberd-config.js";
import { compileGuard } from "./ejabberd-guard.js";

/**
 * A throwaway ejabberd 23.01 with XEP-0356 (mod_privilege), the same shape as
 * `startProsody`: generated config dir in a fresh temp dir, loopback only, free
 * ports, no s2s, no TLS, no epmd, HTTP only for `httpApi`. Never the system
 * config or spool. Facts: /work/shared/SERVERS.md.
 */

export interface EjabberdOptions {
  /** Virtual hosts; default `["localhost"]`. */
  domains?: string[];
  /** The XEP-0114 component every virtual host grants privileges to. */
  component: { domain: string; secret: string };
  /** XEP-0356 permissions; default presence managed_entity, message outgoing. */
  privileges?: { presence?: PresencePermission; message?: MessagePermission };
  /** mod_http_api on its own 127.0.0.1 listener, admin commands open to loopback. */
  httpApi?: boolean;
  /**
   * Compile and enable this package's mod_presence_notify_guard, so a user's
   * directed presence cannot pass for the server's broadcast; default true.
   * false only to show what happens without it.
   */
  guard?: boolean;
  /** Log at debug level (every stanza); default false, info is enough to explain failures. */
  debug?: boolean;
  /** Fixed ports instead of free ones. */
  ports?: { c2s?: number; component?: number; httpApi?: number };
  /** How long to wait for the node to be started and listening; default 30 s. */
  readyTimeoutMs?: number;
  /** How long SIGTERM may take before SIGKILL; default 10 s. */
  stopTimeoutMs?: number;
  logger?: Logger;
}

export interface EjabberdServer extends ThrowawayServer {
  readonly kind: "ejabberd";
  readonly c2sPort: number;
  readonly componentPort: number;
  /** Set when started with `httpApi: true`: POST http://127.0.0.1:PORT/api/COMMAND. */
  readonly httpApiPort: number | undefined;
  readonly domains: readonly string[];
  readonly componentDomain: string;
  readonly secret: string;
  /** ejabberd.yml; ejabberdctl.cfg and inetrc sit next to it. */
  readonly configPath: string;
  /** Erlang node name, unique per instance, kept across `restart()`. */
  readonly node: string;
  /** Pid of the current beam.smp (changes on `restart()`). */
  readonly pid: number;
  /** Over the HTTP API when enabled (~ms), else one ejabberdctl call (~0.4 s). */
  register(user: string, host: string, password: string): Promise<void>;
  registerMany(accounts: readonly UserAccount[], concurrency?: number): Promise<void>;
  /** Full JIDs of the live c2s sessions, sorted. */
  connectedSessions(): Promise<string[]>;
  /** Runs `ejabberdctl ARGS...` against this node; resolves with its output. */
  ctl(args: readonly string[]): Promise<string>;
  /** Calls an admin command over the HTTP API (only with `httpApi: true`). */
  api<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T>;
}

/** Startup failed: the sentence says what, `logTail` says why. */
export class EjabberdStartError extends Error {
  readonly _tag = "EjabberdStartError";
  constructor(
    message: string,
    readonly logTail: string,
  ) {
    super(`${message}\n--- ejabberd log tail ---\n${logTail}`);
    this.name = "EjabberdStartError";
  }
}

/** As root, ejabberdctl runs the node as user `ejabberd`: it must own its dirs. */
function ejabberdUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith("ejabberd:"));
  const [, , uid, gid] = line?.split(":") ?? [];
  if (uid === undefined || gid === undefined) {
    throw new EjabberdStartError("running as root but there is no user 'ejabberd'", "");
  }
  return { uid: Number(uid), gid: Number(gid) };
}

interface Layout {
  dir: string;
  configPath: string;
  spoolDir: string;
  logsDir: string;
  pidPath: string;
  node: string;
  ports: { c2sPort: number; componentPort: number; distPort: number; httpApiPort?: number };
}

/** ejabberd.yml, ejabberdctl.cfg and inetrc, owned by `ejabberd` when we are root. */
async function writeConfigDir(layout: Layout, options: EjabberdOptions, domains: string[]) {
  const { c2sPort, componentPort, distPort, httpApiPort } = layout.ports;
  const guard = options.guard ?? true;
  const guardEbin = guard ? await compileGuard(layout.dir) : undefined;
  const files: [string, string][] = [
    [
      layout.configPath,
      renderEjabberdYml({
        c2sPort,
        componentPort,
        httpApiPort,
        domains,
        component: options.component,
        presence: options.privileges?.presence ?? "managed_entity",
        message: options.privileges?.message ?? "outgoing",
        guard,
        debug: options.debug ?? false,
      }),
    ],
    [
      join(layout.dir, "ejabberdctl.cfg"),
      renderEjabberdctlCfg({
        node: layout.node,
        distPort,
        cookie: randomBytes(16).toString("hex"),
        pidPath: layout.pidPath,
        ...(guardEbin ? { codePaths: [guardEbin] } : {}),
      }),
    ],
    [join(layout.dir, "inetrc"), INETRC],
  ];
  for (const [path, text] of files) await writeFile(path, text, { mode: 0o600 });
  const owner = ejabberdUser();
  if (owner) {
    for (const path of [layout.dir, layout.spoolDir, layout.logsDir, ...files.map(([p]) => p)]) {
      await chown(path, owner.uid, owner.gid);
    }
  }
}

/**
 * `ejabberdctl foreground` on our config dir, ready once this node logged
 * that it started and opened our listeners, both XMPP ports accept, and
 * `ejabberdctl status` says "started".
 */
function ejabberdProcess(
  layout: Layout,
  ctlPrefix: readonly string[],
  admin: Ejabberdctl,
  options: EjabberdOptions,
  logger: Logger,
): ServerProcess {
  const { c2sPort, componentPort, httpApiPort } = layout.ports;
  const wanted = [
    `is started in the node '${layout.node}'`,
    `Start accepting TCP connections at 127.0.0.1:${c2sPort} for ejabberd_c2s`,
    `Start accepting TCP connections at 127.0.0.1:${componentPort} for ejabberd_service`,
    ...(httpApiPort !== undefined
      ? [`Start accepting TCP connections at 127.0.0.1:${httpApiPort} for ejabberd_http`]
      : []),
  ];
  return serverProcess({
    label: "ejabberd",
    command: "ejabberdctl",
    args: [...ctlPrefix, "foreground"],
    cwd: layout.dir,
    logPath: join(layout.logsDir, "ejabberd.log"),
    context: `config ${layout.configPath}`,
    // Crash reports print the listener's options, component password included.
    secrets: [options.component.secret],
    readiness: {
      what: `start and accept connections on 127.0.0.1:${c2sPort} (c2s) and :${componentPort} (component)`,
      // The node halts on these, usually before the exit is seen.
      failure: (log) => {
        const line = /Failed to open socket at [^\n]*|\[critical\][^\n]*/.exec(log)?.[0];
        return line === undefined ? undefined : `ejabberd could not start: ${line}`;
      },
      ready: async (log) =>
        wanted.every((w) => log.includes(w)) &&
        (await acceptsConnection(c2sPort)) &&
        (await acceptsConnection(componentPort)) &&
        (await admin.run(["status"])).code === 0,
      timeoutMs: options.readyTimeoutMs ?? 30_000,
      intervalMs: 50,
    },
    stopTimeoutMs: options.stopTimeoutMs ?? 10_000,
    // The VM stops cleanly on SIGTERM (init:stop/0) and the shells above it
    // follow; a SIGTERM to bash would only orphan them (process-tree.ts).
    terminate: (child, running) => {
      const beam = running.find((p) => p.comm === "beam.smp");
      return beam ? [beam.pid] : [child, ...running.map((p) => p.pid)];
    },
    decodeExit: decodeShellExit,
    startError: (message, logTail) => new EjabberdStartError(message, logTail),
    readyFields: { node: layout.node, c2sPort, componentPort, httpApiPort },
    logger,
  });
}

export { EjabberdCommandError };

export async function startEjabberd(options: EjabberdOptions): Promise<EjabberdServer> {
  const logger = (options.logger ?? silentLogger).child({ server: "ejabberd" });
  const domains = options.domains ?? ["localhost"];
  const dir = await makeTempDir("ejabberd");
  try {
    const [c2sPort = 0, componentPort = 0, distPort = 0, httpApiPort] = await freePorts([
      options.ports?.c2s,
      options.ports?.component,
      undefined,
      ...(options.httpApi ? [options.ports?.httpApi] : []),
    ]);
    const layout: Layout = {
      dir: dir.path,
      configPath: join(dir.path, "ejabberd.yml"),
      spoolDir: join(dir.path, "spool"),
      logsDir: join(dir.path, "logs"),
      pidPath: join(dir.path, "ejabberd.pid"),
      node: `ejabberd-${randomBytes(4).toString("hex")}@localhost`,
      ports: { c2sPort, componentPort, distPort, ...(httpApiPort ? { httpApiPort } : {}) },
    };
    await mkdir(layout.spoolDir);
    await mkdir(layout.logsDir);
    await writeConfigDir(layout, options, domains);
    // --config-dir makes ejabberdctl source OUR ejabberdctl.cfg (and never
    // /etc/ejabberd's, which would override --config).
    const ctlPrefix = [
      "--config-dir",
      dir.path,
      "--spool",
      layout.spoolDir,
      "--logs",
      layout.logsDir,
    ];
    const admin = ejabberdctl(ctlPrefix, dir.path);
    const api = httpApi(httpApiPort);
    const proc = ejabberdProcess(layout, ctlPrefix, admin, options, logger);
    // The VM writes its pid file; the launcher's pid is a shell's.
    const beamPid = () => {
      const written = Number(readTail(layout.pidPath, 0, 64).trim());
      return written > 0 ? written : (proc.tree.find((p) => p.comm === "beam.smp")?.pid ?? -1);
    };
    await proc.start();
    let pid = beamPid();
    const lifecycle = stopAndRestart(
      dir,
      [proc],
      () => new EjabberdCommandError("restart() after stop(): the spool is gone"),
    );
    const register = async (user: string, host: string, password: string): Promise<void> => {
      if (httpApiPort !== undefined) await api("register", { user, host, password });
      else await admin.call(["register", user, host, password]);
    };
    return {
      kind: "ejabberd",
      c2sPort,
      componentPort,
      httpApiPort,
      domains,
      componentDomain: options.component.domain,
      secret: options.component.secret,
      dir: dir.path,
      configPath: layout.configPath,
      node: layout.node,
      get pid() {
        return pid;
      },
      get exited() {
        return proc.exited;
      },
      register,
      registerMany: (accounts, concurrency = httpApiPort !== undefined ? 8 : 4) =>
        registerAll(accounts, concurrency, (a) => register(a.user, a.host, a.password)),
      async connectedSessions() {
        const jids =
          httpApiPort !== undefined
            ? await api<string[]>("connected_users")
            : (await admin.call(["connected_users"])).split("\n").filter((l) => l.trim() !== "");
        return jids.map((j) => j.trim()).sort();
      },
      ctl: admin.call,
      api,
      stop: lifecycle.stop,
      async restart() {
        await rm(layout.pidPath, { force: true });
        await lifecycle.restart();
        pid = beamPid();
      },
      logTail: proc.logTail,
    };
  } catch (err) {
    await dir.remove();
    throw err;
  }
}
