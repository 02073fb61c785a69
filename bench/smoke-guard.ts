/**
 * The regression guard of `npm run bench -- --smoke`: in one flood pair of
 * the same run, the hand-written baseline's CPU per notification over the
 * daemon's (the share of the baseline's speed the daemon reaches on a core
 * of its own) must stay above a floor well under today's, so a change that
 * halves the daemon's throughput fails CI while machine noise does not.
 *
 * CPU per notification, not notifications a second: on a shared machine the
 * wall-clock ratio of one short pair swung 0.12-0.31 in four pairs, the CPU
 * ratio 0.18-0.24 (BENCHMARKS.md, "Smoke guard"). Both are printed.
 *
 * A pair under the floor is measured again, up to `SMOKE_PAIRS` pairs, and
 * the best is judged: a real regression is under the floor every time.
 */

/**
 * Today's CPU ratio at smoke sizes is about 0.21 (0.18-0.24); a daemon
 * needing twice the CPU per notification measures about 0.10.
 */
export const SMOKE_FLOOR = 0.12;

/** Pairs measured at most before the guard gives its verdict. */
export const SMOKE_PAIRS = 3;

/** One side of a flood pair, as bench/pipeline.ts measures it. */
export interface FloodSide {
  eventsPerSecond: number;
  cpuUsPerEvent?: number | undefined;
}

export interface FloodPair {
  subject: FloodSide;
  baseline: FloodSide;
}

export interface GuardVerdict {
  ok: boolean;
  /** The best baseline / daemon CPU-per-notification ratio over the pairs. */
  ratio: number;
  /** A line for the log: every pair's ratios and the verdict. */
  text: string;
}

/** baseline / subject CPU per notification; 0 when either is missing. */
function cpuRatio(p: FloodPair): number {
  const s = p.subject.cpuUsPerEvent ?? 0;
  const b = p.baseline.cpuUsPerEvent ?? 0;
  return s > 0 && b > 0 ? b / s : 0;
}

/** Judges the pairs measured so far against `floor`. */
export function judgeFlood(pairs: readonly FloodPair[], floor = SMOKE_FLOOR): GuardVerdict {
  const ratios = pairs.map(cpuRatio);
  const ratio = ratios.length === 0 ? 0 : Math.max(...ratios);
  const ok = ratio >= floor;
  const each = pairs
    .map((p, i) => {
      const eps =
        p.baseline.eventsPerSecond > 0 ? p.subject.eventsPerSecond / p.baseline.eventsPerSecond : 0;
      return `${(ratios[i] ?? 0).toFixed(3)} (throughput ${eps.toFixed(3)})`;
    })
    .join(", ");
  const head = `smoke guard: daemon / baseline flood ratio ${ratio.toFixed(3)}`;
  const text = ok
    ? `${head} (baseline's CPU per notification over the daemon's; pairs: ${each}), floor ${floor}`
    : `${head} at best (baseline's CPU per notification over the daemon's; pairs: ${each}) is under the floor ${floor}: the daemon needs about twice the CPU per notification it needed when the floor was set`;
  return { ok, ratio, text };
}

/**
 * Measures pairs with `measure` until one clears the floor or `SMOKE_PAIRS`
 * were measured, starting from those `first` already holds.
 */
export function guardFlood(
  first: readonly FloodPair[],
  measure: () => FloodPair,
  floor = SMOKE_FLOOR,
): GuardVerdict {
  const pairs = [...first];
  let verdict = judgeFlood(pairs, floor);
  while (!verdict.ok && pairs.length < SMOKE_PAIRS) {
    pairs.push(measure());
    verdict = judgeFlood(pairs, floor);
  }
  return verdict;
}
