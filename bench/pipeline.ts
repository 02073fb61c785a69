import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { sleep } from "../src/launcher/polling.js";
import type { PresenceStages } from "../src/telemetry/presence-stages.js";
import { startBaselineComponent } from "./baseline-component.js";
import { startBenchDaemon } from "./bench-daemon.js";
import { FakeComponentServer, SERVER_USER } from "./fake-component-server.js";
import { type StageSummary, summariseStages } from "./stage-summary.js";
import { median, percentile } from "./stats.js";

/**
 * Pipeline benchmark: the daemon's real code path, socket bytes in to
 * notification bytes out, in one process, against the hand-written baseline
 * of bench/baseline-component.ts, over the same loopback socket fed by the
 * same fake server (bench/fake-component-server.ts).
 *
 * The parent runs each measurement in a fresh child process (same flags,
 * same warm-up), subject and baseline interleaved round by round, so both see
 * the same machine noise; figures are the median over rounds with min-max.
 *
 *   tsx bench/pipeline.ts [--rounds 5] [--events 200000] [--rates 5000,10000,...] [--smoke]
 *   tsx bench/pipeline.ts --one subject|baseline --mode flood|paced ...   (one measurement, JSON)
 *
 * Exits 1 on a correctness failure: a notification missing, out of order,
 * for the wrong session or presence, or addressed to the wrong user.
 */

const COMPONENT = "presence.localhost";
const SESSIONS = 10_000;

const { values: args } = parseArgs({
  options: {
    one: { type: "string" },
    mode: { type: "string", default: "flood" },
    rate: { type: "string", default: "0" },
    events: { type: "string", default: "200000" },
    warmup: { type: "string", default: "50000" },
    window: { type: "string", default: "1000" },
    log: { type: "string", default: "info" },
    rounds: { type: "string", default: "5" },
    rates: { type: "string", default: "5000,10000,20000,30000" },
    seconds: { type: "string", default: "4" },
    smoke: { type: "boolean", default: false },
    out: { type: "string" },
  },
  // Imported by bench/run.ts, whose own options (--only, --sessions) are not ours.
  args: process.argv[1] === fileURLToPath(import.meta.url) ? process.argv.slice(2) : [],
  strict: true,
});

export interface Measurement {
  who: "subject" | "baseline";
  mode: "flood" | "paced";
  rate: number;
  events: number;
  seconds: number;
  eventsPerSecond: number;
  /** This process's CPU (user + system) over the measured run, per notification: the component's and the fake server's. */
  cpuUsPerEvent?: number;
  latencyP50Ms?: number;
  latencyP99Ms?: number;
  latencyMaxMs?: number;
  /** The daemon's own presence_stage_seconds over the measured run (the subject only). */
  stages?: StageSummary;
  failure?: string;
}

/** One measurement in this process. */
async function measureOne(): Promise<Measurement> {
  const who = args.one === "baseline" ? "baseline" : "subject";
  const mode = args.mode === "paced" ? "paced" : "flood";
  const rate = Number(args.rate);
  const events = Number(args.events);
  const warmup = Number(args.warmup);
  const server = new FakeComponentServer(COMPONENT, SESSIONS);
  const port = await server.listen();
  let stop: () => Promise<void> | void;
  let stages: (() => ReturnType<PresenceStages["snapshot"]>) | undefined;
  if (who === "baseline") {
    const baseline = await startBaselineComponent({
      port,
      domain: COMPONENT,
      secret: server.secret,
      serverUser: SERVER_USER,
    });
    stop = () => baseline.close();
  } else {
    const subject = await startBenchDaemon({
      port,
      domain: COMPONENT,
      secret: server.secret,
      serverUser: SERVER_USER,
      log: args.log,
    });
    await server.authenticated();
    for (let i = 0; i < 500 && !subject.daemon.link.online; i++) await sleep(10);
    stop = subject.stop;
    stages = () => subject.daemon.link.stages.snapshot();
  }
  await server.authenticated();
  await sleep(50);
  const window = Number(args.window);
  const warm = await server.flood(warmup, window, 0);
  if (warm.failure) return fail(warm.failure);
  const stagesBefore = stages?.();
  const cpu = process.cpuUsage();
  const run =
    mode === "flood"
      ? await server.flood(events, window, warmup)
      : await server.paced(events, rate, warmup);
  const used = process.cpuUsage(cpu);
  const stagesAfter = stages?.();
  await stop();
  await server.close();
  const out: Measurement = {
    who,
    mode,
    rate,
    events: run.notifications,
    seconds: run.seconds,
    eventsPerSecond: run.notifications / run.seconds,
    cpuUsPerEvent: (used.user + used.system) / Math.max(1, run.notifications),
  };
  if (stagesAfter) out.stages = summariseStages(stagesAfter, stagesBefore);
  if (run.latencies && run.latencies.length > 0) {
    const sorted = Float64Array.from(run.latencies).sort();
    out.latencyP50Ms = percentile(sorted, 0.5);
    out.latencyP99Ms = percentile(sorted, 0.99);
    out.latencyMaxMs = sorted[sorted.length - 1] ?? 0;
  }
  if (run.failure) out.failure = run.failure;
  return out;

  function fail(failure: string): Measurement {
    return { who, mode, rate, events: 0, seconds: 0, eventsPerSecond: 0, failure };
  }
}

/** Spawns one measurement in a fresh process. */
export function spawnOne(
  who: "subject" | "baseline",
  extra: string[],
  nodeFlags: string[] = [],
): Measurement {
  const self = fileURLToPath(import.meta.url);
  const out = execFileSync(
    process.execPath,
    [...nodeFlags, "--import", "tsx", self, "--one", who, ...extra],
    { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 16 * 2 ** 20 },
  );
  const line = out.trim().split("\n").pop() ?? "{}";
  return JSON.parse(line) as Measurement;
}

export interface PipelineReport {
  rounds: number;
  events: number;
  window: number;
  flood: { subject: Measurement[]; baseline: Measurement[]; ratios: number[] };
  /**
   * The daemon again at log level `warn` (no line per transition), in the
   * same rounds: how much of the gap is the transition log.
   */
  quiet: { subject: Measurement[]; ratios: number[] };
  paced: { rate: number; subject: Measurement[]; baseline: Measurement[] }[];
  failures: string[];
}

/** One more flood pair, subject then baseline, at `options`' sizes: events per second. */
export function floodPair(options: {
  events: number;
  warmup: number;
  window: number;
  log: string;
}): { subject: Measurement; baseline: Measurement } {
  const args = [
    ...["--warmup", String(options.warmup), "--window", String(options.window)],
    ...["--log", options.log, "--mode", "flood", "--events", String(options.events)],
  ];
  const subject = spawnOne("subject", args);
  const baseline = spawnOne("baseline", args);
  process.stderr.write(
    `  flood pair again: ${subject.eventsPerSecond.toFixed(0)} / ${baseline.eventsPerSecond.toFixed(0)} events/s\n`,
  );
  return { subject, baseline };
}

/** Rounds of subject and baseline, interleaved (the order alternates each round). */
export function runPipelineBench(options: {
  rounds: number;
  events: number;
  warmup: number;
  window: number;
  rates: number[];
  seconds: number;
  log: string;
}): PipelineReport {
  const report: PipelineReport = {
    rounds: options.rounds,
    events: options.events,
    window: options.window,
    flood: { subject: [], baseline: [], ratios: [] },
    quiet: { subject: [], ratios: [] },
    paced: options.rates.map((rate) => ({ rate, subject: [], baseline: [] })),
    failures: [],
  };
  const common = ["--warmup", String(options.warmup), "--window", String(options.window)];
  const pair = (extra: string[], round: number) => {
    const order: ("subject" | "baseline")[] =
      round % 2 === 0 ? ["subject", "baseline"] : ["baseline", "subject"];
    const got: Partial<Record<"subject" | "baseline", Measurement>> = {};
    for (const who of order) {
      const m = spawnOne(who, [...common, "--log", options.log, ...extra]);
      if (m.failure) report.failures.push(`${who} ${extra.join(" ")}: ${m.failure}`);
      got[who] = m;
      process.stderr.write(
        `  round ${round + 1} ${who} ${extra.join(" ")}: ${m.eventsPerSecond.toFixed(0)} events/s${
          m.latencyP99Ms === undefined ? "" : `, p99 ${m.latencyP99Ms.toFixed(2)} ms`
        }\n`,
      );
    }
    return got as Record<"subject" | "baseline", Measurement>;
  };
  for (let round = 0; round < options.rounds; round++) {
    const flood = pair(["--mode", "flood", "--events", String(options.events)], round);
    report.flood.subject.push(flood.subject);
    report.flood.baseline.push(flood.baseline);
    report.flood.ratios.push(flood.subject.eventsPerSecond / flood.baseline.eventsPerSecond);
    const quiet = spawnOne("subject", [
      ...common,
      "--log",
      "warn",
      "--mode",
      "flood",
      "--events",
      String(options.events),
    ]);
    if (quiet.failure) report.failures.push(`subject at log level warn: ${quiet.failure}`);
    process.stderr.write(
      `  round ${round + 1} subject at log level warn: ${quiet.eventsPerSecond.toFixed(0)} events/s\n`,
    );
    report.quiet.subject.push(quiet);
    report.quiet.ratios.push(quiet.eventsPerSecond / flood.baseline.eventsPerSecond);
    for (const paced of report.paced) {
      const events = String(Math.round(paced.rate * options.seconds));
      const m = pair(["--mode", "paced", "--rate", String(paced.rate), "--events", events], round);
      paced.subject.push(m.subject);
      paced.baseline.push(m.baseline);
    }
  }
  return report;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (args.one !== undefined) {
    const m = await measureOne();
    process.stdout.write(`${JSON.stringify(m)}\n`);
    process.exit(0);
  }
  const smoke = args.smoke;
  const report = runPipelineBench({
    rounds: smoke ? 1 : Number(args.rounds),
    events: smoke ? 2_000 : Number(args.events),
    warmup: smoke ? 500 : Number(args.warmup),
    window: Number(args.window),
    rates: smoke ? [1_000] : args.rates.split(",").map(Number),
    seconds: smoke ? 1 : Number(args.seconds),
    log: args.log,
  });
  const ratio = median(report.flood.ratios);
  process.stdout.write(`${JSON.stringify(report)}\n`);
  process.stderr.write(`pipeline: subject/baseline throughput ratio, median ${ratio.toFixed(3)}\n`);
  for (const failure of report.failures) process.stderr.write(`FAILED: ${failure}\n`);
  process.exit(report.failures.length > 0 ? 1 : 0);
}
