import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { FULL_OPTIONS, runE2eBench, SMOKE_OPTIONS } from "./e2e.js";
import { e2eChart, renderE2e } from "./e2e-report.js";
import type { MemoryResult } from "./memory.js";
import { floodPair, type PipelineReport, runPipelineBench } from "./pipeline.js";
import { machineDescription } from "./proc-stats.js";
import { pipelineChart, renderMemory, renderPipeline } from "./report.js";
import { guardFlood } from "./smoke-guard.js";

/**
 * `npm run bench`: the pipeline, memory and end-to-end benchmarks, then their
 * sections of BENCHMARKS.md (between `<!-- bench:NAME -->` markers; the rest
 * of the file, e.g. the liveness section, is kept) and bench/results/*.svg.
 *
 *   npm run bench [-- --rounds 4 --sessions 100000,1000000 --e2e-rounds 2]
 *   npm run bench -- --only e2e          (any of pipeline,memory,e2e; other sections are kept)
 *   npm run bench -- --smoke --out DIR   (tiny sizes, seconds; writes DIR/BENCHMARKS.md)
 *
 * With --smoke the pipeline's flood ratio to the baseline must clear a floor
 * of half today's (bench/smoke-guard.ts): a 2x regression fails the run.
 * Exits 1 if any benchmark reports a correctness failure.
 */

const BENCHES = ["pipeline", "memory", "e2e"];

const { values: args } = parseArgs({
  options: {
    smoke: { type: "boolean", default: false },
    rounds: { type: "string", default: "4" },
    sessions: { type: "string", default: "100000,1000000" },
    "e2e-rounds": { type: "string", default: String(FULL_OPTIONS.rounds) },
    only: { type: "string", default: BENCHES.join(",") },
    out: { type: "string" },
  },
  strict: true,
});

const only = new Set(args.only.split(",").map((x) => x.trim()));
for (const name of only) {
  if (!BENCHES.includes(name)) {
    process.stderr.write(`--only: no benchmark "${name}" (${BENCHES.join(", ")})\n`);
    process.exit(2);
  }
}
const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
const smoke = args.smoke;
const outDir = args.out ?? root;
const resultsDir = args.out ? join(args.out, "results") : join(here, "results");
mkdirSync(resultsDir, { recursive: true });
const failures: string[] = [];
const startedAt = new Date().toISOString().slice(0, 16).replace("T", " ");
const machine = machineDescription();
const machineLine = `${machine.cores} × ${machine.model} (\`nproc\` ${machine.cores}), Node ${process.version}, run started ${startedAt} UTC${smoke ? " (SMOKE: tiny sizes, figures meaningless)" : ""}`;
/** BENCHMARKS.md sections by marker name; only those of the benchmarks run. */
const sections: Record<string, string> = {};
const written: string[] = [];

let pipeline: PipelineReport | undefined;
if (only.has("pipeline")) {
  process.stderr.write("pipeline benchmark\n");
  const options = smoke
    ? { rounds: 1, events: 20_000, warmup: 5_000, window: 1000, rates: [1_000], seconds: 1 }
    : {
        rounds: Number(args.rounds),
        events: 200_000,
        warmup: 50_000,
        window: 1000,
        rates: [2_000, 5_000, 10_000, 20_000, 30_000],
        seconds: 4,
      };
  pipeline = runPipelineBench({ ...options, log: "info" });
  failures.push(...pipeline.failures);
  sections.pipeline = renderPipeline(pipeline, machineLine);
  writeFileSync(join(resultsDir, "pipeline.svg"), pipelineChart(pipeline));
  written.push("pipeline.svg");
  if (smoke) {
    // The regression guard: the ratio to the baseline of this run (bench/smoke-guard.ts).
    const { subject, baseline } = pipeline.flood;
    const pairs = subject.map((m, i) => ({ subject: m, baseline: baseline[i] ?? m }));
    const verdict = guardFlood(pairs, () => floodPair({ ...options, log: "info" }));
    process.stderr.write(`${verdict.text}\n`);
    if (!verdict.ok) failures.push(verdict.text);
  }
}

const memory: { result: MemoryResult; mapBytes: number }[] = [];
if (only.has("memory")) {
  process.stderr.write("memory benchmark\n");
  const memorySizes = smoke ? [2_000] : args.sessions.split(",").map(Number);
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
  sections.memory = renderMemory(memory, machineLine);
}

// The raw figures, for anyone who wants to plot or check them differently.
if (pipeline && only.has("memory")) {
  writeFileSync(
    join(resultsDir, "run.json"),
    `${JSON.stringify({ startedAt, pipeline, memory }, null, 1)}\n`,
  );
  written.push("run.json");
}

if (only.has("e2e")) {
  process.stderr.write("end-to-end benchmark\n");
  const e2e = await runE2eBench(
    smoke ? SMOKE_OPTIONS : { ...FULL_OPTIONS, rounds: Number(args["e2e-rounds"]) },
  );
  failures.push(...e2e.failures);
  sections.e2e = renderE2e(e2e, machineLine);
  writeFileSync(join(resultsDir, "e2e.json"), `${JSON.stringify({ startedAt, e2e }, null, 1)}\n`);
  writeFileSync(join(resultsDir, "e2e.svg"), e2eChart(e2e));
  written.push("e2e.json", "e2e.svg");
}

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
process.stderr.write(
  `wrote ${path} (${Object.keys(sections).join(", ")}) and ${written.map((w) => `${resultsDir}/${w}`).join(", ")}\n`,
);
for (const failure of failures) process.stderr.write(`FAILED: ${failure}\n`);
process.exit(failures.length > 0 ? 1 : 0);
