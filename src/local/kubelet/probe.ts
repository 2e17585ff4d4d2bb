/**
 * Container probes (readiness, liveness, startup) as the kubelet runs them: httpGet (2xx/3xx
 * succeeds), tcpSocket (connect succeeds), exec (the command runs as a local process with the
 * container's env; exit 0 succeeds). grpc is not supported and fails with a message saying so.
 *
 * Invariants: a Prober has at most one timer and one probe in flight; it reports when its
 * result flips (after successThreshold successes / failureThreshold failures in a row), or when
 * the failure message changes while it is not passing; it keeps the last failure message.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { V1ContainerPort, V1Probe } from '@kubernetes/client-node';

export interface ProbeContext {
  podIP: string;
  ports: V1ContainerPort[];
  env: Record<string, string>;
}

export interface ProbeResult {
  ok: boolean;
  message: string;
}

function resolvePort(port: number | string | undefined, ports: V1ContainerPort[]): number | string {
  if (typeof port === 'number') return port;
  if (port === undefined) return 'missing port';
  if (/^\d+$/.test(port)) return Number(port);
  const found = ports.find((p) => p.name === port);
  return found ? found.containerPort : `port name "${port}" not found in the container's ports`;
}

function httpProbe(probe: V1Probe, ctx: ProbeContext, timeoutMs: number): Promise<ProbeResult> {
  const g = probe.httpGet!;
  const port = resolvePort(g.port as number | string, ctx.ports);
  if (typeof port === 'string') return Promise.resolve({ ok: false, message: port });
  const host = g.host || ctx.podIP;
  const path = g.path || '/';
  const secure = (g.scheme ?? 'HTTP').toUpperCase() === 'HTTPS';
  const url = `${secure ? 'https' : 'http'}://${host}:${port}${path.startsWith('/') ? path : `/${path}`}`;
  const headers: Record<string, string> = { 'user-agent': 'kube-probe/process-kubelet', accept: '*/*', connection: 'close' };
  for (const h of g.httpHeaders ?? []) headers[h.name] = h.value;
  return new Promise((resolve) => {
    const req = (secure ? https : http).request(url, { method: 'GET', headers, timeout: timeoutMs, rejectUnauthorized: false, agent: false }, (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      resolve(code >= 200 && code < 400 ? { ok: true, message: '' } : { ok: false, message: `HTTP probe failed with statuscode: ${code} (GET ${url})` });
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, message: `Get "${url}": ${err.code ? `${err.code} ` : ''}${err.message}` }));
    req.end();
  });
}

function tcpProbe(probe: V1Probe, ctx: ProbeContext, timeoutMs: number): Promise<ProbeResult> {
  const port = resolvePort(probe.tcpSocket!.port as number | string, ctx.ports);
  if (typeof port === 'string') return Promise.resolve({ ok: false, message: port });
  const host = probe.tcpSocket!.host || ctx.podIP;
  return new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: timeoutMs });
    s.on('connect', () => {
      s.destroy();
      resolve({ ok: true, message: '' });
    });
    s.on('timeout', () => s.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    s.on('error', (err) => resolve({ ok: false, message: `dial tcp ${host}:${port}: ${err.message}` }));
  });
}

function execProbe(probe: V1Probe, ctx: ProbeContext, timeoutMs: number): Promise<ProbeResult> {
  const [cmd, ...args] = probe.exec?.command ?? [];
  if (!cmd) return Promise.resolve({ ok: false, message: 'exec probe has no command' });
  return new Promise((resolve) => {
    let out = '';
    const child = spawn(cmd, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...ctx.env }, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    child.stdout.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-512)));
    child.stderr.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-512)));
    child.on('error', (err) => resolve({ ok: false, message: `exec probe "${cmd}": ${err.message}` }));
    child.on('close', (code, signal) =>
      resolve(code === 0 ? { ok: true, message: '' } : { ok: false, message: `exec probe "${cmd}" exited with ${signal ?? code}: ${out.trim()}` }),
    );
  });
}

export function runProbe(probe: V1Probe, ctx: ProbeContext): Promise<ProbeResult> {
  const timeoutMs = Math.max(1, probe.timeoutSeconds ?? 1) * 1000;
  if (probe.httpGet) return httpProbe(probe, ctx, timeoutMs);
  if (probe.tcpSocket) return tcpProbe(probe, ctx, timeoutMs);
  if (probe.exec) return execProbe(probe, ctx, timeoutMs);
  if (probe.grpc) return Promise.resolve({ ok: false, message: 'grpc probes are not supported by the process kubelet' });
  return Promise.resolve({ ok: false, message: 'probe has no handler' });
}

export type ProbeKind = 'readiness' | 'liveness' | 'startup';

export class Prober {
  readonly kind: ProbeKind;
  readonly #probe: V1Probe;
  readonly #ctx: ProbeContext;
  readonly #onFlip: (ok: boolean, message: string) => void;
  #timer: NodeJS.Timeout | undefined;
  #stopped = true;
  #successes = 0;
  #failures = 0;
  /** Current result: undefined until a threshold is first reached. */
  result: boolean | undefined;
  /** The last failure message ('' after a success). */
  lastMessage = '';

  constructor(kind: ProbeKind, probe: V1Probe, ctx: ProbeContext, onFlip: (ok: boolean, message: string) => void) {
    this.kind = kind;
    this.#probe = probe;
    this.#ctx = ctx;
    this.#onFlip = onFlip;
  }

  start(): void {
    this.#stopped = false;
    this.#schedule(Math.max(0, this.#probe.initialDelaySeconds ?? 0) * 1000);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#tick(), ms);
  }

  async #tick(): Promise<void> {
    this.#timer = undefined;
    const r = await runProbe(this.#probe, this.#ctx);
    if (this.#stopped) return;
    // liveness and startup need one success only (the API enforces successThreshold 1 for them)
    const successThreshold = this.kind === 'readiness' ? Math.max(1, this.#probe.successThreshold ?? 1) : 1;
    const failureThreshold = Math.max(1, this.#probe.failureThreshold ?? 3);
    const prevMessage = this.lastMessage;
    if (r.ok) {
      this.#successes++;
      this.#failures = 0;
      this.lastMessage = '';
      if (this.result !== true && this.#successes >= successThreshold) {
        this.result = true;
        this.#onFlip(true, '');
      }
    } else {
      this.#failures++;
      this.#successes = 0;
      this.lastMessage = `${this.kind} probe failed: ${r.message}`;
      if (this.result !== false && this.#failures >= failureThreshold) {
        this.result = false;
        this.#onFlip(false, this.lastMessage);
      } else if (this.result !== true && prevMessage !== this.lastMessage) {
        this.#onFlip(false, this.lastMessage); // not ready yet: keep the reason visible
      }
    }
    if (this.kind === 'startup' && this.result === true) return; // startup probes stop once they succeed
    this.#schedule(Math.max(1, this.#probe.periodSeconds ?? 10) * 1000);
  }
}
