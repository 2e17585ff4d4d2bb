/**
 * Helpers shared by the controller benchmarks (controller-scale, announce-latency, failover).
 * The cluster, the chart's RBAC, the controller process and the receivers come from the
 * integration-test harness (test/support/controller-harness.ts, receiver.ts); this file adds
 * only what benchmarks need on top: bounded-parallel object creation, a GC hook for heap
 * readings, the push sink, and log-time lookups. Label keys come from src/core/labels.ts,
 * CPU and RSS readings from test/support/process-stats.ts.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { APP_LABEL, DEFAULT_VERSION_LABEL } from '../../src/core/labels.ts';
import { spawnController, metric, sleep, waitFor, type ControllerProc, type Env } from '../../test/support/controller-harness.ts';
import { ask } from '../../test/support/ipc.ts';
import { rssBytes } from '../../test/support/process-stats.ts';

const here = new URL('.', import.meta.url).pathname;
export const VIRTUAL_IMAGE = 'version-observer/virtual-app:1';

/** Runs fn over items with at most `limit` in flight. */
export async function pool<T>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** A bare pod with a virtual container (the process kubelet reports it Running + Ready, no process). */
export function virtualPod(ns: string, name: string, app: string, version: string, nodeName: string): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels: { [APP_LABEL]: app, [DEFAULT_VERSION_LABEL]: version } },
    spec: {
      nodeName,
      automountServiceAccountToken: false,
      terminationGracePeriodSeconds: 0,
      containers: [{ name: 'app', image: VIRTUAL_IMAGE }],
    },
  };
}

/** spawnController with bench/controller/gc-hook.ts preloaded (SIGUSR2 = full GC). */
export function spawnMeasured(env: Env, identity: string, extra: string[] = []): Promise<ControllerProc> {
  const saved = process.env.NODE_OPTIONS;
  process.env.NODE_OPTIONS = `${saved ?? ''} --import=${here}gc-hook.ts`.trim();
  try {
    return spawnController(env, identity, extra); // spawns synchronously, before its first await
  } finally {
    if (saved === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = saved;
  }
}

export interface HeapReading {
  heapUsed: number;
  external: number;
  rss: number;
}

/** Full GC in the controller, then its heap from /metrics (prom-client's nodejs_* gauges) and RSS from /proc; min of 3 readings. */
export async function heapAfterGc(c: ControllerProc): Promise<HeapReading> {
  let best: HeapReading | undefined;
  for (let i = 0; i < 3; i++) {
    c.proc.kill('SIGUSR2');
    await sleep(400);
    const text = await c.metrics();
    const r = {
      heapUsed: metric(text, 'version_observer_nodejs_heap_size_used_bytes'),
      external: metric(text, 'version_observer_nodejs_external_memory_bytes'),
      rss: rssBytes(c.proc.pid!),
    };
    if (!best || r.heapUsed < best.heapUsed) best = r;
  }
  return best!;
}

/** Resolves with the log record (controller clock, pino `time`) first matching `pred` at index ≥ from. */
export function logMatching(c: ControllerProc, pred: (o: Record<string, unknown>) => boolean, from = 0, timeoutMs = 30_000): Promise<Record<string, unknown> & { time: number }> {
  let i = from;
  return waitFor('a matching controller log line', () => {
    // pino writes ISO times (src/platform/logger.ts): the record's time is returned in ms.
    for (; i < c.logs.length; i++) if (pred(c.logs[i]!)) return { ...c.logs[i]!, time: Date.parse(String(c.logs[i]!.time)) };
    return undefined;
  }, timeoutMs, 2);
}

export interface SinkStats {
  n: number;
  firstMs: number;
  lastMs: number;
  byStatus: Record<string, number>;
}

export interface Sink {
  port: number;
  reset(): Promise<void>;
  stats(): Promise<SinkStats>;
  stop(): void;
}

/** Forks bench/controller/sink.ts (one receiver answering for all of 127.0.0.0/8). */
export async function startSink(publicKey: string): Promise<Sink> {
  const child: ChildProcess = fork(`${here}sink.ts`, [], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PUBLIC_KEY: publicKey }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { port } = await ask<{ port: number }>(child, null);
  return {
    port,
    reset: () => ask<void>(child, { cmd: 'reset' }),
    stats: () => ask<SinkStats>(child, { cmd: 'stats' }),
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
