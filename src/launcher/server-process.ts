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
  const run: Run = {
    child: undefined,
    alive: false,
    exited: Promise.resolve({ code: null, signal: null }),
    stderr: "",
    tree: [],
    guarding: false,
    killAll: () => {
      for (const p of everything(run)) if (isRunning(p)) signal(p.pid, "SIGKILL");
      run.child?.kill("SIGKILL");
    },
  };
  const stop = () => stopRun(spec, run);
  return {
    get pid() {
      return run.child?.pid ?? -1;
    },
    get exited() {
      return run.exited;
    },
    get tree() {
      return run.tree;
    },
    async start() {
      const logOffset = spec.logPath ? fileSize(spec.logPath) : 0;
      const started = Date.now();
      const proc = spawnRun(spec, run);
      try {
        await awaitReady(spec, run, logOffset);
      } catch (err) {
        await stop();
        throw err;
      }
      run.tree = descendants(proc.pid ?? -1);
      const fields = { pid: proc.pid, ...spec.readyFields, startupMs: Date.now() - started };
      spec.logger.info(fields, `${spec.label} ready`);
    },
    stop,
    logTail: (lines = 40) => logTailOf(spec, run, lines),
  };
}

/** What one server process's lifecycle keeps between its steps. */
interface Run {
  child: ChildProcess | undefined;
  alive: boolean;
  exited: Promise<ProcessExit>;
  stderr: string;
  /** Seen at readiness: when a launcher shell dies alone, /proc no longer ties its orphans to it. */
  tree: ProcStat[];
  /** Whether `killAll` is installed on Node's exit. */
  guarding: boolean;
  /** SIGKILL to all of it (one function: the same listener to add and remove). */
  killAll: () => void;
}

const redact = (spec: ServerProcessSpec, text: string) =>
  (spec.secrets ?? []).reduce((t, s) => (s === "" ? t : t.replaceAll(s, "[redacted]")), text);

function logTailOf(spec: ServerProcessSpec, run: Run, lines: number): string {
  const own = spec.logPath ? readTail(spec.logPath, 0, 64 * 1024) : "";
  const text = own + (run.stderr ? `\n[stderr] ${run.stderr}` : "");
  return redact(spec, text.split("\n").slice(-lines).join("\n"));
}

/** The child's descendants now, and those seen at readiness that still count. */
function everything(run: Run): ProcStat[] {
  const fresh = run.alive && run.child?.pid ? descendants(run.child.pid) : [];
  return [...fresh, ...run.tree.filter((k) => !fresh.some((f) => f.pid === k.pid))];
}

function guardExit(run: Run, on: boolean): void {
  if (on && !run.guarding) process.once("exit", run.killAll);
  if (!on) process.removeListener("exit", run.killAll);
  run.guarding = on;
}

function failure(spec: ServerProcessSpec, run: Run, sentence: string): Error {
  const text = redact(spec, spec.context ? `${sentence}; ${spec.context}` : sentence);
  return spec.startError(text, logTailOf(spec, run, 40));
}

function spawnRun(spec: ServerProcessSpec, run: Run): ChildProcess {
  const decode = spec.decodeExit ?? ((code, sig) => ({ code, signal: sig }));
  run.stderr = "";
  run.tree = [];
  const proc = spawn(spec.command, [...spec.args], {
    cwd: spec.cwd,
    env: spec.env ?? process.env,
    // Servers repeat their log on the console; stderr explains early failures.
    stdio: ["ignore", "ignore", "pipe"],
  });
  run.child = proc;
  run.alive = true;
  guardExit(run, true);
  proc.stderr?.on("data", (chunk: Buffer) => {
    run.stderr = (run.stderr + chunk.toString("utf8")).slice(-4096);
  });
  run.exited = new Promise<ProcessExit>((resolve) => {
    const gone = (exit: ProcessExit) => {
      run.alive = false;
      if (!run.tree.some(isRunning)) guardExit(run, false);
      resolve(exit);
    };
    proc.once("exit", (code, sig) => gone(decode(code, sig)));
    proc.once("error", (err) => {
      run.stderr += `\n${err.message}`;
      gone({ code: null, signal: null });
    });
  });
  return proc;
}

async function awaitReady(spec: ServerProcessSpec, run: Run, logOffset: number): Promise<void> {
  const { readiness } = spec;
  const probe = async () => {
    const text = spec.logPath ? readTail(spec.logPath, logOffset, 1 << 20) : "";
    const failed = readiness.failure?.(text);
    if (failed !== undefined) throw failure(spec, run, failed);
    if (!run.alive) {
      const exit = await run.exited;
      throw failure(
        spec,
        run,
        `${spec.label} exited during startup (code ${exit.code}, signal ${exit.signal})`,
      );
    }
    return readiness.ready(text);
  };
  try {
    await waitFor(probe, readiness.timeoutMs, `${spec.label} to start`, readiness.intervalMs);
  } catch (err) {
    if (!(err instanceof WaitTimeout)) throw err;
    throw failure(
      spec,
      run,
      `${spec.label} did not ${readiness.what} within ${readiness.timeoutMs} ms`,
    );
  }
}

/** SIGTERM to the child (or `spec.terminate`'s pids), SIGKILL to all of it past the timeout. */
async function stopRun(spec: ServerProcessSpec, run: Run): Promise<void> {
  const proc = run.child;
  if (!proc) return;
  const all = everything(run);
  if (run.alive || all.some(isRunning)) {
    const running = all.filter(isRunning);
    const defaults = run.alive && proc.pid ? [proc.pid] : running.map((p) => p.pid);
    const targets = proc.pid && spec.terminate ? spec.terminate(proc.pid, running) : defaults;
    for (const pid of targets) signal(pid, "SIGTERM");
    const done = Promise.all([run.exited, allGone(all, spec.stopTimeoutMs)]);
    if ((await Promise.race([done, timeout(spec.stopTimeoutMs)])) === "timeout") {
      const { stopTimeoutMs } = spec;
      spec.logger.warn(
        { pid: proc.pid, stopTimeoutMs },
        `${spec.label} ignored SIGTERM; sending SIGKILL`,
      );
      for (const p of all) if (isRunning(p)) signal(p.pid, "SIGKILL");
      proc.kill("SIGKILL");
      await run.exited;
    }
  }
  // A VM's port programs normally go with it; whatever stays is killed.
  if (!(await allGone(all, 2_000))) {
    for (const p of all) if (isRunning(p)) signal(p.pid, "SIGKILL");
    await allGone(all, 2_000);
  }
  guardExit(run, false);
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
