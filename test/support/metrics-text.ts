/**
 * Reading Prometheus text exposition (what prom-client serves on /metrics) in tests and
 * benchmarks. A sample is named exactly as exposed: the metric name plus its label set, e.g.
 * `version_observer_announcements_total{change="minor"}`. prom-client writes no timestamps, so a
 * line is `<sample> <value>`; label values may hold spaces, hence the split at the last one.
 * A sample that is absent reads as 0 (a counter never incremented is not exposed by label).
 */

export interface Sample {
  /** name and label set, as exposed */
  sample: string;
  value: number;
}

/** Every sample line of the text, in order (comments and blank lines skipped). */
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    if (i > 0) out.push({ sample: line.slice(0, i), value: Number(line.slice(i + 1)) });
  }
  return out;
}

/** Value of one sample, e.g. metric(text, 'version_observer_leader'); 0 when absent. */
export function metric(text: string, sample: string): number {
  return parseMetrics(text).find((s) => s.sample === sample)?.value ?? 0;
}

/** The samples of one metric family (every label set of `name`, without suffixed series such as _sum). */
export function samplesOf(text: string, name: string): Sample[] {
  return parseMetrics(text).filter((s) => s.sample === name || s.sample.startsWith(`${name}{`));
}

/** GET <baseUrl>/metrics as text. */
export async function scrape(baseUrl: string, timeoutMs = 2000): Promise<string> {
  const res = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
  return res.text();
}
