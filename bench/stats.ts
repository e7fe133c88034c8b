/** Small statistics for the benchmarks: medians and spreads over paired samples. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** The q-quantile (0..1) by nearest rank. */
export function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))];
}

/** Median with the interquartile range: the spread a reader should judge the median by. */
export interface Spread {
  median: number;
  p25: number;
  p75: number;
  n: number;
}

export function spread(xs: readonly number[]): Spread {
  return { median: median(xs), p25: quantile(xs, 0.25), p75: quantile(xs, 0.75), n: xs.length };
}

export function formatSpread(s: Spread, digits: number, unit = ''): string {
  return `${s.median.toFixed(digits)}${unit} (IQR ${s.p25.toFixed(digits)}..${s.p75.toFixed(digits)}, n=${s.n})`;
}

/** The build the process-level benches run: `dist/`, or BENCH_DIST (e.g. an older build, to compare). */
export function distDir(root: string): string {
  return process.env.BENCH_DIST ?? `${root}/dist`;
}
