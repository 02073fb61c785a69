import { type ChildProcess, fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { sleep } from "../src/launcher/polling.js";
import { type ProsodyServer, startProsody } from "../src/launcher/prosody.js";
import { type EjabberdServer, startEjabberd } from "../testkit/ejabberd.js";
import type { E2eFleetRequest, E2eLoginReport, E2eRunResult } from "./e2e-fleet.js";
import { ejabberdWithOurOpenFilesLimit } from "./ejabberd-open-files.js";
import { Fleet } from "./fleet-process.js";
import {
  machineDescription,
  machineJiffies,
  openFilesLimit,
  packageVersion,
  processCpuSeconds,
} from "./proc-stats.js";
import { askStages, type StageSummary } from "./stage-summary.js";

/**
 * End-to-end benchmark: a real Prosody, then a real ejabberd,
 * each started once; a fleet of real c2s sessions and the server user in a
 * child process (bench/e2e-fleet.ts) changing presence on an open-loop
 * schedule; the component under test in a fresh process per measurement
 * (bench/e2e-subject.ts): the real daemon, or the minimal forwarder of
 * bench/forwarder-component.ts, both privileged the same way on the same
 * server, interleaved round by round (the order alternating).
 *
 *   tsx bench/e2e.ts [--servers prosody,ejabberd] [--rounds 3] [--users N] [--seconds 4] [--smoke]
 *   tsx bench/e2e.ts --server prosody --one daemon|forwarder --rate 2000 [--seconds 4]   (one measurement)
 *       [--subject-flags=--cpu-prof,--cpu-prof-dir=/tmp/prof]   (node flags for the subject's process)
 *
 * Prints the report (or the one measurement) as JSON on stdout, progress on
 * stderr. Exits 1 on a correctness failure: a notification mismatched or
 * extra, or one missing at a rate below the server's ceiling.
 */

export type ServerKind = "prosody" | "ejabberd";
export type Who = "daemon" | "forwarder";

const DOMAIN = "localhost";
const COMPONENT = "presence.localhost";
const WORLD = "world";
const PASSWORD = "bench-pw";
// The replay of live presences at connect (here the server user's alone) is
// in the same TCP chunk as the handshake reply; half a second is generous.
const SETTLE_MS = 1_500;
const SAMPLE_MS = 100;

export interface E2eRates {
  /** Rates below the ceiling: every notification must arrive. */
  below: number[];
  /** At or above the ceiling: the backlog is reported, not failed. */
  above: number[];
}

export interface E2eOptions {
  servers: ServerKind[];
  /** Client sessions per server. */
  users: Record<ServerKind, number>;
  rounds: number;
  rates: Record<ServerKind, E2eRates>;
  warmupS: number;
  seconds: number;
  drainS: number;
}

// Prosody's ceiling moves with the machine: about 5,800/s with 200 sessions
// in the runs of 2026-11-29, about 1,000-1,700/s on 2026-12-02 (the code of
// 2026-11-29 measured the same that day). 500/s stays below it on a slow
// day, so the latency comparison has a rate where the server is not the
// bottleneck; 2,000/s is the issue's target rate.
export const FULL_RATES: Record<ServerKind, E2eRates> = {
  prosody: { below: [500, 2_000], above: [3_500] },
  ejabberd: { below: [2_000, 5_000], above: [15_000] },
};

export interface Cpu {
  /** Seconds of CPU (user + system) over the window. */
  subject: number;
  server: number;
  fleet: number;
  /** The whole machine, in cores busy (out of nproc). */
  machineCores: number;
  /** The wall time the samples span, s. */
  wallS: number;
  /**
   * CPU seconds over the whole run (warm-up, window, drain): every
   * notification of the run was handled in it, so per notification this is
   * meaningful at overload too, where the window's count is not.
   */
  run: { subject: number; server: number; fleet: number };
}

export interface E2eMeasurement extends E2eRunResult {
  server: ServerKind;
  who: Who;
  round: number;
  cpu: Cpu;
  /** The daemon's own presence_stage_seconds over the whole run (warm-up, window, drain). */
  stages?: StageSummary;
  failure?: string;
}

export interface E2eServerReport {
  server: ServerKind;
  version: string;
  users: number;
  registerMs: number;
  login: E2eLoginReport;
  rates: { rate: number; below: boolean; daemon: E2eMeasurement[]; forwarder: E2eMeasurement[] }[];
  /** Notifications that arrived outside a run (e.g. the forwarder's replay of the server user). */
  stray: number;
}

export interface E2eReport {
  rounds: number;
  warmupS: number;
  seconds: number;
  servers: E2eServerReport[];
  failures: string[];
}

type Server = ProsodyServer | EjabberdServer;

const say = (line: string) => process.stderr.write(`[e2e] ${line}\n`);
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

/** A running server with its accounts and the fleet logged in. */
interface Bed {
  kind: ServerKind;
  server: Server;
  fleet: Fleet<E2eFleetRequest>;
  registerMs: number;
  login: E2eLoginReport;
  stop(): Promise<void>;
}

async function startBed(kind: ServerKind, users: number): Promise<Bed> {
  const secret = randomBytes(16).toString("hex");
  const component = { domain: COMPONENT, secret };
  let restore: () => Promise<void> = async () => undefined;
  let server: Server | undefined;
  let fleet: Fleet<E2eFleetRequest> | undefined;
  const stop = async () => {
    await fleet?.stop();
    await server?.stop();
    await restore();
  };
  try {
    if (kind === "prosody") {
      // Info level: debug logs every stanza, a cost the production server would not have.
      server = await startProsody({ component, debug: false });
    } else {
      restore = (await ejabberdWithOurOpenFilesLimit()).restore;
      server = await startEjabberd({ component, httpApi: true });
      const limit = openFilesLimit(server.pid);
      if (limit < users + 100) {
        throw new Error(`ejabberd's open-files limit is ${limit}, too low for ${users} sessions`);
      }
    }
    const names = Array.from({ length: users }, (_, i) => `bench.${i + 1}`);
    let t = Date.now();
    await server.registerMany(
      [WORLD, ...names].map((user) => ({ user, host: DOMAIN, password: PASSWORD })),
    );
    const registerMs = Date.now() - t;
    fleet = new Fleet<E2eFleetRequest>(
      fork(here("./e2e-fleet.ts"), [], { stdio: ["ignore", "inherit", "inherit", "ipc"] }),
    );
    t = Date.now();
    const login = await fleet.call<E2eLoginReport>({
      op: "login",
      args: {
        port: server.c2sPort,
        domain: DOMAIN,
        password: PASSWORD,
        world: WORLD,
        users: names,
        concurrency: 50,
      },
    });
    if (login.loggedIn !== users) {
      throw new Error(`${login.failed} of ${users} logins failed; first: ${login.firstError}`);
    }
    say(
      `${kind} pid ${server.pid}: ${users + 1} accounts in ${registerMs} ms, ${users} sessions logged in in ${login.ms} ms`,
    );
    return { kind, server, fleet, registerMs, login, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Extra node flags for the subject's process (`--subject-flags`), e.g. to profile it. */
let subjectFlags: string[] = [];

/** The component under test, in its own process; resolves once its link is up. */
async function startSubject(bed: Bed, who: Who): Promise<ChildProcess> {
  const child = fork(
    here("./e2e-subject.ts"),
    [
      "--who",
      who,
      "--port",
      String(bed.server.componentPort),
      "--domain",
      COMPONENT,
      "--secret",
      bed.server.secret,
      "--server-user",
      WORLD,
      "--user-domain",
      DOMAIN,
    ],
    {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      execArgv: [...process.execArgv, ...subjectFlags],
    },
  );
  await new Promise<void>((resolve, reject) => {
    child.once("message", () => resolve());
    child.once("exit", (code, signal) =>
      reject(new Error(`${who} exited before it was ready (code ${code}, signal ${signal})`)),
    );
  });
  return child;
}

async function stopSubject(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

interface Sample {
  at: number;
  subject: number;
  server: number;
  fleet: number;
  busy: number;
  total: number;
}

/** CPU of the three processes every SAMPLE_MS, on the epoch clock the fleet reports its window in. */
function sampler(pids: { subject: number; server: number; fleet: number }) {
  const samples: Sample[] = [];
  const take = () => {
    try {
      const m = machineJiffies();
      samples.push({
        at: performance.timeOrigin + performance.now(),
        subject: processCpuSeconds(pids.subject),
        server: processCpuSeconds(pids.server),
        fleet: processCpuSeconds(pids.fleet),
        busy: m.busy,
        total: m.total,
      });
    } catch {
      // A process gone mid-sample: the window's figures come from the others.
    }
  };
  take();
  const timer = setInterval(take, SAMPLE_MS);
  return {
    stop(start: number, end: number, cores: number): Cpu {
      clearInterval(timer);
      take();
      if (samples.length === 0) {
        const run = { subject: 0, server: 0, fleet: 0 };
        return { subject: 0, server: 0, fleet: 0, machineCores: 0, wallS: Number.NaN, run };
      }
      const nearest = (t: number) =>
        samples.reduce((best, s) => (Math.abs(s.at - t) < Math.abs(best.at - t) ? s : best));
      const a = nearest(start);
      const b = nearest(end);
      const first = samples[0] as Sample;
      const last = samples.at(-1) as Sample;
      return {
        run: {
          subject: last.subject - first.subject,
          server: last.server - first.server,
          fleet: last.fleet - first.fleet,
        },
        subject: b.subject - a.subject,
        server: b.server - a.server,
        fleet: b.fleet - a.fleet,
        machineCores: b.total > a.total ? ((b.busy - a.busy) / (b.total - a.total)) * cores : 0,
        wallS: (b.at - a.at) / 1000,
      };
    },
  };
}

const cores = machineDescription().cores;

/** One measurement: a fresh subject, the schedule, the subject stopped, the users reset. */
export async function measure(
  bed: Bed,
  who: Who,
  rate: number,
  options: Pick<E2eOptions, "warmupS" | "seconds" | "drainS">,
  round: number,
  below: boolean,
): Promise<E2eMeasurement> {
  const child = await startSubject(bed, who);
  let result: E2eRunResult;
  let cpu: Cpu;
  let stages: StageSummary | undefined;
  try {
    await sleep(SETTLE_MS);
    const s = sampler({
      subject: child.pid ?? -1,
      server: bed.server.pid,
      fleet: bed.fleet.child.pid ?? -1,
    });
    try {
      result = await bed.fleet.call<E2eRunResult>({
        op: "run",
        args: { rate, warmupS: options.warmupS, seconds: options.seconds, drainS: options.drainS },
      });
    } catch (err) {
      s.stop(0, 0, cores);
      throw err;
    }
    cpu = s.stop(result.windowStartEpochMs, result.windowEndEpochMs, cores);
    if (who === "daemon") stages = await askStages(child);
  } finally {
    await stopSubject(child);
  }
  await bed.fleet.call({ op: "reset" });
  const m: E2eMeasurement = { ...result, server: bed.kind, who, round, cpu };
  if (stages) m.stages = stages;
  const wrong: string[] = [];
  if (m.mismatched > 0) wrong.push(`${m.mismatched} notifications did not match their presence`);
  if (m.extra > 0) wrong.push(`${m.extra} notifications for no outstanding change`);
  if (below && m.missing > 0) wrong.push(`${m.missing} of ${m.sent} notifications missing`);
  if (below && m.serverUserDropped) wrong.push("the server closed the server user's session");
  if (wrong.length > 0) m.failure = `${bed.kind} ${who} ${rate}/s: ${wrong.join("; ")}`;
  const x = (v: number | null, d: number) =>
    v === null || !Number.isFinite(v) ? "–" : v.toFixed(d);
  const pct = (cpuS: number) => x((cpuS / cpu.wallS) * 100, 0);
  say(
    `${bed.kind} round ${round + 1} ${who.padEnd(9)} ${String(rate).padStart(6)}/s: ${x(m.achievedPerS, 0)}/s in window, ${x(m.completionPerS, 0)}/s over the run, p50 ${x(m.latencyMs.p50, 2)} p99 ${x(m.latencyMs.p99, 2)} max ${x(m.latencyMs.max, 1)} ms, backlog ${m.backlogAtWindowEnd}, missing ${m.missing}, sender late ≤ ${x(m.senderLateMaxMs, 1)} ms, CPU ${who} ${pct(cpu.subject)} % server ${pct(cpu.server)} % fleet ${pct(cpu.fleet)} %, machine ${x(cpu.machineCores, 2)} cores${m.failure ? `  FAILED: ${m.failure}` : ""}`,
  );
  return m;
}

/** All rates and rounds on one server, started once. */
async function runServer(
  kind: ServerKind,
  options: E2eOptions,
  report: E2eReport,
  onBed: (bed: Bed | undefined) => void,
): Promise<E2eServerReport> {
  const bed = await startBed(kind, options.users[kind]);
  onBed(bed);
  try {
    const rates = options.rates[kind];
    const out: E2eServerReport = {
      server: kind,
      version: packageVersion(kind),
      users: options.users[kind],
      registerMs: bed.registerMs,
      login: bed.login,
      rates: [
        ...rates.below.map((rate) => ({ rate, below: true })),
        ...rates.above.map((rate) => ({ rate, below: false })),
      ]
        .sort((x, y) => x.rate - y.rate)
        .map((r) => ({ ...r, daemon: [], forwarder: [] })),
      stray: 0,
    };
    for (let round = 0; round < options.rounds; round++) {
      const order: Who[] = round % 2 === 0 ? ["daemon", "forwarder"] : ["forwarder", "daemon"];
      for (const r of out.rates) {
        for (const who of order) {
          const m = await measure(bed, who, r.rate, options, round, r.below);
          if (m.failure) report.failures.push(m.failure);
          r[who].push(m);
        }
      }
    }
    out.stray = await bed.fleet.call<number>({ op: "stray" });
    return out;
  } finally {
    await bed.stop();
    onBed(undefined);
  }
}

/** The whole end-to-end benchmark; servers one at a time. */
export async function runE2eBench(options: E2eOptions): Promise<E2eReport> {
  const report: E2eReport = {
    rounds: options.rounds,
    warmupS: options.warmupS,
    seconds: options.seconds,
    servers: [],
    failures: [],
  };
  let live: Bed | undefined;
  const onSignal = () => {
    say("interrupted: stopping what the bench started");
    void (live?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    for (const kind of options.servers) {
      report.servers.push(
        await runServer(kind, options, report, (bed) => {
          live = bed;
        }),
      );
    }
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
  }
  return report;
}

export const SMOKE_OPTIONS: E2eOptions = {
  servers: ["prosody"],
  users: { prosody: 20, ejabberd: 20 },
  rounds: 1,
  rates: { prosody: { below: [200], above: [] }, ejabberd: { below: [200], above: [] } },
  warmupS: 0.5,
  seconds: 1.5,
  drainS: 5,
};

export const FULL_OPTIONS: E2eOptions = {
  servers: ["prosody", "ejabberd"],
  // Prosody's CPU per presence grew with the number of sessions in trial
  // runs here, to where 2,000/s was its ceiling at 1,000 sessions; at 200 it
  // is clearly below, as the latency target assumes.
  users: { prosody: 200, ejabberd: 1_000 },
  rounds: 3,
  rates: FULL_RATES,
  warmupS: 2,
  seconds: 4,
  drainS: 20,
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values: args } = parseArgs({
    options: {
      servers: { type: "string", default: "prosody,ejabberd" },
      server: { type: "string", default: "prosody" },
      one: { type: "string" },
      rate: { type: "string", default: "2000" },
      rounds: { type: "string", default: String(FULL_OPTIONS.rounds) },
      users: { type: "string" },
      seconds: { type: "string", default: String(FULL_OPTIONS.seconds) },
      warmup: { type: "string", default: String(FULL_OPTIONS.warmupS) },
      smoke: { type: "boolean", default: false },
      "subject-flags": { type: "string", default: "" },
    },
    strict: true,
  });
  subjectFlags = args["subject-flags"].split(",").filter((x) => x !== "");
  const base = args.smoke ? SMOKE_OPTIONS : FULL_OPTIONS;
  const options: E2eOptions = args.smoke
    ? base
    : {
        ...base,
        servers: args.servers.split(",") as ServerKind[],
        rounds: Number(args.rounds),
        users:
          args.users === undefined
            ? base.users
            : { prosody: Number(args.users), ejabberd: Number(args.users) },
        seconds: Number(args.seconds),
        warmupS: Number(args.warmup),
      };
  let code = 0;
  if (args.one !== undefined) {
    const kind = args.server as ServerKind;
    const bed = await startBed(kind, options.users[kind]);
    try {
      const rate = Number(args.rate);
      const below = rate <= Math.max(...FULL_RATES[kind].below);
      const m = await measure(bed, args.one as Who, rate, options, 0, below);
      process.stdout.write(`${JSON.stringify(m)}\n`);
      if (m.failure) code = 1;
    } finally {
      await bed.stop();
    }
  } else {
    const report = await runE2eBench(options);
    process.stdout.write(`${JSON.stringify(report)}\n`);
    for (const failure of report.failures) process.stderr.write(`FAILED: ${failure}\n`);
    if (report.failures.length > 0) code = 1;
  }
  process.exit(code);
}
