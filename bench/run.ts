import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { MemoryResult } from "./memory.js";
import { type PipelineReport, runPipelineBench } from "./pipeline.js";
import { chart } from "./plot.js";
import { machineDescription } from "./proc-stats.js";
import { renderMemory, renderPipeline } from "./report.js";
import { median } from "./stats.js";

/**
 * `npm run bench`: the pipeline and memory benchmarks, then their sections
 * of BENCHMARKS.md (between `<!-- bench:NAME -->` markers; the rest of the
 * file, e.g. the liveness section, is kept) and bench/results/*.svg.
 *
 *   npm run bench [-- --rounds 4 --sessions 100000,1000000]
 *   npm run bench -- --smoke --out DIR   (tiny sizes, seconds; writes DIR/BENCHMARKS.md)
 *
 * Exits 1 if any benchmark reports a correctness failure.
 */

const { values: args } = parseArgs({
  options: {
    smoke: { type: "boolean", default: false },
    rounds: { type: "string", default: "4" },
    sessions: { type: "string", default: "100000,1000000" },
    out: { type: "string" },
  },
  strict: true,
});

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
const smoke = args.smoke;
const outDir = args.out ?? root;
const resultsDir = args.out ? join(args.out, "results") : join(here, "results");
mkdirSync(resultsDir, { recursive: true });
const failures: string[] = [];
const startedAt = new Date().toISOString().slice(0, 16).replace("T", " ");

process.stderr.write("pipeline benchmark\n");
const pipeline: PipelineReport = runPipelineBench(
  smoke
    ? {
        rounds: 1,
        events: 2_000,
        warmup: 500,
        window: 1000,
        rates: [1_000],
        seconds: 1,
        log: "info",
      }
    : {
        rounds: Number(args.rounds),
        events: 200_000,
        warmup: 50_000,
        window: 1000,
        rates: [2_000, 5_000, 10_000, 20_000, 30_000],
        seconds: 4,
        log: "info",
      },
);
failures.push(...pipeline.failures);

process.stderr.write("memory benchmark\n");
const memorySizes = smoke ? [2_000] : args.sessions.split(",").map(Number);
const memory: { result: MemoryResult; mapBytes: number }[] = [];
for (const sessions of memorySizes) {
  const run = (extra: string[]) =>
    execFileSync(
      process.execPath,
      [
        "--expose-gc",
        "--import",
        "tsx",
        join(here, "memory.ts"),
        "--sessions",
        String(sessions),
        ...extra,
      ],
      { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
    );
  let result: MemoryResult;
  try {
    result = JSON.parse(run(smoke ? ["--seconds", "1"] : ["--seconds", "60"])) as MemoryResult;
  } catch (err) {
    // A correctness failure exits 1 with the JSON still on stdout.
    const stdout = (err as { stdout?: string }).stdout ?? "{}";
    result = JSON.parse(stdout) as MemoryResult;
    failures.push(`memory ${sessions}: ${result.failure ?? (err as Error).message}`);
  }
  const mapBytes = (JSON.parse(run(["--map"])) as { bytesPerSession: number }).bytesPerSession;
  memory.push({ result, mapBytes });
  process.stderr.write(
    `  ${sessions} sessions: ${result.bytesPerSession.toFixed(0)} B/session (Map baseline ${mapBytes.toFixed(0)}), loop max ${result.loopMaxMs.toFixed(1)} ms\n`,
  );
}

const machine = machineDescription();
const machineLine = `${machine.cores} × ${machine.model} (\`nproc\` ${machine.cores}), Node ${process.version}, run started ${startedAt} UTC${smoke ? " (SMOKE: tiny sizes, figures meaningless)" : ""}`;

const sections = {
  pipeline: renderPipeline(pipeline, machineLine),
  memory: renderMemory(memory, machineLine),
};
const path = join(outDir, "BENCHMARKS.md");
let text: string;
try {
  text = readFileSync(path, "utf8");
} catch {
  text = "# Benchmarks\n";
}
for (const [name, body] of Object.entries(sections)) {
  const open = `<!-- bench:${name} -->`;
  const close = `<!-- /bench:${name} -->`;
  const block = `${open}\n${body.trim()}\n${close}`;
  const a = text.indexOf(open);
  const b = text.indexOf(close);
  text =
    a >= 0 && b > a
      ? text.slice(0, a) + block + text.slice(b + close.length)
      : `${text.trimEnd()}\n\n${block}\n`;
}
writeFileSync(path, text);
// The raw figures, for anyone who wants to plot or check them differently.
writeFileSync(
  join(resultsDir, "run.json"),
  `${JSON.stringify({ startedAt, pipeline, memory }, null, 1)}\n`,
);

const rates = pipeline.paced.map((p) => p.rate);
const med = (ms: number[]) => median(ms);
writeFileSync(
  join(resultsDir, "pipeline.svg"),
  chart("presence-notify pipeline: throughput and p99 latency against offered load", [
    {
      title: "Pipeline: throughput against offered load",
      xLabel: "offered presences/s (open loop)",
      yLabel: "notifications/s (median of rounds)",
      series: [
        {
          name: "daemon",
          color: "#c0392b",
          points: pipeline.paced.map((p) => ({
            x: p.rate,
            y: med(p.subject.map((m) => m.eventsPerSecond)),
          })),
        },
        {
          name: "hand-written baseline",
          color: "#2c7fb8",
          points: pipeline.paced.map((p) => ({
            x: p.rate,
            y: med(p.baseline.map((m) => m.eventsPerSecond)),
          })),
        },
      ],
    },
    {
      title: "Pipeline: p99 latency against offered load",
      xLabel: "offered presences/s (open loop)",
      yLabel: "p99 ms, presence in to notification out (log)",
      logY: true,
      series: [
        {
          name: "daemon",
          color: "#c0392b",
          points: pipeline.paced.map((p) => ({
            x: p.rate,
            y: med(p.subject.map((m) => m.latencyP99Ms ?? 0)),
          })),
        },
        {
          name: "hand-written baseline",
          color: "#2c7fb8",
          points: pipeline.paced.map((p) => ({
            x: p.rate,
            y: med(p.baseline.map((m) => m.latencyP99Ms ?? 0)),
          })),
        },
      ],
    },
  ]),
);
process.stderr.write(`wrote ${path} and ${resultsDir}/pipeline.svg (rates ${rates.join(", ")})\n`);
for (const failure of failures) process.stderr.write(`FAILED: ${failure}\n`);
process.exit(failures.length > 0 ? 1 : 0);
