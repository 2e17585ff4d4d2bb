/**
 * Helpers for sidecar tests with real sockets: an in-process sidecar on 127.0.0.1 with
 * ephemeral ports, signed pushes, WebSocket clients that record what they receive; and the
 * real sidecar process (startSidecarProcess) where memory or the process itself is measured.
 */
import WebSocket from 'ws';
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { parseConfig, SIDECAR_NODE_OPTIONS, type SidecarConfig } from '../../../src/sidecar/config.ts';
import { startSidecar, type SidecarHandle, type StartOptions } from '../../../src/sidecar/sidecar.ts';
import { generateSigningKey, signPush, type SigningKey } from '../../../src/core/signature.ts';
import type { AppState } from '../../../src/core/app-state.ts';

export const APP = 'shop/storefront';
export const root = fileURLToPath(new URL('../../../', import.meta.url));

export function makeState(over: Partial<AppState> = {}): AppState {
  return {
    app: APP, phase: 'converged', version: '1.1.0', previousVersion: '1.0.0', change: 'minor',
    serving: { '1.1.0': 3 }, reason: null, epoch: 1, seq: 1, since: new Date().toISOString(), ...over,
  };
}

export interface TestSidecar extends SidecarHandle {
  key: SigningKey;
  wsUrl: string;
}

export async function startTestSidecar(
  env: Record<string, string | undefined> = {},
  overrides: Partial<SidecarConfig> = {},
  opts: StartOptions = {},
): Promise<TestSidecar> {
  const key = generateSigningKey();
  const config = parseConfig([], {
    VERSION_OBSERVER_APP: APP,
    VERSION_OBSERVER_POD_VERSION: '1.0.0',
    VERSION_OBSERVER_PUBLIC_KEY: key.publicKeyBase64,
    VERSION_OBSERVER_INSTALLATION: INSTALLATION,
    VERSION_OBSERVER_LISTEN_HOST: '127.0.0.1',
    VERSION_OBSERVER_PORT: '0',
    VERSION_OBSERVER_ADMIN_PORT: '0',
    VERSION_OBSERVER_LOG_LEVEL: process.env.VO_TEST_LOG_LEVEL ?? 'silent',
    ...env,
  }, overrides);
  const sc = await startSidecar(config, { defaultMetrics: false, ...opts });
  return Object.assign(sc, { key, wsUrl: `${sc.publicUrl.replace(/^http/, 'ws')}/version/ws` });
}

export async function push(adminUrl: string, body: unknown, raw = false): Promise<{ status: number; body: any }> {
  const res = await fetch(`${adminUrl}/internal/v1/state`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: raw ? (body as string) : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** The installation every test sidecar is pinned to. */
export const INSTALLATION = 'test-installation';

export const signed = (state: AppState, key: SigningKey, installation = INSTALLATION) => ({ installation, state, sig: signPush(installation, state, key) });

export interface Client {
  ws: WebSocket;
  messages: any[];
  /** resolves with [code, reason] when the socket closes */
  closed: Promise<[number, string]>;
  /** resolves when `n` messages (in total) have arrived */
  waitFor(n: number, timeoutMs?: number): Promise<any[]>;
}

export function connect(url: string, opts: WebSocket.ClientOptions = {}): Promise<Client> {
  const ws = new WebSocket(url, { perMessageDeflate: false, ...opts });
  const messages: any[] = [];
  const waiters: Array<() => void> = [];
  ws.on('message', (data) => {
    messages.push(JSON.parse(data.toString()));
    for (const w of waiters.splice(0)) w();
  });
  const closed = new Promise<[number, string]>((resolve) => ws.on('close', (code, reason) => resolve([code, reason.toString()])));
  const waitFor = (n: number, timeoutMs = 3000) =>
    new Promise<any[]>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for ${n} message(s), got ${JSON.stringify(messages)}`)), timeoutMs);
      const check = () => {
        if (messages.length >= n) {
          clearTimeout(t);
          resolve(messages);
        } else waiters.push(check);
      };
      check();
    });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, messages, closed, waitFor }));
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { statusCode: res.statusCode })));
    ws.once('error', reject);
  });
}

export { sleep } from '../../support/local-k8s.ts';

export async function metric(adminUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  // `name` may carry labels exactly as exposed, e.g. 'x_total{reason="VO_PUSH_STALE"}'
  const line = text.split('\n').find((l) => l.split(' ')[0] === name);
  return line ? Number(line.split(' ').pop()) : 0;
}

export async function metricsText(adminUrl: string): Promise<string> {
  return (await fetch(`${adminUrl}/metrics`)).text();
}

/** Builds the browser client exactly as scripts/build.ts does, to `outfile`. */
export async function buildClient(outfile: string): Promise<void> {
  await build({
    entryPoints: [`${root}src/client/index.ts`], bundle: true, minify: true, format: 'esm', target: 'es2020', outfile, logLevel: 'silent',
  });
}

/**
 * The real sidecar process, as a pod runs it: `node dist/cli/main.js sidecar` with the
 * container's NODE_OPTIONS (run `node scripts/build.ts` first). Ports are ephemeral on
 * 127.0.0.1; `rssBytes()` sums VmRSS over the process and its descendants (the sidecar command
 * may run its server in a child).
 */
export interface SidecarProcess {
  readonly pid: number;
  readonly publicUrl: string;
  readonly adminUrl: string;
  readonly wsUrl: string;
  readonly key: SigningKey;
  /** stdout lines parsed as JSON (pino) */
  readonly logs: Array<Record<string, unknown>>;
  rssBytes(): number;
  stop(): Promise<void>;
}

export async function startSidecarProcess(env: Record<string, string> = {}): Promise<SidecarProcess> {
  const key = generateSigningKey();
  const entry = `${root}dist/cli/main.js`;
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`node scripts/build.ts\` first`);
  const child = spawn(process.execPath, [entry, 'sidecar'], {
    cwd: root,
    env: {
      PATH: process.env.PATH, HOME: process.env.HOME, NODE_OPTIONS: SIDECAR_NODE_OPTIONS,
      VERSION_OBSERVER_APP: APP, VERSION_OBSERVER_POD_VERSION: '1.0.0', VERSION_OBSERVER_PUBLIC_KEY: key.publicKeyBase64, VERSION_OBSERVER_INSTALLATION: INSTALLATION,
      VERSION_OBSERVER_LISTEN_HOST: '127.0.0.1', VERSION_OBSERVER_PORT: '0', VERSION_OBSERVER_ADMIN_PORT: '0',
      VERSION_OBSERVER_LOG_LEVEL: 'info', ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  const errors: string[] = [];
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    const lines = (partial + d).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a JSON log line (blank, or a supervisor's plain text): not a fact these tests read
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => errors.push(d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const deadline = Date.now() + 15_000;
  let urls: { public: string; admin: string } | undefined;
  while (!urls) {
    urls = logs.find((l) => typeof l.public === 'string' && typeof l.admin === 'string') as typeof urls;
    if (urls) break;
    if (child.exitCode !== null) throw new Error(`sidecar exited ${child.exitCode}: ${errors.join('')}`);
    if (Date.now() > deadline) throw new Error(`sidecar not listening after 15 s: ${errors.join('')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const rssBytes = (): number => {
    let total = 0;
    const visit = (pid: number): void => {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      total += Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
      const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
      for (const c of children ? children.split(/\s+/) : []) visit(Number(c));
    };
    visit(child.pid!);
    return total;
  };
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  return { pid: child.pid!, publicUrl: urls.public, adminUrl: urls.admin, wsUrl: `${urls.public.replace(/^http/, 'ws')}/version/ws`, key, logs, rssBytes, stop };
}
