/**
 * The controller as a real process: `node src/cli/main.ts controller` with the chart's args,
 * under a kubeconfig holding only the chart ServiceAccount's token, listening on 127.0.0.1 on
 * any port. Its pino JSON log is parsed as it arrives and kept in order in `logs`, so tests can
 * assert on the controller's own decisions; a line that is not JSON goes to stderr.
 * Invariant: spawnController spawns synchronously, before its first await (bench/controller
 * relies on this to set NODE_OPTIONS for one spawn only), and resolves only once the controller
 * listens — or rejects when it exits first or does not listen within 30 s.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { AppState } from '../../../src/core/app-state.ts';
import { compareOrder } from '../../../src/core/order.ts';
import { metric } from '../metrics-text.ts';
import { sleep, waitFor } from '../wait.ts';
import { repoRoot } from '../repo-root.ts';
import { SYSTEM_NS } from './chart.ts';

const cliPath = `${repoRoot}src/cli/main.ts`;

/** Short lease timings for tests (client-go constraints hold: 4 > 3 > 1.2 × 0.5). */
export const SHORT_LEASE = ['--lease-duration=4s', '--renew-deadline=3s', '--retry-period=500ms'];

/** What starting a controller needs from the test environment. */
export interface ControllerLaunch {
  /** kubeconfig holding only the chart ServiceAccount's token. */
  saKubeconfig: string;
  /** The controller args the chart renders. */
  chartArgs: string[];
}

export interface ControllerProc {
  proc: ChildProcess;
  identity: string;
  url: string;
  logs: Array<Record<string, unknown>>;
  exited: Promise<number | null>;
  apps(): Promise<AppState[]>;
  app(key: string): Promise<AppState | undefined>;
  metrics(): Promise<string>;
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

/** Spawns the controller with the chart's args, the SA kubeconfig, and the given overrides. */
export async function spawnController(env: ControllerLaunch, identity: string, extra: string[] = []): Promise<ControllerProc> {
  // The chart turns the injection webhook on (a fixed HTTPS port): several controller processes on one
  // loopback address could not all bind it, so harness controllers run without it (the webhook has
  // its own tests, test/integration/webhook/, with the chart-installed controller). `extra` may
  // turn it back on.
  const args = [cliPath, 'controller', ...env.chartArgs, '--kubeconfig', env.saKubeconfig, '--listen-host=127.0.0.1', '--port=0', '--webhook-port=0', ...SHORT_LEASE, ...extra];
  const proc = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: { ...process.env, POD_NAME: identity, POD_NAMESPACE: SYSTEM_NS, KUBECONFIG: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  let buf = '';
  let resolveUrl: (u: string) => void;
  const urlP = new Promise<string>((r) => (resolveUrl = r));
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        const o = JSON.parse(line) as Record<string, unknown>;
        logs.push(o);
        if (o.msg === 'controller listening') resolveUrl(String(o.address));
        if (process.env.VO_TEST_VERBOSE) process.stderr.write(`[${identity}] ${line}\n`);
      } catch {
        process.stderr.write(`[${identity}] ${line}\n`);
      }
    }
  });
  proc.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString('utf8');
    process.stderr.write(`[${identity} stderr] ${d}`);
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const url = await Promise.race([
    urlP,
    exited.then((code) => {
      throw new Error(`controller ${identity} exited ${code} before listening: ${stderr}`);
    }),
    sleep(30_000).then(() => {
      throw new Error(`controller ${identity} did not listen within 30 s`);
    }),
  ]);
  const get = async (path: string) => {
    const res = await fetch(url + path, { signal: AbortSignal.timeout(2000) });
    return res;
  };
  return {
    proc,
    identity,
    url,
    logs,
    exited,
    apps: async () => ((await (await get('/v1/apps')).json()) as { apps: AppState[] }).apps,
    app: async (key) => {
      const res = await get(`/v1/apps/${key}`);
      return res.status === 200 ? ((await res.json()) as AppState) : undefined;
    },
    metrics: async () => (await get('/metrics')).text(),
    kill: async (signal) => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/** The controller's public key(s) from its /v1/keys, comma-separated (as the sidecar env takes them). */
export async function publicKeyOf(c: ControllerProc): Promise<string> {
  const body = (await (await fetch(`${c.url}/v1/keys`)).json()) as { keys: Array<{ publicKey: string }> };
  return body.keys.map((k) => k.publicKey).join(',');
}

/** The installation id the controller signs for (its /v1/keys), as VERSION_OBSERVER_INSTALLATION takes it. */
export async function installationOf(c: ControllerProc): Promise<string> {
  return ((await (await fetch(`${c.url}/v1/keys`)).json()) as { installation: string }).installation;
}

/** This process holds the Lease (its own `version_observer_leader` gauge). */
export const isLeader = async (c: ControllerProc): Promise<boolean> => metric(await c.metrics(), 'version_observer_leader') === 1;

/** Resolves with Date.now() at the first /readyz 200 (caches synced), polled every 10 ms. */
export function waitReadyz(c: ControllerProc, timeoutMs = 60_000): Promise<number> {
  return waitFor(`${c.identity}: /readyz 200`, async () => {
    const r = await fetch(`${c.url}/readyz`, { signal: AbortSignal.timeout(2000) });
    return r.status === 200 ? Date.now() : undefined;
  }, timeoutMs, 10);
}

/** Polls the controller's view of an app every `everyMs`, keeping each distinct state with its time. */
export function observe(c: () => ControllerProc, key: string, everyMs = 50): { states: Array<{ atMs: number; state: AppState }>; stop(): void } {
  const states: Array<{ atMs: number; state: AppState }> = [];
  let stopped = false;
  void (async () => {
    while (!stopped) {
      try {
        const s = await c().app(key);
        const last = states.at(-1)?.state;
        if (s && (!last || compareOrder(last, s) !== 0)) states.push({ atMs: Date.now(), state: s });
      } catch {
        // controller restarting
      }
      await sleep(everyMs);
    }
  })();
  return { states, stop: () => (stopped = true) };
}
