import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Logger, silentLogger } from "../log.js";
import { fileSize, readTail, sleep } from "./log-file.js";
import { acceptsConnection, freePort } from "./ports.js";
import {
  type MessagePermission,
  type PresencePermission,
  type ProsodyComponent,
  renderProsodyConfig,
} from "./prosody-config.js";

/**
 * A throwaway Prosody 0.12 with XEP-0356 (mod_privilege) for tests and the
 * `demo` command: generated config in a fresh temp dir, loopback only, free
 * ports, no s2s, no HTTP, no TLS. Never the system config.
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

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface UserAccount {
  user: string;
  host: string;
  password: string;
}

export interface ProsodyServer {
  readonly kind: "prosody";
  readonly c2sPort: number;
  readonly componentPort: number;
  readonly domains: readonly string[];
  readonly componentDomain: string;
  readonly secret: string;
  readonly dir: string;
  readonly configPath: string;
  /** Pid of the current process (changes on `restart()`). */
  readonly pid: number;
  /** Settles when the current process exits, for whatever reason. */
  readonly exited: Promise<ProcessExit>;
  register(user: string, host: string, password: string): Promise<void>;
  registerMany(accounts: readonly UserAccount[], concurrency?: number): Promise<void>;
  /** SIGTERM, SIGKILL after `stopTimeoutMs`, then remove the temp dir. Idempotent. */
  stop(): Promise<void>;
  /** Stop the process and start it again on the same ports and data dir. */
  restart(): Promise<void>;
  /** The last lines of Prosody's log file and its stderr. */
  logTail(lines?: number): string;
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

export async function startProsody(options: ProsodyOptions): Promise<ProsodyServer> {
  const log = (options.logger ?? silentLogger).child({ server: "prosody" });
  const domains = options.domains ?? ["localhost"];
  const readyTimeoutMs = options.readyTimeoutMs ?? 15_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 5_000;
  const dir = await mkdtemp(join(tmpdir(), "presence-notify-prosody-"));
  const configPath = join(dir, "prosody.cfg.lua");
  const logPath = join(dir, "prosody.log");
  try {
    await mkdir(join(dir, "data"));
    await mkdir(join(dir, "certs"));
    const c2sPort = options.ports?.c2s ?? (await freePort());
    let componentPort = options.ports?.component ?? (await freePort());
    while (componentPort === c2sPort) componentPort = await freePort();
    await writeFile(
      configPath,
      renderProsodyConfig({
        dir,
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

    let child: ChildProcess | undefined;
    let exited: Promise<ProcessExit> = Promise.resolve({ code: null, signal: null });
    let alive = false;
    let stderr = "";
    let removed = false;
    // If the test runner dies without afterAll, do not leave Prosody behind.
    const killOnExit = () => child?.kill("SIGKILL");

    const logTail = (lines = 40): string => {
      const text = readTail(logPath, 0, 64 * 1024) + (stderr ? `\n[stderr] ${stderr}` : "");
      return text.split("\n").slice(-lines).join("\n");
    };

    const spawnAndWait = async (): Promise<void> => {
      const logOffset = fileSize(logPath);
      const started = Date.now();
      stderr = "";
      const proc = spawn("prosody", ["--config", configPath, "-F"], {
        cwd: dir,
        stdio: ["ignore", "ignore", "pipe"],
      });
      child = proc;
      alive = true;
      process.once("exit", killOnExit);
      proc.stderr?.on("data", (chunk: Buffer) => {
        stderr = (stderr + chunk.toString("utf8")).slice(-4096);
      });
      exited = new Promise<ProcessExit>((resolve) => {
        proc.once("exit", (code, signal) => {
          alive = false;
          process.removeListener("exit", killOnExit);
          resolve({ code, signal });
        });
        proc.once("error", (err) => {
          alive = false;
          stderr += `\n${err.message}`;
          process.removeListener("exit", killOnExit);
          resolve({ code: null, signal: null });
        });
      });

      // Ready = both ports accept AND this process logged that it activated
      // them (so a stranger squatting on a port is not mistaken for Prosody).
      const wanted = [
        `Activated service 'c2s' on [127.0.0.1]:${c2sPort}`,
        `Activated service 'component' on [127.0.0.1]:${componentPort}`,
      ];
      const deadline = started + readyTimeoutMs;
      while (true) {
        if (!alive) {
          const exit = await exited;
          throw new ProsodyStartError(
            `Prosody exited during startup (code ${exit.code}, signal ${exit.signal}); config ${configPath}`,
            logTail(),
          );
        }
        const text = readTail(logPath, logOffset, 1 << 20);
        // Prosody keeps running without a port it could not bind; do not wait for it.
        const bindFailure = /Failed to open server port \d+ on [^\n]*/.exec(text);
        if (bindFailure) {
          throw new ProsodyStartError(
            `Prosody could not listen: ${bindFailure[0]}; config ${configPath}`,
            logTail(),
          );
        }
        if (
          wanted.every((w) => text.includes(w)) &&
          (await acceptsConnection(c2sPort)) &&
          (await acceptsConnection(componentPort))
        ) {
          break;
        }
        if (Date.now() > deadline) {
          throw new ProsodyStartError(
            `Prosody did not accept connections on 127.0.0.1:${c2sPort} (c2s) and :${componentPort} (component) within ${readyTimeoutMs} ms; config ${configPath}`,
            logTail(),
          );
        }
        await sleep(25);
      }
      log.info(
        { pid: proc.pid, c2sPort, componentPort, startupMs: Date.now() - started },
        "prosody ready",
      );
    };

    const stopProcess = async (): Promise<void> => {
      const proc = child;
      if (!proc || !alive) return;
      proc.kill("SIGTERM");
      const timer = new Promise<"timeout">((r) => setTimeout(r, stopTimeoutMs, "timeout").unref());
      if ((await Promise.race([exited, timer])) === "timeout") {
        log.warn({ pid: proc.pid, stopTimeoutMs }, "prosody ignored SIGTERM; sending SIGKILL");
        proc.kill("SIGKILL");
        await exited;
      }
    };

    try {
      await spawnAndWait();
    } catch (err) {
      await stopProcess();
      throw err;
    }

    const register = (user: string, host: string, password: string) =>
      run("prosodyctl", ["--config", configPath, "register", user, host, password]);

    const server: ProsodyServer = {
      kind: "prosody",
      c2sPort,
      componentPort,
      domains,
      componentDomain: options.component.domain,
      secret: options.component.secret,
      dir,
      configPath,
      get pid() {
        return child?.pid ?? -1;
      },
      get exited() {
        return exited;
      },
      register,
      async registerMany(accounts, concurrency = 4) {
        // prosodyctl is ~30 ms per call; a few at a time keeps both cores busy.
        let next = 0;
        const worker = async () => {
          while (next < accounts.length) {
            const a = accounts[next++];
            if (a) await register(a.user, a.host, a.password);
          }
        };
        await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
      },
      async stop() {
        await stopProcess();
        if (!removed) {
          removed = true;
          await rm(dir, { recursive: true, force: true });
          log.info({ dir }, "prosody stopped");
        }
      },
      async restart() {
        if (removed) throw new ProsodyCommandError("restart() after stop(): the data dir is gone");
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
