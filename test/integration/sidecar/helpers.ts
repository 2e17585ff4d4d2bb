/**
 * Helpers for sidecar tests with real sockets: an in-process sidecar on 127.0.0.1 with
 * ephemeral ports, signed pushes, WebSocket clients that record what they receive.
 */
import WebSocket from 'ws';
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { parseConfig, type SidecarConfig } from '../../../src/sidecar/config.ts';
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
