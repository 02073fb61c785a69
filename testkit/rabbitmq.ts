import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import amqp from "amqplib";
import { readTail, sleep } from "../src/launcher/log-file.js";
import { freePort } from "../src/launcher/ports.js";
import { descendants, isRunning, type ProcStat, signal } from "../src/launcher/process-tree.js";
import type { ProcessExit } from "../src/launcher/prosody.js";
import { type Logger, silentLogger } from "../src/log.js";
import { type RabbitMqLayout, rabbitMqEnv, renderRabbitMqConf } from "./rabbitmq-config.js";

/**
 * A throwaway RabbitMQ broker for end-to-end tests (MongooseIM's
 * mod_event_pusher route, issue #9): Debian's rabbitmq-server in the
 * foreground, its mnesia, logs and config in a fresh temp dir, AMQP and the
 * Erlang distribution on 127.0.0.1 and free ports, with a private epmd on
 * loopback. Ready when an AMQP login succeeds. `stop()` ends the node and its
 * epmd and removes the dir, always; `restart()` stops the node and starts it
 * again on the same ports and mnesia (durable queues survive; non-durable
 * exchanges and non-persistent messages do not, as with a real broker).
 *
 * The script is run directly, not the /usr/sbin wrapper, which switches to
 * user `rabbitmq` and writes to /var/log. Its shell forwards SIGTERM to the
 * VM and waits for a clean stop.
 */

export interface RabbitMqOptions {
  /** How long to wait for an AMQP login; default 60 s. */
  readyTimeoutMs?: number;
  /** How long a stop may take before SIGKILL; default 15 s. */
  stopTimeoutMs?: number;
  logger?: Logger;
}

export interface RabbitMqServer {
  readonly kind: "rabbitmq";
  readonly amqpPort: number;
  /** amqp://user:password@127.0.0.1:PORT/ */
  readonly url: string;
  readonly node: string;
  readonly dir: string;
  /** Pid of the current launcher shell (changes on `restart()`). */
  readonly pid: number;
  /** Settles when the current node exits, for whatever reason. */
  readonly exited: Promise<ProcessExit>;
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** Only the node, keeping epmd and the dir: for a test that starts it again with `start()`. */
  stopNode(): Promise<void>;
  startNode(): Promise<void>;
  logTail(lines?: number): string;
}

export class RabbitMqStartError extends Error {
  readonly _tag = "RabbitMqStartError";
  constructor(message: string, logTail: string) {
    super(`${message}\n--- rabbitmq log tail ---\n${logTail}`);
    this.name = "RabbitMqStartError";
  }
}

const SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server";

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

function watchExit(child: ChildProcess): Promise<ProcessExit> {
  return new Promise((resolve) => {
    child.once("exit", (code, sig) => resolve({ code, signal: sig }));
    child.once("error", () => resolve({ code: null, signal: null }));
  });
}

async function canLogIn(url: string): Promise<boolean> {
  try {
    const connection = await amqp.connect(url, { timeout: 2_000 });
    connection.on("error", () => undefined);
    await connection.close();
    return true;
  } catch {
    return false;
  }
}

export async function startRabbitMq(options: RabbitMqOptions = {}): Promise<RabbitMqServer> {
  const log = (options.logger ?? silentLogger).child({ server: "rabbitmq" });
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 15_000;
  const dir = await mkdtemp(join(tmpdir(), "presence-notify-rabbitmq-"));
  const [amqpPort = 0, distPort = 0, epmdPort = 0] = await distinctFreePorts(3);
  const layout: RabbitMqLayout = {
    dir,
    amqpPort,
    distPort,
    epmdPort,
    node: `rabbit-${randomBytes(4).toString("hex")}@localhost`,
    user: "pn",
    password: randomBytes(12).toString("hex"),
  };
  const url = `amqp://${layout.user}:${layout.password}@127.0.0.1:${amqpPort}/`;
  const env = { ...process.env, ...rabbitMqEnv(layout) };
  const logPath = join(dir, "log", `${layout.node}.log`);

  let epmd: ChildProcess | undefined;
  let node: ChildProcess | undefined;
  let exited: Promise<ProcessExit> = Promise.resolve({ code: null, signal: null });
  let beam: ProcStat[] = [];
  let stderr = "";
  let removed = false;

  const logTail = (lines = 40): string => {
    const text = readTail(logPath, 0, 64 * 1024) + (stderr ? `\n[stderr] ${stderr}` : "");
    return text.split("\n").slice(-lines).join("\n").replaceAll(layout.password, "[redacted]");
  };
  // If the test runner dies without afterAll, leave nothing behind.
  const killOnExit = () => {
    for (const p of [...beam, ...(node?.pid ? descendants(node.pid) : [])]) {
      if (isRunning(p)) signal(p.pid, "SIGKILL");
    }
    node?.kill("SIGKILL");
    epmd?.kill("SIGKILL");
  };
  process.once("exit", killOnExit);

  const startNode = async (): Promise<void> => {
    stderr = "";
    const child = spawn(SERVER, [], { cwd: dir, env, stdio: ["ignore", "ignore", "pipe"] });
    node = child;
    exited = watchExit(child);
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString("utf8")).slice(-4096);
    });
    let gone = false;
    void exited.then(() => {
      gone = true;
    });
    const deadline = Date.now() + readyTimeoutMs;
    while (!(await canLogIn(url))) {
      if (gone) throw new RabbitMqStartError("rabbitmq-server exited during start", logTail());
      if (Date.now() > deadline) {
        await stopNode();
        throw new RabbitMqStartError(
          `rabbitmq-server did not accept an AMQP login within ${readyTimeoutMs} ms`,
          logTail(),
        );
      }
      await sleep(200);
    }
    beam = child.pid ? descendants(child.pid).filter((p) => p.comm === "beam.smp") : [];
    log.info({ node: layout.node, amqpPort, pid: child.pid }, "rabbitmq ready");
  };

  const stopNode = async (): Promise<void> => {
    const child = node;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const vm = [...beam, ...(child.pid ? descendants(child.pid) : [])];
    child.kill("SIGTERM");
    const timer = setTimeout(() => {
      for (const p of vm) if (isRunning(p)) signal(p.pid, "SIGKILL");
      child.kill("SIGKILL");
    }, stopTimeoutMs);
    await exited;
    // The shell waits for the VM, but make sure: an orphaned VM would keep the ports.
    const deadline = Date.now() + stopTimeoutMs;
    while (vm.some(isRunning) && Date.now() < deadline) await sleep(50);
    for (const p of vm) if (isRunning(p)) signal(p.pid, "SIGKILL");
    clearTimeout(timer);
  };

  const stop = async (): Promise<void> => {
    try {
      await stopNode();
      if (epmd && epmd.exitCode === null && epmd.signalCode === null) {
        const gone = watchExit(epmd);
        epmd.kill("SIGTERM");
        await gone;
      }
    } finally {
      process.removeListener("exit", killOnExit);
      if (!removed) {
        removed = true;
        await rm(dir, { recursive: true, force: true });
      }
    }
  };

  try {
    await mkdir(join(dir, "mnesia"));
    await mkdir(join(dir, "log"));
    await writeFile(join(dir, "rabbitmq.conf"), renderRabbitMqConf(layout), { mode: 0o600 });
    await writeFile(join(dir, "advanced.config"), "[].\n");
    await writeFile(join(dir, "rabbitmq-env.conf"), "");
    await writeFile(join(dir, "enabled_plugins"), "[].\n");
    epmd = spawn("epmd", ["-address", "127.0.0.1", "-port", String(epmdPort)], {
      cwd: dir,
      stdio: "ignore",
    });
    await startNode();
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    kind: "rabbitmq",
    amqpPort,
    url,
    node: layout.node,
    dir,
    get pid() {
      return node?.pid ?? -1;
    },
    get exited() {
      return exited;
    },
    stop,
    stopNode,
    startNode,
    async restart() {
      await stopNode();
      await startNode();
    },
    logTail,
  };
}
