/**
 * The two servers bench/sidecar.bench.ts compares, started as they run in production, plus the
 * load clients and the machine-quiet wait. The sidecar is the container's command
 * (`node dist/cli/main.js sidecar`: the supervisor, whose child is the server); the bare `ws`
 * server is one process. Both get the sidecar container's NODE_OPTIONS.
 * Invariant: a process's memory is read from /proc/<pid>/smaps_rollup; "file-backed" is
 * Rss − Anonymous (the `node` binary's pages, shared by every container of the image on a node).
 */
import { spawn, fork, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { SIDECAR_NODE_OPTIONS } from '../../src/sidecar/config.ts';
import { readSmapsRollup } from '../../src/sidecar/memory.ts';
import { ask } from '../../test/support/ipc.ts';
import { sleep, waitFor } from '../../test/support/wait.ts';

const root = new URL('../..', import.meta.url).pathname;
export const MiB = 2 ** 20;
export const LOAD_PROCS = 5;

export interface Mem { rss: number; anon: number; file: number }
export function mem(pid: number | undefined): Mem {
  const r = pid === undefined ? null : readSmapsRollup(pid);
  return r ? { rss: r.rss / MiB, anon: r.anonymous / MiB, file: (r.rss - r.anonymous) / MiB } : { rss: Number.NaN, anon: Number.NaN, file: Number.NaN };
}

export interface Server {
  name: string;
  /** the process that serves sockets */
  serverPid: number;
  /** the sidecar's supervisor (the container's main process); undefined for bare ws */
  supervisorPid?: number;
  procs: ChildProcess[];
  wsUrl: string;
  pushUrl: string;
  adminUrl: string;
  /** JSON log lines (sidecar) */
  lines: Array<Record<string, unknown>>;
  stop(): Promise<void>;
}

async function waitHttp(url: string): Promise<void> {
  await waitFor(`${url} to answer`, async () => {
    await fetch(url);
    return true;
  }, 20_000, 50);
}

/** The installation id the bench's sidecar pins and its pushes carry. */
export const BENCH_INSTALLATION = 'bench';

export async function startServer(kind: 'sidecar' | 'bare', ip: string, publicKey: string, extraEnv: Record<string, string> = {}): Promise<Server> {
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_OPTIONS: SIDECAR_NODE_OPTIONS, ...extraEnv };
  if (kind === 'sidecar') {
    const proc = spawn(process.execPath, ['dist/cli/main.js', 'sidecar'], {
      cwd: root, stdio: ['ignore', 'pipe', 'ignore'],
      env: {
        ...env, VERSION_OBSERVER_APP: 'storefront', POD_NAMESPACE: 'bench', VERSION_OBSERVER_POD_VERSION: '1.0.0',
        VERSION_OBSERVER_PUBLIC_KEY: publicKey, VERSION_OBSERVER_INSTALLATION: BENCH_INSTALLATION, VERSION_OBSERVER_LISTEN_HOST: ip, VERSION_OBSERVER_LOG_LEVEL: 'info',
      },
    });
    const lines: Array<Record<string, unknown>> = [];
    let partial = '';
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      const parts = (partial + d).split('\n');
      partial = parts.pop()!;
      for (const p of parts) if (p.startsWith('{')) lines.push(JSON.parse(p) as Record<string, unknown>);
    });
    await waitHttp(`http://${ip}:8788/healthz`);
    const start = await waitFor('the server pid', async () => lines.find((l) => l.event === 'server-start'), 10_000, 20);
    return {
      name: 'sidecar', serverPid: start.pid as number, supervisorPid: proc.pid!, procs: [proc], lines,
      wsUrl: `ws://${ip}:8787/version/ws?v=1.0.0`, pushUrl: `http://${ip}:8788/internal/v1/state`, adminUrl: `http://${ip}:8788`,
      stop: async () => {
        try { process.kill(start.pid as number, 'SIGKILL'); } catch { /* gone */ }
        proc.kill('SIGKILL');
        await sleep(500);
      },
    };
  }
  const proc = spawn(process.execPath, ['dist/bench/bare-ws-server.js'], { cwd: root, stdio: 'ignore', env: { ...env, HOST: ip, PORT: '8787', PUBLIC_KEY: publicKey } });
  await waitHttp(`http://${ip}:8787/`);
  return {
    name: 'bare ws', serverPid: proc.pid!, procs: [proc], lines: [],
    wsUrl: `ws://${ip}:8787/version/ws?v=1.0.0`, pushUrl: `http://${ip}:8787/internal/v1/state`, adminUrl: '',
    stop: async () => {
      proc.kill('SIGKILL');
      await sleep(500);
    },
  };
}

/** LOAD_PROCS client processes, each from its own 8 source addresses 127.block.p.x. */
export class Load {
  readonly procs: ChildProcess[] = [];
  open = 0;
  constructor(wsUrl: string, block: number) {
    for (let p = 0; p < LOAD_PROCS; p++) {
      const sources = Array.from({ length: 8 }, (_, i) => `127.${block}.${p + 1}.${i + 1}`).join(',');
      this.procs.push(fork(`${root}bench/sidecar/load-client.ts`, [], { env: { ...process.env, URL: wsUrl, SOURCES: sources }, stdio: 'ignore' }));
    }
  }
  /** Grows to `total` connection attempts, spread evenly; returns the failures (throws on any unless `tolerate`). */
  async grow(total: number, tolerate = false): Promise<number> {
    const per = Math.ceil((total - this.open) / this.procs.length);
    const results = await Promise.all(this.procs.map((p) => ask<{ opened: number; failed: number }>(p, { cmd: 'open', n: per })));
    this.open = results.reduce((a, r) => a + r.opened, 0);
    const failed = results.reduce((a, r) => a + r.failed, 0);
    if (failed && !tolerate) throw new Error(`${failed} connections failed`);
    return failed;
  }
  /** Sockets still open now. */
  async alive(): Promise<number> {
    const r = await Promise.all(this.procs.map((p) => ask<{ open: number }>(p, { cmd: 'alive' })));
    return r.reduce((a, x) => a + x.open, 0);
  }
  async report(): Promise<Record<number, number[]>> {
    const all: Record<number, number[]> = {};
    for (const p of this.procs) {
      const { recv } = await ask<{ recv: Record<number, number[]> }>(p, { cmd: 'report' });
      for (const [seq, ts] of Object.entries(recv)) (all[Number(seq)] ??= []).push(...ts);
    }
    return all;
  }
  stop(): void {
    for (const p of this.procs) p.kill('SIGKILL');
  }
}

/**
 * Waits (at most `maxMs`, BENCH_QUIET_MAX_MS, default 90 s) for the 1-minute load average to fall
 * below `below`; says what it saw.
 */
export async function quiet(below = 1.5, maxMs = Number(process.env.BENCH_QUIET_MAX_MS ?? 90_000)): Promise<string> {
  const before = loadavg()[0]!;
  const t0 = performance.now();
  while (loadavg()[0]! >= below && performance.now() - t0 < maxMs) await sleep(2000);
  const after = loadavg()[0]!;
  const waited = Math.round((performance.now() - t0) / 1000);
  return waited === 0 ? `load ${before.toFixed(2)}` : `load ${before.toFixed(2)} → ${after.toFixed(2)} after ${waited} s${after >= below ? ' (bounded wait ran out)' : ''}`;
}
