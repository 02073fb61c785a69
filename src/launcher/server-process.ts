import { type ChildProcess, spawn } from "node:child_process";
import type { OsProcessHandle } from "../otp/os-process.js";
import type { Logger } from "../telemetry/log.js";
import { fileSize, readTail } from "./log-file.js";
import { WaitTimeout, waitFor } from "./polling.js";
import { descendants, isRunning, type ProcStat, signal } from "./process-tree.js";
import type { TempDir } from "./temp-dir.js";

/**
 * One throwaway server process (Prosody, ejabberd, RabbitMQ, its epmd) from
 * spawn to exit, the same way for each: stderr kept for errors, ready when
 * the server says so (its log, its ports, a login), a startup failure thrown
 * at once with the log tail, SIGTERM then SIGKILL to the process and every
 * descendant on stop, and SIGKILL to all of them if this Node process exits
 * first (a test runner dying without its afterAll). Restartable: `start()`
 * again after `stop()` runs the same command on the same files.
 */

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * What every launcher returns. It is an `OsProcessHandle`, so `osProcessLogic`
 * can supervise it (the demo's Prosody runs that way in the daemon's tree).
 */
export interface ThrowawayServer extends OsProcessHandle {
  readonly pid: number;
  /** Settles when the current process exits, for whatever reason. */
  readonly exited: Promise<ProcessExit>;
  /** The temp dir with its config, data and logs. */
  readonly dir: string;
  /** SIGTERM, SIGKILL after the stop timeout, then remove the temp dir. Idempotent. */
  stop(): Promise<void>;
  /** Stop the process and start it again on the same ports and data. */
  restart(): Promise<void>;
  /** The last lines of the server's log file and its stderr. */
  logTail(lines?: number): string;
}

export interface Readiness {
  /** For the timeout sentence: "<label> did not <what> within N ms". */
  what: string;
  /** Whether it is ready, given what the server logged since this start. */
  ready(log: string): boolean | Promise<boolean>;
  /** A sentence when the log shows the start failed for good: no point in waiting. */
  failure?(log: string): string | undefined;
  timeoutMs: number;
  intervalMs: number;
}

export interface ServerProcessSpec {
  /** How sentences name it: "Prosody", "ejabberd", "rabbitmq-server". */
  label: string;
  command: string;
  args: readonly string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** The server's own log file: readiness reads it, `logTail` shows it. */
  logPath?: string;
  /** Ends every startup failure's sentence, e.g. "config /tmp/…/prosody.cfg.lua". */
  context?: string;
  /** Never shown in a log tail or an error (crash reports print passwords). */
  secrets?: readonly string[];
  readiness: Readiness;
  /** How long SIGTERM may take before SIGKILL. */
  stopTimeoutMs: number;
  /**
   * The pids a clean stop sends SIGTERM to, when that is not the child alone
   * (ejabberd: its VM, below shells that would only orphan it).
   */
  terminate?: (child: number, running: readonly ProcStat[]) => readonly number[];
  /** How to read the child's exit (a launcher shell reports a signal as 128+N). */
  decodeExit?: (code: number | null, signal: NodeJS.Signals | null) => ProcessExit;
  startError: (message: string, logTail: string) => Error;
  /** Extra fields for the "ready" log line. */
  readyFields?: Record<string, unknown>;
  logger: Logger;
}

export interface ServerProcess {
  /** Pid of the current child, -1 before the first start. */
  readonly pid: number;
  readonly exited: Promise<ProcessExit>;
  /** The child's descendants as seen when it became ready. */
  readonly tree: readonly ProcStat[];
  /** Spawns and resolves once ready; on failure stops what it spawned and throws. */
  start(): Promise<void>;
  /** Idempotent; safe after the process exited on its own. */
  stop(): Promise<void>;
  logTail(lines?: number): string;
}

const timeout = (ms: number) => new Promise<"timeout">((r) => setTimeout(r, ms, "timeout").unref());

/** Whether none of `procs` runs within `ms`. */
const allGone = (procs: readonly ProcStat[], ms: number): Promise<boolean> =>
  waitFor(() => !procs.some(isRunning), ms, "processes to exit", 20).then(
    () => true,
    (err: unknown) => {
      if (err instanceof WaitTimeout) return false;
      throw err;
    },
  );

export function serverProcess(spec: ServerProcessSpec): ServerProcess {
  const log = spec.logger;
  const decode = spec.decodeExit ?? ((code, sig) => ({ code, signal: sig }));
  let child: ChildProcess | undefined;
  let alive = false;
  let exited: Promise<ProcessExit> = Promise.resolve({ code: null, signal: null });
  let stderr = "";
  // Seen at readiness: when a launcher shell dies alone, /proc no longer
  // ties its orphans to it.
  let tree: ProcStat[] = [];
  let guarding = false;

  const redact = (text: string) =>
    (spec.secrets ?? []).reduce((t, s) => (s === "" ? t : t.replaceAll(s, "[redacted]")), text);
  const logTail = (lines = 40): string => {
    const own = spec.logPath ? readTail(spec.logPath, 0, 64 * 1024) : "";
    const text = own + (stderr ? `\n[stderr] ${stderr}` : "");
    return redact(text.split("\n").slice(-lines).join("\n"));
  };
  const everything = (): ProcStat[] => {
    const fresh = alive && child?.pid ? descendants(child.pid) : [];
    return [...fresh, ...tree.filter((k) => !fresh.some((f) => f.pid === k.pid))];
  };
  const killAll = () => {
    for (const p of everything()) if (isRunning(p)) signal(p.pid, "SIGKILL");
    child?.kill("SIGKILL");
  };
  const guardExit = (on: boolean) => {
    if (on && !guarding) process.once("exit", killAll);
    if (!on) process.removeListener("exit", killAll);
    guarding = on;
  };
  const fail = (sentence: string) =>
    spec.startError(redact(spec.context ? `${sentence}; ${spec.context}` : sentence), logTail());

  const spawnChild = (): ChildProcess => {
    stderr = "";
    tree = [];
    const proc = spawn(spec.command, [...spec.args], {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      // Servers repeat their log on the console; stderr explains early failures.
      stdio: ["ignore", "ignore", "pipe"],
    });
    child = proc;
    alive = true;
    guardExit(true);
    proc.stderr?.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString("utf8")).slice(-4096);
    });
    exited = new Promise<ProcessExit>((resolve) => {
      const gone = (exit: ProcessExit) => {
        alive = false;
        if (!tree.some(isRunning)) guardExit(false);
        resolve(exit);
      };
      proc.once("exit", (code, sig) => gone(decode(code, sig)));
      proc.once("error", (err) => {
        stderr += `\n${err.message}`;
        gone({ code: null, signal: null });
      });
    });
    return proc;
  };

  const awaitReady = async (logOffset: number): Promise<void> => {
    const { readiness } = spec;
    const probe = async () => {
      const text = spec.logPath ? readTail(spec.logPath, logOffset, 1 << 20) : "";
      const failure = readiness.failure?.(text);
      if (failure !== undefined) throw fail(failure);
      if (!alive) {
        const exit = await exited;
        throw fail(
          `${spec.label} exited during startup (code ${exit.code}, signal ${exit.signal})`,
        );
      }
      return readiness.ready(text);
    };
    try {
      await waitFor(probe, readiness.timeoutMs, `${spec.label} to start`, readiness.intervalMs);
    } catch (err) {
      if (!(err instanceof WaitTimeout)) throw err;
      throw fail(`${spec.label} did not ${readiness.what} within ${readiness.timeoutMs} ms`);
    }
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    if (!proc) return;
    const all = everything();
    if (alive || all.some(isRunning)) {
      const running = all.filter(isRunning);
      const defaults = alive && proc.pid ? [proc.pid] : running.map((p) => p.pid);
      const targets = proc.pid && spec.terminate ? spec.terminate(proc.pid, running) : defaults;
      for (const pid of targets) signal(pid, "SIGTERM");
      const done = Promise.all([exited, allGone(all, spec.stopTimeoutMs)]);
      if ((await Promise.race([done, timeout(spec.stopTimeoutMs)])) === "timeout") {
        const { stopTimeoutMs } = spec;
        log.warn(
          { pid: proc.pid, stopTimeoutMs },
          `${spec.label} ignored SIGTERM; sending SIGKILL`,
        );
        for (const p of all) if (isRunning(p)) signal(p.pid, "SIGKILL");
        proc.kill("SIGKILL");
        await exited;
      }
    }
    // A VM's port programs normally go with it; whatever stays is killed.
    if (!(await allGone(all, 2_000))) {
      for (const p of all) if (isRunning(p)) signal(p.pid, "SIGKILL");
      await allGone(all, 2_000);
    }
    guardExit(false);
  };

  return {
    get pid() {
      return child?.pid ?? -1;
    },
    get exited() {
      return exited;
    },
    get tree() {
      return tree;
    },
    async start() {
      const logOffset = spec.logPath ? fileSize(spec.logPath) : 0;
      const started = Date.now();
      const proc = spawnChild();
      try {
        await awaitReady(logOffset);
      } catch (err) {
        await stop();
        throw err;
      }
      tree = descendants(proc.pid ?? -1);
      const fields = { pid: proc.pid, ...spec.readyFields, startupMs: Date.now() - started };
      log.info(fields, `${spec.label} ready`);
    },
    stop,
    logTail,
  };
}

/**
 * `stop()` and `restart()` for a server made of `processes`, started in that
 * order in `dir`: stop ends them last first and removes the dir, always;
 * restart runs the last one (the server itself) again on the same files.
 */
export function stopAndRestart(
  dir: TempDir,
  processes: readonly ServerProcess[],
  restartAfterStop: () => Error,
): Pick<ThrowawayServer, "stop" | "restart"> {
  const main = processes.at(-1);
  return {
    async stop() {
      try {
        for (const p of [...processes].reverse()) await p.stop();
      } finally {
        await dir.remove();
      }
    },
    async restart() {
      if (dir.removed) throw restartAfterStop();
      await main?.stop();
      await main?.start();
    },
  };
}
