/**
 * The sidecar's supervisor as the container runs it: `node src/cli/main.ts sidecar` is the
 * supervisor, its child the server. The supervisor outlives every death of the server and
 * restarts it with growing delays; only SIGTERM ends it, after the server's drain and 1001.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigningKey } from '../../../src/core/signature.ts';
import { INSTALLATION, connect, makeState, push, signed, root } from './helpers.ts';

interface LogLine { msg: string; event?: string; pid?: number; public?: string; admin?: string; signal?: string | null; code?: number | null; delayMs?: number; [k: string]: unknown }
type Supervised = ChildProcess & { lines: LogLine[]; err: string[] };

const started: Supervised[] = [];
after(() => {
  for (const c of started) {
    for (const l of c.lines) if (l.event === 'server-start' && l.pid) try { process.kill(l.pid, 'SIGKILL'); } catch { /* gone */ }
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
});

const key = generateSigningKey();
const baseEnv = {
  VERSION_OBSERVER_APP: 'storefront', POD_NAMESPACE: 'shop', VERSION_OBSERVER_POD_VERSION: '1.0.0',
  VERSION_OBSERVER_PUBLIC_KEY: key.publicKeyBase64, VERSION_OBSERVER_INSTALLATION: INSTALLATION, VERSION_OBSERVER_LISTEN_HOST: '127.0.0.1',
  VERSION_OBSERVER_PORT: '0', VERSION_OBSERVER_ADMIN_PORT: '0',
};

function supervisor(env: Record<string, string | undefined>): Supervised {
  const c = spawn(process.execPath, ['src/cli/main.ts', 'sidecar'], {
    cwd: root, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  }) as Supervised;
  started.push(c);
  c.lines = [];
  c.err = [];
  let partial = '';
  c.stdout!.setEncoding('utf8').on('data', (d: string) => {
    const parts = (partial + d).split('\n');
    partial = parts.pop()!;
    for (const p of parts) if (p) c.lines.push(JSON.parse(p) as LogLine);
  });
  c.stderr!.setEncoding('utf8').on('data', (d: string) => c.err.push(...d.split('\n').filter(Boolean)));
  return c;
}

async function until<T>(what: string, c: Supervised, probe: () => T | undefined, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = probe();
    if (v !== undefined) return v;
    if (c.exitCode !== null) throw new Error(`supervisor exited ${c.exitCode} while waiting for ${what}: ${c.err.join('\n')}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}; log: ${c.lines.map((l) => l.msg).join(' | ')}`);
}

/** The n-th (1-based) time the server listened: its URLs. */
const nthListening = (c: Supervised, n: number) =>
  until(`listening #${n}`, c, () => c.lines.filter((l) => l.public && l.admin)[n - 1] as { public: string; admin: string } | undefined);
const nthStart = (c: Supervised, n: number) => until(`server start #${n}`, c, () => c.lines.filter((l) => l.event === 'server-start')[n - 1]);
const exited = (c: ChildProcess) => new Promise<number | null>((r) => (c.exitCode !== null ? r(c.exitCode) : c.once('exit', (code) => r(code))));

test('SIGKILL the server again and again: the supervisor stays, restarts it with growing delays, and it answers again', async () => {
  const c = supervisor(baseEnv);
  const kills = 4;
  for (let n = 1; n <= kills; n++) {
    const { admin } = await nthListening(c, n);
    assert.equal((await fetch(`${admin}/healthz`)).status, 200);
    const { pid } = await nthStart(c, n);
    process.kill(pid!, 'SIGKILL');
    await until(`exit #${n} logged`, c, () => c.lines.filter((l) => l.event === 'server-exit')[n - 1]);
  }
  const exits = c.lines.filter((l) => l.event === 'server-exit');
  assert.deepEqual(exits.map((l) => [l.signal, l.code]), Array(kills).fill(['SIGKILL', null]), 'each restart logs the signal');
  const delays = exits.map((l) => l.delayMs!);
  for (let i = 1; i < delays.length; i++) assert.ok(delays[i]! >= delays[i - 1]!, `delays grow: ${delays.join(', ')}`);
  assert.ok(delays.at(-1)! > delays[0]!, `delays grow: ${delays.join(', ')}`);
  assert.equal(c.exitCode, null, 'the supervisor (the container) is still running');

  const { public: publicUrl, admin } = await nthListening(c, kills + 1);
  const client = await connect(`${publicUrl.replace(/^http/, 'ws')}/version/ws?v=1.0.0`);
  await client.waitFor(1);
  assert.equal(client.messages[0].type, 'hello');
  const metrics = await (await fetch(`${admin}/metrics`)).text();
  assert.match(metrics, new RegExp(`^version_observer_sidecar_server_restarts ${kills}$`, 'm'));
  client.ws.close();
});

test('SIGTERM to the supervisor: the server drains, clients get 1001, the supervisor exits 0', async () => {
  const c = supervisor({ ...baseEnv, VERSION_OBSERVER_DRAIN_MS: '600', VERSION_OBSERVER_SHUTDOWN_GRACE_MS: '4000' });
  const { public: publicUrl, admin } = await nthListening(c, 1);
  const clients = await Promise.all([1, 2, 3].map(() => connect(`${publicUrl.replace(/^http/, 'ws')}/version/ws?v=1.0.0`)));
  await Promise.all(clients.map((cl) => cl.waitFor(1)));
  const t0 = performance.now();
  c.kill('SIGTERM');
  // During the drain the server still delivers the state that announces the rollout.
  await new Promise((r) => setTimeout(r, 150));
  assert.equal((await push(admin, signed(makeState(), key))).status, 204);
  for (const cl of clients) {
    await cl.waitFor(2);
    assert.deepEqual(await cl.closed, [1001, 'VO_WS_GOING_AWAY']);
  }
  const closedAfter = performance.now() - t0;
  assert.equal(await exited(c), 0);
  assert.ok(closedAfter >= 550, `sockets were kept for the drain (${closedAfter.toFixed(0)} ms)`);
  assert.ok(performance.now() - t0 < 4000);
  assert.ok(c.lines.some((l) => l.component === 'sidecar-supervisor' && /SIGTERM: forwarded/.test(l.msg)));
  assert.ok(c.lines.some((l) => /closed 3 socket\(s\) with 1001/.test(l.msg)));
  assert.equal(c.lines.filter((l) => l.event === 'server-exit').length, 0, 'a drain is not a crash: no restart');
});

test('invalid configuration: one clear line, no restart loop, and the container stays up until SIGTERM', async () => {
  const c = supervisor({ ...baseEnv, VERSION_OBSERVER_PUBLIC_KEY: 'AAAA' });
  await until('the config error', c, () => c.lines.find((l) => l.event === 'config-invalid'));
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(c.exitCode, null);
  assert.equal(c.err.length, 1, c.err.join('\n'));
  assert.match(c.err[0]!, /^version-observer sidecar: invalid configuration: VERSION_OBSERVER_PUBLIC_KEY entry 1/);
  assert.equal(c.lines.filter((l) => l.event === 'server-start').length, 1, 'a restart cannot fix the env: the server is not restarted');
  assert.equal(c.lines.filter((l) => l.event === 'server-exit').length, 0);
  c.kill('SIGTERM');
  assert.equal(await exited(c), 0);
});

test('a port in use: retried with backoff like a crash (it may be a previous server closing), served once it is free', async () => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as { port: number }).port;
  const c = supervisor({ ...baseEnv, VERSION_OBSERVER_PORT: String(port) });
  try {
    await until('two failed starts', c, () => c.lines.filter((l) => l.event === 'server-exit')[1]);
    assert.ok(c.err.some((l) => l.includes(`invalid configuration: port ${port} on 127.0.0.1 is already in use (VERSION_OBSERVER_PORT)`)), c.err.join('\n'));
    assert.deepEqual(c.lines.filter((l) => l.event === 'server-exit').slice(0, 2).map((l) => l.code), [1, 1]);
  } finally {
    blocker.close();
  }
  const { public: publicUrl } = await nthListening(c, 1);
  assert.equal(publicUrl, `http://127.0.0.1:${port}`);
  assert.equal(c.exitCode, null);
  c.kill('SIGTERM');
  assert.equal(await exited(c), 0);
});

test('a memory limit: the server gets half of it as V8 heap and derives its connection cap; an explicit cap wins', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vo-cgroup-'));
  writeFileSync(join(dir, 'memory.max'), `${256 * 2 ** 20}\n`);
  const c = supervisor({ ...baseEnv, VERSION_OBSERVER_CGROUP_DIR: dir });
  await nthListening(c, 1);
  const sup = c.lines.find((l) => l.event === 'supervisor-start')!;
  assert.deepEqual([sup.memoryMaxMiB, sup.serverHeapLimitMiB], [256, 128]);
  const cap = await until('the cap line', c, () => c.lines.find((l) => /^connection cap/.test(l.msg)));
  assert.equal(cap.source, 'memory');
  assert.equal(cap.memoryMaxMiB, 256);
  assert.ok((cap.maxConnections as number) > 1000 && (cap.idleMiB as number) > 20, JSON.stringify(cap));
  c.kill('SIGTERM');
  assert.equal(await exited(c), 0);

  const explicit = supervisor({ ...baseEnv, VERSION_OBSERVER_CGROUP_DIR: dir, VERSION_OBSERVER_MAX_CONNECTIONS: '123' });
  const line = await until('the cap line', explicit, () => explicit.lines.find((l) => /^connection cap/.test(l.msg)));
  assert.deepEqual([line.maxConnections, line.source], [123, 'setting']);
  explicit.kill('SIGTERM');
  assert.equal(await exited(explicit), 0);
});
