/**
 * Figures the benches print: percentiles of a list of samples and rounding. Milliseconds
 * in, milliseconds out.
 */

/** The `p`th percentile (0..100, nearest rank) of `xs`; `xs` is not changed. */
export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

/** `x` rounded to `d` decimal places. */
export const round = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d;

/** p50, p90, p99 and max of latency samples (ms), each rounded to `d` places. */
export function latencySummary(xs: readonly number[], d = 3): { p50: number; p90: number; p99: number; max: number } {
  return { p50: round(percentile(xs, 50), d), p90: round(percentile(xs, 90), d), p99: round(percentile(xs, 99), d), max: round(Math.max(...xs), d) };
}
