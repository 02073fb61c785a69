import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { type Daemon, startDaemon } from "../src/app/daemon.js";
import { resolveConfig } from "../src/config/load.js";
import { sleep, WaitTimeout, waitFor } from "../src/launcher/polling.js";
import { createLogger } from "../src/telemetry/log.js";
import { type EjabberdServer, startEjabberd } from "../testkit/ejabberd.js";
import type { Detection, DropReport, FleetStats, LoginReport } from "./client-fleet.js";
import { ejabberdWithOurOpenFilesLimit } from "./ejabberd-open-files.js";
import { Fleet } from "./fleet-process.js";
import { report, type Spread, summarize, type Window } from "./liveness-report.js";
import {
  machineDescription,
  machineJiffies,
  openFilesLimit,
  processCpuSeconds,
  rssMiB,
} from "./proc-stats.js";

/**
 * What XEP-0199 liveness pings cost at 10,000 tracked sessions on ejabberd,
 * and how long a dead session takes to be reported under the rate cap.
 *
 * One run: a throwaway ejabberd, N raw c2s sessions (bench/client-fleet.ts,
 * in a child process so this process's CPU is the daemon's), then the daemon
 * in this process, restarted per phase because `max_rate` is fixed at start:
 *   A  liveness off (max_rate 0): the baseline, 10k idle sessions;
 *   B  the defaults (30 s, 10 s, 200/s), with sessions faulted at its start;
 *   C  interval 10 s, max_rate 1000, to see how the cost scales per ping.
 * Prints a Markdown report (BENCHMARKS.md is copied from it). Exits 1 when
 * something is wrong: not every session logged in, the daemon never tracked
 * them all, ejabberd died.
 *
 *   npm run bench:liveness [-- --sessions 10000 --window 60 --faults 100 --skip-scale]
 */

const DOMAIN = "localhost";
const COMPONENT = "presence.localhost";
const WORLD = "world";
const PASSWORD = "bench-pw";
const SLICE_S = 10;
// The histogram records the time between timer firings, resolution included:
// the delay reported is what exceeds it.
const LOOP_RESOLUTION_MS = 10;

const { values: args } = parseArgs({
  options: {
    sessions: { type: "string", default: "10000" },
    window: { type: "string", default: "60" },
    faults: { type: "string", default: "100" },
    concurrency: { type: "string", default: "100" },
    "skip-scale": { type: "boolean", default: false },
  },
  strict: true,
});
const SESSIONS = Number(args.sessions);
const WINDOW_S = Number(args.window);
const FAULTS = Number(args.faults);
const CONCURRENCY = Number(args.concurrency);

/** ejabberd's `connected_users_number` answers `{"num_sessions": N}`. */
async function sessionsOnline(server: EjabberdServer): Promise<number> {
  const answer = await server.api<{ num_sessions?: number } | number>("connected_users_number");
  return typeof answer === "number" ? answer : (answer.num_sessions ?? Number.NaN);
}

const say = (line: string) => process.stderr.write(`[bench ${clock()}] ${line}\n`);
const t0 = Date.now();
const clock = () => `${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s`;

class BenchFailure extends Error {
  readonly _tag = "BenchFailure";
}

/** Measures one window of `seconds`, in slices, while `during` (if any) runs alongside. */
async function measure(
  phase: string,
  liveness: string,
  server: EjabberdServer,
  fleet: Fleet,
  daemon: Daemon,
  seconds: number,
): Promise<Window> {
  const counters = daemon.service.counters;
  const fleetPid = fleet.child.pid ?? -1;
  const sample = () => ({
    at: performance.now(),
    ej: processCpuSeconds(server.pid),
    fleet: processCpuSeconds(fleetPid),
    daemon: process.cpuUsage(),
    machine: machineJiffies(),
  });
  const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  const before = {
    pings: counters.get("liveness_pings"),
    alive: counters.get("liveness_alive"),
    gone: counters.get("liveness_gone"),
    timeouts: counters.get("liveness_timeout"),
    answered: (await fleet.call<FleetStats>({ op: "stats" })).pingsAnswered,
  };
  const first = sample();
  loop.enable();
  const ej: number[] = [];
  const dm: number[] = [];
  let prev = first;
  for (let left = seconds; left > 0; left -= SLICE_S) {
    await sleep(Math.min(SLICE_S, left) * 1000);
    const s = sample();
    const wall = (s.at - prev.at) / 1000;
    ej.push(((s.ej - prev.ej) / wall) * 100);
    dm.push(((cpuSeconds(s.daemon) - cpuSeconds(prev.daemon)) / wall) * 100);
    prev = s;
  }
  loop.disable();
  const last = prev;
  const wall = (last.at - first.at) / 1000;
  const after = await fleet.call<FleetStats>({ op: "stats" });
  const mem = process.memoryUsage();
  const spread = (total: number, slices: number[]): Spread => ({
    mean: (total / wall) * 100,
    min: Math.min(...slices),
    max: Math.max(...slices),
  });
  return {
    phase,
    liveness,
    tracked: daemon.service.intake.liveness.tracked,
    seconds: wall,
    pings: counters.get("liveness_pings") - before.pings,
    alive: counters.get("liveness_alive") - before.alive,
    gone: counters.get("liveness_gone") - before.gone,
    timeouts: counters.get("liveness_timeout") - before.timeouts,
    answered: after.pingsAnswered - before.answered,
    ejabberd: spread(last.ej - first.ej, ej),
    daemon: spread(cpuSeconds(last.daemon) - cpuSeconds(first.daemon), dm),
    fleet: ((last.fleet - first.fleet) / wall) * 100,
    machine:
      ((last.machine.busy - first.machine.busy) / (last.machine.total - first.machine.total)) *
      100 *
      cores,
    loopP99Ms: Math.max(0, loop.percentile(99) / 1e6 - LOOP_RESOLUTION_MS),
    loopMaxMs: Math.max(0, loop.max / 1e6 - LOOP_RESOLUTION_MS),
    ejabberdRss: rssMiB(server.pid),
    daemonRss: mem.rss / 2 ** 20,
    daemonHeap: mem.heapUsed / 2 ** 20,
  };
}

const cores = machineDescription().cores;
const cpuSeconds = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6;

function daemonConfig(server: EjabberdServer, secret: string, liveness: string[]) {
  return resolveConfig({
    path: "(bench)",
    env: {},
    readFile: (path) => readFileSync(path, "utf8"),
    text: [
      "[component]",
      `service = "xmpp://127.0.0.1:${server.componentPort}"`,
      `domain = "${COMPONENT}"`,
      `secret = "${secret}"`,
      "[notify]",
      `server_user = "${WORLD}"`,
      "[reconnect]",
      'initial = "200ms"',
      'max = "2s"',
      "[resync]",
      `ejabberd_api = "http://127.0.0.1:${server.httpApiPort}/api"`,
      "[liveness]",
      ...liveness,
      "[log]",
      'level = "warn"',
    ].join("\n"),
  }).config;
}

/**
 * Starts a daemon, waits until it tracks `expected` sessions (learnt from
 * ejabberd's session list at connect) and the server user has its
 * `available` notifications, runs `body`, stops the daemon.
 */
async function withDaemon<T>(
  server: EjabberdServer,
  secret: string,
  fleet: Fleet,
  expected: number,
  liveness: string[],
  body: (daemon: Daemon, connectedAt: number) => Promise<T>,
): Promise<T> {
  const logger = createLogger({ level: "warn" }, pino.destination(2));
  const notifiedBefore = (await fleet.call<FleetStats>({ op: "stats" })).notified.available;
  const started = Date.now();
  const daemon = startDaemon({ config: daemonConfig(server, secret, liveness), logger });
  try {
    await waitFor(() => daemon.link.online, 30_000, "the daemon connected to ejabberd", 100);
    await waitFor(
      () => daemon.service.intake.registry.size === expected,
      60_000,
      `the daemon tracks ${expected} sessions (it has ${daemon.service.intake.registry.size})`,
      100,
    );
    const learntMs = Date.now() - started;
    if (daemon.service.intake.liveness.tracked !== expected) {
      throw new BenchFailure(
        `liveness tracks ${daemon.service.intake.liveness.tracked} sessions, expected ${expected}`,
      );
    }
    await waitFor(
      async () => {
        const s = await fleet.call<FleetStats>({ op: "stats" });
        return s.notified.available - notifiedBefore >= expected;
      },
      60_000,
      `the server user got ${expected} available notifications`,
      100,
    );
    say(
      `daemon (${liveness.join(" ")}) tracks ${expected} sessions ${learntMs} ms after start; ` +
        `notifications delivered after ${Date.now() - started} ms`,
    );
    return await body(daemon, started);
  } finally {
    await daemon.stop();
  }
}

async function main(): Promise<number> {
  const limit = openFilesLimit();
  if (limit < SESSIONS + 1_000) {
    throw new BenchFailure(
      `the open-files limit is ${limit}, too low for ${SESSIONS} sessions: run under \`bash -c 'ulimit -n 65536; npm run bench:liveness'\``,
    );
  }
  const secret = randomBytes(16).toString("hex");
  let server: EjabberdServer | undefined;
  let fleet: Fleet | undefined;
  const shim = await ejabberdWithOurOpenFilesLimit();
  // Once, whether from the finally below or a signal, and awaited by both.
  let stopping: Promise<void> | undefined;
  const stopAll = () => {
    stopping ??= (async () => {
      await fleet?.stop();
      await server?.stop();
      await shim.restore();
    })();
    return stopping;
  };
  const onSignal = () => {
    say("interrupted: stopping what the bench started");
    void stopAll().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    server = await startEjabberd({
      domains: [DOMAIN],
      component: { domain: COMPONENT, secret },
      httpApi: true,
    });
    const ejabberd = server;
    const ejabberdFiles = openFilesLimit(ejabberd.pid);
    if (ejabberdFiles < SESSIONS + 1_000) {
      throw new BenchFailure(
        `ejabberd's open-files limit is ${ejabberdFiles}, too low for ${SESSIONS} sessions (see bench/ejabberd-open-files.ts)`,
      );
    }
    say(
      `ejabberd pid ${ejabberd.pid} (open files ${ejabberdFiles}), c2s 127.0.0.1:${ejabberd.c2sPort}`,
    );
    const users = Array.from({ length: SESSIONS }, (_, i) => `bench.${i + 1}`);
    let t = Date.now();
    await ejabberd.registerMany(
      [WORLD, ...users].map((user) => ({ user, host: DOMAIN, password: PASSWORD })),
    );
    const registerMs = Date.now() - t;
    say(`registered ${SESSIONS + 1} accounts in ${registerMs} ms`);

    fleet = new Fleet(
      fork(fileURLToPath(new URL("./client-fleet.ts", import.meta.url)), [], {
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      }),
    );
    const clients = fleet;
    t = Date.now();
    const login = await clients.call<LoginReport>({
      op: "login",
      args: {
        port: ejabberd.c2sPort,
        domain: DOMAIN,
        password: PASSWORD,
        world: WORLD,
        users,
        concurrency: CONCURRENCY,
      },
    });
    say(`logged in ${login.loggedIn}/${SESSIONS} in ${login.ms} ms (${login.failed} failed)`);
    if (login.loggedIn !== SESSIONS) {
      throw new BenchFailure(
        `${login.failed} of ${SESSIONS} logins failed; first: ${login.firstError}`,
      );
    }
    const online = await sessionsOnline(ejabberd);
    if (online !== SESSIONS + 1) {
      throw new BenchFailure(`ejabberd counts ${online} sessions, expected ${SESSIONS + 1}`);
    }

    const windows: Window[] = [];
    const A = ['interval = "30s"', 'timeout = "10s"', "max_rate = 0"];
    windows.push(
      await withDaemon(ejabberd, secret, clients, SESSIONS, A, async (daemon) => {
        await sleep(3_000);
        say(`A: measuring ${WINDOW_S} s, liveness off`);
        return measure("A", "off (max_rate 0)", ejabberd, clients, daemon, WINDOW_S);
      }),
    );

    const B = ['interval = "30s"', 'timeout = "10s"', "max_rate = 200"];
    let detections: Detection[] = [];
    let faultedAt = "";
    let falseAlarms = 0;
    windows.push(
      await withDaemon(ejabberd, secret, clients, SESSIONS, B, async (daemon, started) => {
        const c = daemon.service.counters;
        await waitFor(() => c.get("liveness_pings") > 0, 60_000, "the first liveness pings", 100);
        say(`B: first pings ${Date.now() - started} ms after the daemon started`);
        await sleep(2_000);
        const unavailableBefore = (await clients.call<FleetStats>({ op: "stats" })).notified
          .unavailable;
        const dropped = await clients.call<DropReport>({
          op: "fault",
          args: { count: FAULTS, how: "drop" },
        });
        await clients.call<DropReport>({ op: "fault", args: { count: FAULTS, how: "mute" } });
        faultedAt = `${((dropped.at - started) / 1000).toFixed(0)} s after the daemon started, at the start of the window`;
        say(`B: dropped ${FAULTS} sockets and muted ${FAULTS} clients; measuring ${WINDOW_S} s`);
        const w = await measure(
          "B",
          "defaults: 30 s, 10 s, max_rate 200",
          ejabberd,
          clients,
          daemon,
          WINDOW_S,
        );
        // The slowest possible: a full sweep (the interval, or longer at the cap), then two timeouts.
        const sweepMs = Math.max(30_000, (SESSIONS / 200) * 1000);
        const cap = dropped.at + sweepMs + 2 * 10_000 + 15_000;
        await waitFor(
          async () => {
            detections = await clients.call<Detection[]>({ op: "detections" });
            return detections.every((d) => d.ms !== undefined);
          },
          Math.max(0, cap - Date.now()),
          "every faulted session reported",
          100,
        ).catch((err: Error) => say(`B: ${err.message}`));
        const s = await clients.call<FleetStats>({ op: "stats" });
        falseAlarms =
          s.notified.unavailable -
          unavailableBefore -
          detections.filter((d) => d.ms !== undefined).length;
        return w;
      }),
    );

    if (!args["skip-scale"]) {
      // The muted sessions are still on ejabberd: let them go, so C starts clean.
      await clients.call<number>({ op: "dropMuted" });
      const left = SESSIONS - 2 * FAULTS;
      await waitFor(
        async () => (await sessionsOnline(ejabberd)) === left + 1,
        30_000,
        `ejabberd down to ${left + 1} sessions`,
        100,
      );
      const C = ['interval = "10s"', 'timeout = "10s"', "max_rate = 1000"];
      windows.push(
        await withDaemon(ejabberd, secret, clients, left, C, async (daemon, started) => {
          const c = daemon.service.counters;
          await waitFor(() => c.get("liveness_pings") > 0, 60_000, "the first liveness pings", 100);
          say(`C: first pings ${Date.now() - started} ms after the daemon started`);
          await sleep(12_000); // past the first sweep, into the steady state
          say(`C: measuring ${WINDOW_S} s`);
          return measure(
            "C",
            "interval 10 s, 10 s, max_rate 1000",
            ejabberd,
            clients,
            daemon,
            WINDOW_S,
          );
        }),
      );
    }

    const markdown = report({
      sessions: SESSIONS,
      concurrency: CONCURRENCY,
      sliceS: SLICE_S,
      cores,
      date: `${new Date(t0).toISOString().slice(0, 16).replace("T", " ")} UTC`,
      registerMs,
      login,
      windows,
      detections: [summarize(detections, "drop"), summarize(detections, "mute")],
      falseAlarms,
      faultedAt,
    });
    process.stdout.write(`${markdown}\n`);
    const undetected = detections.filter((d) => d.ms === undefined).length;
    if (undetected > 0) {
      say(`${undetected} faulted sessions were never reported`);
      return 1;
    }
    return 0;
  } finally {
    await stopAll();
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(
      `bench failed: ${err instanceof BenchFailure || err instanceof WaitTimeout ? err.message : err.stack}\n`,
    );
    process.exit(1);
  },
);
