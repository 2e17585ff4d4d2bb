/**
 * Statistics every benchmark uses to print a figure (process CPU/RSS readings:
 * test/support/process-stats.ts). Invariants, so that no printed figure claims more than its
 * samples hold:
 * - A percentile p is printed only when at least one sample lies above it (n ≥ 100 / (100 − p):
 *   100 samples for a p99, 20 for a p95); below that the figure is the maximum and its label says
 *   "max of N" (`tail`). `summary` has no p99 field for that reason: read `summary(xs).tail`.
 * - An A/B comparison runs its arms interleaved (A B A B …, ≥ 3 rounds, `interleave`) and is
 *   reported as the median of the per-round figures with their spread (`medianSpread`), never as
 *   one run of each.
 * Pure functions except `interleave`, which only sequences the caller's runs.
 */

/** The smallest sample count at which percentile p is not simply the maximum. */
export function samplesFor(p: number): number {
  return p >= 100 ? Number.POSITIVE_INFINITY : Math.ceil(100 / (100 - p) - 1e-9);
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

export interface Tail {
  /** "p99" when the samples support it, else "max of N" */
  label: string;
  value: number;
  n: number;
  /** true when `value` is the percentile, false when it is the maximum */
  supported: boolean;
}

/** The p-th percentile if the samples support it (see the invariants), else the maximum, labelled so. */
export function tail(values: number[], p = 99): Tail {
  const n = values.length;
  const supported = n >= samplesFor(p);
  return supported ? { label: `p${p}`, value: percentile(values, p), n, supported } : { label: `max of ${n}`, value: n ? Math.max(...values) : Number.NaN, n, supported };
}

export interface Summary {
  n: number;
  p50: number;
  /** p99 when n ≥ 100, else the maximum (its label says which) */
  tail: Tail;
  min: number;
  max: number;
  mean: number;
}

export function summary(values: number[]): Summary {
  const n = values.length;
  return {
    n,
    p50: percentile(values, 50),
    tail: tail(values, 99),
    min: n ? Math.min(...values) : Number.NaN,
    max: n ? Math.max(...values) : Number.NaN,
    mean: values.reduce((a, b) => a + b, 0) / Math.max(1, n),
  };
}

export interface Spread {
  n: number;
  median: number;
  min: number;
  max: number;
  /** (max − min) / median, in % */
  spreadPct: number;
}

/** Median of per-round figures with their range: how an interleaved A/B arm is reported. */
export function medianSpread(values: number[]): Spread {
  const n = values.length;
  if (n === 0) return { n, median: Number.NaN, min: Number.NaN, max: Number.NaN, spreadPct: Number.NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const median = n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
  const min = sorted[0]!;
  const max = sorted[n - 1]!;
  return { n, median, min, max, spreadPct: median !== 0 ? ((max - min) / Math.abs(median)) * 100 : Number.NaN };
}

/** "123.4 (118.0–131.2, 3 rounds)" */
export function fmtSpread(s: Spread, digits = 1, unit = ''): string {
  return `${fmt(s.median, digits)}${unit} (${fmt(s.min, digits)}–${fmt(s.max, digits)}${unit}, ${s.n} rounds)`;
}

/** "123.4 [118.0–131.2]": median [min–max], for a table cell whose header names the rounds. */
export function fmtRange(s: Spread, digits = 1): string {
  return `${fmt(s.median, digits)} [${fmt(s.min, digits)}–${fmt(s.max, digits)}]`;
}

/** Whether two arms' per-round ranges overlap: if they do, the difference of medians is within run-to-run noise. */
export function rangesOverlap(a: Spread, b: Spread): boolean {
  return a.min <= b.max && b.min <= a.max;
}

export const MIN_ROUNDS = 3;

/**
 * Runs the arms interleaved — round 1: A B …, round 2: B A …, alternating the order so neither arm
 * always runs first — for `rounds` (≥ 3) rounds; returns each arm's results in round order.
 */
export async function interleave<T>(arms: Record<string, () => Promise<T>>, rounds: number, onRun?: (arm: string, round: number, result: T) => void): Promise<Record<string, T[]>> {
  if (!(rounds >= MIN_ROUNDS)) throw new Error(`interleave: ${rounds} rounds; an A/B comparison needs at least ${MIN_ROUNDS}`);
  const names = Object.keys(arms);
  if (names.length < 2) throw new Error('interleave: needs at least two arms');
  const out: Record<string, T[]> = Object.fromEntries(names.map((n) => [n, [] as T[]]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? names : [...names].reverse();
    for (const name of order) {
      const result = await arms[name]!();
      out[name]!.push(result);
      onRun?.(name, round, result);
    }
  }
  return out;
}

export const fmt = (x: number, digits = 1): string => (Number.isFinite(x) ? x.toFixed(digits) : '–');
