import type { ChildProcess } from "node:child_process";
import {
  STAGE_BUCKETS,
  STAGES,
  type Stage,
  type StageHistogram,
} from "../src/telemetry/presence-stages.js";
import { median } from "./stats.js";

/**
 * The daemon's own `presence_stage_seconds` histograms (src/telemetry/presence-stages.ts)
 * as the benchmarks report them: per stage, the count, the mean and the
 * bucket a quantile falls in (its upper bound: the histogram knows no more).
 */
export interface StageFigures {
  count: number;
  meanUs: number;
  p50Us: number;
  p99Us: number;
}

export type StageSummary = Record<Stage, StageFigures>;

/** `after` less `before` (the measured window), summarised. */
export function summariseStages(
  after: Record<Stage, StageHistogram>,
  before?: Record<Stage, StageHistogram>,
): StageSummary {
  const out = {} as StageSummary;
  for (const stage of STAGES) {
    const a = after[stage];
    const b = before?.[stage];
    const buckets = a.buckets.map((v, i) => v - (b?.buckets[i] ?? 0));
    const count = a.count - (b?.count ?? 0);
    const sum = a.sum - (b?.sum ?? 0);
    out[stage] = {
      count,
      meanUs: count > 0 ? (sum / count) * 1e6 : Number.NaN,
      p50Us: quantileUs(buckets, count, 0.5),
      p99Us: quantileUs(buckets, count, 0.99),
    };
  }
  return out;
}

/** The upper bound (µs) of the bucket holding the q-quantile; Infinity past the last. */
function quantileUs(cumulative: number[], count: number, q: number): number {
  if (count === 0) return Number.NaN;
  const rank = q * count;
  const i = cumulative.findIndex((c) => c >= rank);
  const bound = STAGE_BUCKETS[i];
  return bound === undefined ? Number.POSITIVE_INFINITY : bound * 1e6;
}

const us = (v: number) =>
  !Number.isFinite(v)
    ? Number.isNaN(v)
      ? "–"
      : "> 60 s"
    : v >= 1000
      ? `${(v / 1000).toLocaleString("en-US", { maximumFractionDigits: 1 })} ms`
      : `${Math.round(v)} µs`;

/** A Markdown table, one row per stage: the median over `runs` of each figure. */
export function stageTable(runs: readonly StageSummary[]): string[] {
  const lines = [
    "| stage | presences or notifications (per run) | mean | p50 ≤ | p99 ≤ |",
    "|---|---:|---:|---:|---:|",
  ];
  for (const stage of STAGES) {
    const pick = (k: keyof StageFigures) =>
      median(runs.map((r) => r[stage][k]).filter((v) => !Number.isNaN(v)));
    lines.push(
      `| ${stage} | ${Math.round(pick("count")).toLocaleString("en-US")} | ${us(pick("meanUs"))} | ${us(pick("p50Us"))} | ${us(pick("p99Us"))} |`,
    );
  }
  return lines;
}

/** The daemon subject's presence_stage_seconds (bench/e2e-subject.ts), or undefined within 2 s. */
export async function askStages(child: ChildProcess): Promise<StageSummary | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => finish(undefined), 2_000);
    const onMessage = (m: { stages?: Record<Stage, StageHistogram> }) => {
      if (m?.stages) finish(summariseStages(m.stages));
    };
    const finish = (s: StageSummary | undefined) => {
      clearTimeout(timer);
      child.off("message", onMessage);
      resolve(s);
    };
    child.on("message", onMessage);
    child.send({ op: "stages" });
  });
}
