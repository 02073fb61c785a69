/** Small order statistics for the benchmarks' figures. */

/** The q-quantile (0..1) of an ascending array, nearest rank. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

export function median(values: readonly number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    0.5,
  );
}

export function spread(values: readonly number[]): { median: number; min: number; max: number } {
  return {
    median: median(values),
    min: Math.min(...values),
    max: Math.max(...values),
  };
}
