import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import amqp from "amqplib";
import { acceptsConnection, freePorts } from "../src/launcher/ports.js";
import {
  type ServerProcess,
  serverProcess,
  stopAndRestart,
  type ThrowawayServer,
} from "../src/launcher/server-process.js";
import { makeTempDir } from "../src/launcher/temp-dir.js";
import { type Logger, silentLogger } from "../src/telemetry/log.js";
import { type RabbitMqLayout, rabbitMqEnv, renderRabbitMqConf } from "./rabbitmq-config.js";

/**
 * A throwaway RabbitMQ broker for end-to-end tests (MongooseIM's
 * mod_event_pusher route): Debian's rabbitmq-server in the
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

export interface RabbitMqServer extends ThrowawayServer {
  readonly kind: "rabbitmq";
  readonly amqpPort: number;
  /** amqp://user:password@127.0.0.1:PORT/ */
  readonly url: string;
  readonly node: string;
  /** Pid of the current launcher shell (changes on `restart()`). */
  readonly pid: number;
  /** Only the node, keeping epmd and the dir: for a test that starts it again with `startNode()`. */
  stopNode(): Promise<void>;
  startNode(): Promise<void>;
}

export class RabbitMqStartError extends Error {
  readonly _tag = "RabbitMqStartError";
  constructor(message: string, logTail: string) {
    super(`${message}\n--- rabbitmq log tail ---\n${logTail}`);
    this.name = "RabbitMqStartError";
  }
}

const SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server";

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

/** The node's private epmd on loopback, ready when it accepts connections. */
function epmdProcess(layout: RabbitMqLayout, logger: Logger): ServerProcess {
  return serverProcess({
    label: "epmd",
    command: "epmd",
    args: ["-address", "127.0.0.1", "-port", String(layout.epmdPort)],
    cwd: layout.dir,
    readiness: {
      what: `listen on 127.0.0.1:${layout.epmdPort}`,
      ready: () => acceptsConnection(layout.epmdPort),
      timeoutMs: 10_000,
      intervalMs: 20,
    },
    stopTimeoutMs: 5_000,
    startError: (message, logTail) => new RabbitMqStartError(message, logTail),
    logger,
  });
}

/** The broker node, ready when an AMQP login succeeds. */
function nodeProcess(
  layout: RabbitMqLayout,
  url: string,
  options: RabbitMqOptions,
  logger: Logger,
): ServerProcess {
  return serverProcess({
    label: "rabbitmq-server",
    command: SERVER,
    args: [],
    cwd: layout.dir,
    env: { ...process.env, ...rabbitMqEnv(layout) },
    logPath: join(layout.dir, "log", `${layout.node}.log`),
    secrets: [layout.password],
    readiness: {
      what: "accept an AMQP login",
      ready: () => canLogIn(url),
      timeoutMs: options.readyTimeoutMs ?? 60_000,
      intervalMs: 200,
    },
    stopTimeoutMs: options.stopTimeoutMs ?? 15_000,
    startError: (message, logTail) => new RabbitMqStartError(message, logTail),
    readyFields: { node: layout.node, amqpPort: layout.amqpPort },
    logger,
  });
}

export async function startRabbitMq(options: RabbitMqOptions = {}): Promise<RabbitMqServer> {
  const logger = (options.logger ?? silentLogger).child({ server: "rabbitmq" });
  const dir = await makeTempDir("rabbitmq");
  const [amqpPort = 0, distPort = 0, epmdPort = 0] = await freePorts([
    undefined,
    undefined,
    undefined,
  ]);
  const layout: RabbitMqLayout = {
    dir: dir.path,
    amqpPort,
    distPort,
    epmdPort,
    node: `rabbit-${randomBytes(4).toString("hex")}@localhost`,
    user: "pn",
    password: randomBytes(12).toString("hex"),
  };
  const url = `amqp://${layout.user}:${layout.password}@127.0.0.1:${amqpPort}/`;
  const epmd = epmdProcess(layout, logger);
  const node = nodeProcess(layout, url, options, logger);
  const lifecycle = stopAndRestart(dir, [epmd, node], () => new Error("restart() after stop()"));
  try {
    await mkdir(join(dir.path, "mnesia"));
    await mkdir(join(dir.path, "log"));
    await writeFile(join(dir.path, "rabbitmq.conf"), renderRabbitMqConf(layout), { mode: 0o600 });
    await writeFile(join(dir.path, "advanced.config"), "[].\n");
    await writeFile(join(dir.path, "rabbitmq-env.conf"), "");
    await writeFile(join(dir.path, "enabled_plugins"), "[].\n");
    await epmd.start();
    await node.start();
  } catch (err) {
    await lifecycle.stop();
    throw err;
  }
  return {
    kind: "rabbitmq",
    amqpPort,
    url,
    node: layout.node,
    dir: dir.path,
    get pid() {
      return node.pid;
    },
    get exited() {
      return node.exited;
    },
    ...lifecycle,
    stopNode: node.stop,
    startNode: node.start,
    logTail: node.logTail,
  };
}
