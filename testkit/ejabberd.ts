import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { chown, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileSize, readTail, sleep } from "../src/launcher/log-file.js";
import { acceptsConnection, freePort } from "../src/launcher/ports.js";
import {
  decodeShellExit,
  descendants,
  isRunning,
  type ProcStat,
  signal,
} from "../src/launcher/process-tree.js";
import type { ProcessExit, UserAccount } from "../src/launcher/prosody.js";
import type { MessagePermission, PresencePermission } from "../src/launcher/prosody-config.js";
import { type Logger, silentLogger } from "../src/log.js";
import { EjabberdCommandError, ejabberdctl, httpApi } from "./ejabberd-admin.js";
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

export interface EjabberdServer {
  readonly kind: "ejabberd";
  readonly c2sPort: number;
  readonly componentPort: number;
  /** Set when started with `httpApi: true`: POST http://127.0.0.1:PORT/api/COMMAND. */
  readonly httpApiPort: number | undefined;
  readonly domains: readonly string[];
  readonly componentDomain: string;
  readonly secret: string;
  readonly dir: string;
  /** ejabberd.yml; ejabberdctl.cfg and inetrc sit next to it. */
  readonly configPath: string;
  /** Erlang node name, unique per instance, kept across `restart()`. */
  readonly node: string;
  /** Pid of the current beam.smp (changes on `restart()`). */
  readonly pid: number;
  /** Settles when the current node exits, for whatever reason. */
  readonly exited: Promise<ProcessExit>;
  /** Over the HTTP API when enabled (~ms), else one ejabberdctl call (~0.4 s). */
  register(user: string, host: string, password: string): Promise<void>;
  registerMany(accounts: readonly UserAccount[], concurrency?: number): Promise<void>;
  /** Full JIDs of the live c2s sessions, sorted. */
  connectedSessions(): Promise<string[]>;
  /** Runs `ejabberdctl ARGS...` against this node; resolves with its output. */
  ctl(args: readonly string[]): Promise<string>;
  /** Calls an admin command over the HTTP API (only with `httpApi: true`). */
  api<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T>;
  /** SIGTERM to the VM, SIGKILL after `stopTimeoutMs`, then remove the temp dir. Idempotent. */
  stop(): Promise<void>;
  /** Stop the node and start it again on the same ports, node name and spool. */
  restart(): Promise<void>;
  /** The last lines of ejabberd.log and the launcher's stderr. */
  logTail(lines?: number): string;
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

async function distinctFreePorts(fixed: (number | undefined)[]): Promise<number[]> {
  const taken = new Set(fixed.filter((p) => p !== undefined));
  const ports: number[] = [];
  for (const p of fixed) {
    if (p !== undefined) ports.push(p);
    else {
      let port = await freePort();
      while (taken.has(port)) port = await freePort();
      taken.add(port);
      ports.push(port);
    }
  }
  return ports;
}

/** Polls until none of `procs` runs; false if some still do after `timeoutMs`. */
async function waitGone(procs: readonly ProcStat[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (procs.some(isRunning)) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

export { EjabberdCommandError };

export async function startEjabberd(options: EjabberdOptions): Promise<EjabberdServer> {
  const log = (options.logger ?? silentLogger).child({ server: "ejabberd" });
  const domains = options.domains ?? ["localhost"];
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
  const owner = ejabberdUser();
  const dir = await mkdtemp(join(tmpdir(), "presence-notify-ejabberd-"));
  const configPath = join(dir, "ejabberd.yml");
  const spoolDir = join(dir, "spool");
  const logsDir = join(dir, "logs");
  const logPath = join(logsDir, "ejabberd.log");
  const pidPath = join(dir, "ejabberd.pid");
  const node = `ejabberd-${randomBytes(4).toString("hex")}@localhost`;
  try {
    await mkdir(spoolDir);
    await mkdir(logsDir);
    const [c2sPort = 0, componentPort = 0, distPort = 0, httpPort] = await distinctFreePorts([
      options.ports?.c2s,
      options.ports?.component,
      undefined,
      ...(options.httpApi ? [options.ports?.httpApi] : []),
    ]);
    const httpApiPort = options.httpApi ? httpPort : undefined;
    const guard = options.guard ?? true;
    const guardEbin = guard ? await compileGuard(dir) : undefined;
    const files: [string, string][] = [
      [
        configPath,
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
        join(dir, "ejabberdctl.cfg"),
        renderEjabberdctlCfg({
          node,
          distPort,
          cookie: randomBytes(16).toString("hex"),
          pidPath,
          ...(guardEbin ? { codePaths: [guardEbin] } : {}),
        }),
      ],
      [join(dir, "inetrc"), INETRC],
    ];
    for (const [path, text] of files) await writeFile(path, text, { mode: 0o600 });
    if (owner) {
      for (const path of [dir, spoolDir, logsDir, ...files.map(([p]) => p)]) {
        await chown(path, owner.uid, owner.gid);
      }
    }

    // --config-dir makes ejabberdctl source OUR ejabberdctl.cfg (and never
    // /etc/ejabberd's, which would override --config).
    const ctlPrefix = ["--config-dir", dir, "--spool", spoolDir, "--logs", logsDir];

    const admin = ejabberdctl(ctlPrefix, dir);
    const ctl = admin.call;
    const api = httpApi(httpApiPort);

    let child: ChildProcess | undefined;
    let beamPid = -1;
    // The node's processes as seen when it became ready: if the launcher dies
    // alone, they are orphans that /proc no longer ties to it.
    let known: ProcStat[] = [];
    let exited: Promise<ProcessExit> = Promise.resolve({ code: null, signal: null });
    let alive = false;
    let stderr = "";
    let removed = false;
    // If the test runner dies without afterAll, do not leave the VM behind:
    // SIGKILL to our child alone would not reach it (see ejabberd-processes.ts).
    const killOnExit = () => {
      if (child?.pid === undefined) return;
      for (const p of [...known, ...descendants(child.pid)]) {
        if (isRunning(p)) signal(p.pid, "SIGKILL");
      }
      child.kill("SIGKILL");
    };

    // Crash reports print the listener's options, component password included.
    const redact = (text: string): string =>
      text.replaceAll(options.component.secret, "[redacted]");
    const logTail = (lines = 40): string => {
      const text = readTail(logPath, 0, 64 * 1024) + (stderr ? `\n[stderr] ${stderr}` : "");
      return redact(text.split("\n").slice(-lines).join("\n"));
    };

    const spawnAndWait = async (): Promise<void> => {
      const logOffset = fileSize(logPath);
      const started = Date.now();
      stderr = "";
      beamPid = -1;
      known = [];
      await rm(pidPath, { force: true });
      const proc = spawn("ejabberdctl", [...ctlPrefix, "foreground"], {
        cwd: dir,
        // The console repeats ejabberd.log; only stderr is kept, for early failures.
        stdio: ["ignore", "ignore", "pipe"],
      });
      child = proc;
      alive = true;
      process.once("exit", killOnExit);
      proc.stderr?.on("data", (chunk: Buffer) => {
        stderr = (stderr + chunk.toString("utf8")).slice(-4096);
      });
      exited = new Promise<ProcessExit>((resolve) => {
        proc.once("exit", (code, sig) => {
          alive = false;
          process.removeListener("exit", killOnExit);
          resolve(decodeShellExit(code, sig));
        });
        proc.once("error", (err) => {
          alive = false;
          stderr += `\n${err.message}`;
          process.removeListener("exit", killOnExit);
          resolve({ code: null, signal: null });
        });
      });

      // Ready = this node logged that it started and opened our listeners,
      // both XMPP ports accept, and `ejabberdctl status` says "started".
      const wanted = [
        `is started in the node '${node}'`,
        `Start accepting TCP connections at 127.0.0.1:${c2sPort} for ejabberd_c2s`,
        `Start accepting TCP connections at 127.0.0.1:${componentPort} for ejabberd_service`,
        ...(httpApiPort !== undefined
          ? [`Start accepting TCP connections at 127.0.0.1:${httpApiPort} for ejabberd_http`]
          : []),
      ];
      const deadline = started + readyTimeoutMs;
      while (true) {
        const text = readTail(logPath, logOffset, 1 << 20);
        // The node halts on these, usually before this loop sees the exit.
        const failure = /Failed to open socket at [^\n]*|\[critical\][^\n]*/.exec(text)?.[0];
        if (failure) {
          throw new EjabberdStartError(
            `ejabberd could not start: ${redact(failure)}; config ${configPath}`,
            logTail(),
          );
        }
        if (!alive) {
          const exit = await exited;
          throw new EjabberdStartError(
            `ejabberd exited during startup (code ${exit.code}, signal ${exit.signal}); config ${configPath}`,
            logTail(),
          );
        }
        if (
          wanted.every((w) => text.includes(w)) &&
          (await acceptsConnection(c2sPort)) &&
          (await acceptsConnection(componentPort)) &&
          (await admin.run(["status"])).code === 0
        ) {
          break;
        }
        if (Date.now() > deadline) {
          throw new EjabberdStartError(
            `ejabberd did not start and accept connections on 127.0.0.1:${c2sPort} (c2s) and :${componentPort} (component) within ${readyTimeoutMs} ms; config ${configPath}`,
            logTail(),
          );
        }
        await sleep(50);
      }
      known = descendants(proc.pid ?? -1);
      const written = Number(readTail(pidPath, 0, 64).trim());
      beamPid = written > 0 ? written : (known.find((p) => p.comm === "beam.smp")?.pid ?? -1);
      log.info(
        {
          pid: beamPid,
          node,
          c2sPort,
          componentPort,
          httpApiPort,
          startupMs: Date.now() - started,
        },
        "ejabberd ready",
      );
    };

    const stopProcess = async (): Promise<void> => {
      const proc = child;
      if (!proc?.pid) return;
      const fresh = descendants(proc.pid);
      const tree = [...fresh, ...known.filter((k) => !fresh.some((f) => f.pid === k.pid))];
      const beam = tree.find((p) => p.comm === "beam.smp" && isRunning(p));
      if (alive || beam) {
        // The VM stops cleanly on SIGTERM (init:stop/0) and the shells above
        // it follow; a SIGTERM to bash would only orphan them.
        if (beam) signal(beam.pid, "SIGTERM");
        else for (const pid of [proc.pid, ...tree.map((p) => p.pid)]) signal(pid, "SIGTERM");
        const timer = new Promise<"timeout">((r) =>
          setTimeout(r, stopTimeoutMs, "timeout").unref(),
        );
        const gone = Promise.all([exited, waitGone(tree, stopTimeoutMs)]);
        if ((await Promise.race([gone, timer])) === "timeout") {
          log.warn({ pid: beamPid, stopTimeoutMs }, "ejabberd ignored SIGTERM; sending SIGKILL");
          for (const p of tree.filter(isRunning)) signal(p.pid, "SIGKILL");
          signal(proc.pid, "SIGKILL");
          await exited;
        }
      }
      // Port programs (eimp, erl_child_setup) normally go with the VM.
      if (!(await waitGone(tree, 2_000))) {
        for (const p of tree.filter(isRunning)) signal(p.pid, "SIGKILL");
        await waitGone(tree, 2_000);
      }
    };

    try {
      await spawnAndWait();
    } catch (err) {
      await stopProcess();
      throw err;
    }

    const register = async (user: string, host: string, password: string): Promise<void> => {
      if (httpApiPort !== undefined) await api("register", { user, host, password });
      else await ctl(["register", user, host, password]);
    };

    const server: EjabberdServer = {
      kind: "ejabberd",
      c2sPort,
      componentPort,
      httpApiPort,
      domains,
      componentDomain: options.component.domain,
      secret: options.component.secret,
      dir,
      configPath,
      node,
      get pid() {
        return beamPid;
      },
      get exited() {
        return exited;
      },
      register,
      async registerMany(accounts, concurrency = httpApiPort !== undefined ? 8 : 4) {
        let next = 0;
        const worker = async () => {
          while (next < accounts.length) {
            const a = accounts[next++];
            if (a) await register(a.user, a.host, a.password);
          }
        };
        await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
      },
      async connectedSessions() {
        const jids =
          httpApiPort !== undefined
            ? await api<string[]>("connected_users")
            : (await ctl(["connected_users"])).split("\n").filter((l) => l.trim() !== "");
        return jids.map((j) => j.trim()).sort();
      },
      ctl,
      api,
      async stop() {
        await stopProcess();
        if (!removed) {
          removed = true;
          await rm(dir, { recursive: true, force: true });
          log.info({ dir }, "ejabberd stopped");
        }
      },
      async restart() {
        if (removed) throw new EjabberdCommandError("restart() after stop(): the spool is gone");
        await stopProcess();
        try {
          await spawnAndWait();
        } catch (err) {
          await stopProcess();
          throw err;
        }
      },
      logTail,
    };
    return server;
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
