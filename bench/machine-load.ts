/**
 * The machine's load before a benchmark section, and a bounded wait for quiet. The benches run on
 * a shared 2-core box, where other work moves tails by ±50 %; each section records what the
 * machine was doing when it started instead of assuming it was quiet.
 *
 * Invariants:
 * - A reading is a 1 s sample of /proc/stat (all CPUs busy, in %) plus the kernel's load averages,
 *   and the three other processes that used the most CPU over that second (/proc/<pid>/stat):
 *   cheap, and it names the noise.
 * - `waitForQuiet` never waits longer than its bound; it returns the last reading, how long it
 *   waited and whether the machine was quiet, so the section can say so either way.
 * Linux only (it reads /proc); elsewhere the reading says "unknown" and the wait returns at once.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';

export interface LoadReading {
  /** 1, 5, 15 min load averages */
  loadavg: [number, number, number];
  /** all CPUs busy over the sample, % of the machine (100 = every core busy); NaN when unknown */
  busyPct: number;
  /** the other processes with the most CPU over the sample: name and % of one core */
  top: Array<{ pid: number; name: string; pct: number }>;
}

export interface QuietOptions {
  /** quiet = 1-min load average below this and CPU busy below `maxBusyPct` */
  maxLoad: number;
  maxBusyPct: number;
  /** the longest wait, ms */
  maxWaitMs: number;
}

export interface QuietResult {
  quiet: boolean;
  waitedMs: number;
  reading: LoadReading;
  options: QuietOptions;
}

/** Defaults: load under half the cores, CPU under 25 %, wait at most 10 min (env BENCH_QUIET_LOAD / _BUSY / _WAIT_S override). */
export function quietOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): QuietOptions {
  const cores = cpus().length;
  return {
    maxLoad: Number(env.BENCH_QUIET_LOAD ?? cores / 2),
    maxBusyPct: Number(env.BENCH_QUIET_BUSY ?? 25),
    maxWaitMs: Number(env.BENCH_QUIET_WAIT_S ?? 600) * 1000,
  };
}

function cpuTicks(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

function processTicks(): Map<number, { name: string; ticks: number }> {
  const out = new Map<number, { name: string; ticks: number }>();
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const d of pids) {
    try {
      const text = readFileSync(`/proc/${d}/stat`, 'utf8');
      const close = text.lastIndexOf(')');
      const name = text.slice(text.indexOf('(') + 1, close);
      const f = text.slice(close + 2).split(' ');
      // fields after ")": state(0) … utime(11) stime(12)
      out.set(Number(d), { name, ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // the process ended between readdir and read
    }
  }
  return out;
}

/** One reading over `sampleMs`. */
export async function readLoad(sampleMs = 1000): Promise<LoadReading> {
  const c0 = cpuTicks();
  const p0 = processTicks();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, sampleMs));
  const c1 = cpuTicks();
  const p1 = processTicks();
  const seconds = (performance.now() - t0) / 1000;
  const la = loadavg() as [number, number, number];
  const busyPct = c0 && c1 && c1.total > c0.total ? ((c1.busy - c0.busy) / (c1.total - c0.total)) * 100 : Number.NaN;
  const hz = 100; // USER_HZ on Linux
  const top = [...p1.entries()]
    .filter(([pid]) => pid !== process.pid && p0.has(pid))
    .map(([pid, v]) => ({ pid, name: v.name, pct: ((v.ticks - p0.get(pid)!.ticks) / hz / seconds) * 100 }))
    .filter((x) => x.pct >= 1)
    .sort((a, b) => b.pct - a.pct)
    .slice(0, 3);
  return { loadavg: la, busyPct, top };
}

export const isQuiet = (r: LoadReading, o: QuietOptions): boolean => r.loadavg[0] < o.maxLoad && (!Number.isFinite(r.busyPct) || r.busyPct < o.maxBusyPct);

/** Waits (bounded) until the machine is quiet; returns what it saw either way. */
export async function waitForQuiet(options: QuietOptions = quietOptionsFromEnv(), log: (line: string) => void = () => {}): Promise<QuietResult> {
  const t0 = performance.now();
  for (;;) {
    const reading = await readLoad();
    const waitedMs = performance.now() - t0;
    if (isQuiet(reading, options)) return { quiet: true, waitedMs, reading, options };
    if (waitedMs >= options.maxWaitMs) return { quiet: false, waitedMs, reading, options };
    log(`machine busy (${describeLoad(reading)}); waiting for quiet (${Math.round(waitedMs / 1000)} of ${options.maxWaitMs / 1000} s)`);
    await new Promise((r) => setTimeout(r, 4000));
  }
}

export function describeLoad(r: LoadReading): string {
  const la = r.loadavg.map((x) => x.toFixed(2)).join(' / ');
  const busy = Number.isFinite(r.busyPct) ? `${r.busyPct.toFixed(0)} % CPU busy` : 'CPU busy unknown';
  const top = r.top.length ? `; busiest others: ${r.top.map((p) => `${p.name} ${p.pct.toFixed(0)} %`).join(', ')}` : '';
  return `load ${la} (1/5/15 min), ${busy}${top}`;
}

/** The line a section prints about the machine before it started. */
export function describeQuiet(q: QuietResult): string {
  const waited = `waited ${(q.waitedMs / 1000).toFixed(0)} s`;
  const rule = `quiet = load < ${q.options.maxLoad} and CPU < ${q.options.maxBusyPct} %, wait ≤ ${q.options.maxWaitMs / 1000} s`;
  return q.quiet
    ? `Machine before this section: ${describeLoad(q.reading)}; ${waited} for quiet (${rule}).`
    : `**Machine not quiet** before this section: ${describeLoad(q.reading)} after waiting ${(q.waitedMs / 1000).toFixed(0)} s (${rule}); tails here are inflated by other work — treat as a development run, not a result.`;
}
