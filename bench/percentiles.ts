/** Percentiles of a sample (nearest-rank), and how they are printed. */
function nearestRank(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export interface Summary {
  n: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

export function summarize(values: readonly number[]): Summary {
  const v = [...values].sort((a, b) => a - b);
  return { n: v.length, p50: nearestRank(v, 50), p95: nearestRank(v, 95), p99: nearestRank(v, 99), max: nearestRank(v, 100) };
}
