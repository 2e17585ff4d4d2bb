/**
 * The real CLI process: `node src/cli/main.ts sidecar`. SIGTERM → every browser socket sees
 * 1001 and the process exits 0 within the grace period; invalid configuration exits non-zero
 * at once with one line.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { generateSigningKey } from '../../../src/core/signature.ts';
import { connect, INSTALLATION, makeState, push, signed, root } from './helpers.ts';

const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function sidecar(env: Record<string, string | undefined>): ChildProcess & { out: string[]; err: string[] } {
  const child = spawn(process.execPath, ['src/cli/main.ts', 'sidecar'], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  }) as ChildProcess & { out: string[]; err: string[] };
  children.push(child);
  child.out = [];
  child.err = [];
  child.stdout!.setEncoding('utf8').on('data', (d: string) => child.out.push(...d.split('\n').filter(Boolean)));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => child.err.push(...d.split('\n').filter(Boolean)));
  return child;
}

const exited = (c: ChildProcess) => new Promise<number | null>((r) => (c.exitCode !== null ? r(c.exitCode) : c.once('exit', (code) => r(code))));

async function listening(c: ReturnType<typeof sidecar>): Promise<{ publicUrl: string; adminUrl: string }> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    for (const line of c.out) {
      const j = JSON.parse(line) as { public?: string; admin?: string };
      if (j.public && j.admin) return { publicUrl: j.public, adminUrl: j.admin };
    }
    if (c.exitCode !== null) throw new Error(`exited ${c.exitCode}: ${c.err.join('\n')}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`not listening: ${c.out.join('\n')} ${c.err.join('\n')}`);
}

const key = generateSigningKey();
const baseEnv = {
  VERSION_OBSERVER_APP: 'storefront', POD_NAMESPACE: 'shop', VERSION_OBSERVER_POD_VERSION: '1.0.0',
  VERSION_OBSERVER_PUBLIC_KEY: key.publicKeyBase64, VERSION_OBSERVER_INSTALLATION: INSTALLATION, VERSION_OBSERVER_LISTEN_HOST: '127.0.0.1',
  VERSION_OBSERVER_PORT: '0', VERSION_OBSERVER_ADMIN_PORT: '0',
};

test('SIGTERM: clients see 1001, the process exits 0 within the grace period', async () => {
  const c = sidecar({ ...baseEnv, VERSION_OBSERVER_SHUTDOWN_GRACE_MS: '3000' });
  const { publicUrl, adminUrl } = await listening(c);
  const ws = `${publicUrl.replace(/^http/, 'ws')}/version/ws?v=1.0.0`;
  const clients = await Promise.all([1, 2, 3, 4].map(() => connect(ws)));
  assert.equal((await push(adminUrl, signed(makeState(), key))).status, 204);
  await Promise.all(clients.map((cl) => cl.waitFor(2)));
  const t0 = performance.now();
  c.kill('SIGTERM');
  for (const cl of clients) assert.deepEqual(await cl.closed, [1001, 'VO_WS_GOING_AWAY']);
  assert.equal(await exited(c), 0);
  const ms = performance.now() - t0;
  assert.ok(ms < 3000, `exit took ${ms.toFixed(0)} ms`);
  const logs = c.out.map((l) => JSON.parse(l) as { msg: string; level: number });
  assert.ok(logs.some((l) => /SIGTERM/.test(l.msg)), 'logs the signal as JSON');
  assert.ok(logs.some((l) => /closed 4 socket\(s\) with 1001/.test(l.msg)));
});

// The server process itself (under the supervisor, src/sidecar/supervisor.ts, the container stays up:
// test/integration/sidecar/supervisor.test.ts covers that side).
test('invalid configuration: the server process exits non-zero at once with one clear line', async () => {
  const cases: Array<[Record<string, string | undefined>, RegExp]> = [
    [{ VERSION_OBSERVER_APP: undefined }, /VERSION_OBSERVER_APP is required/],
    [{ VERSION_OBSERVER_PUBLIC_KEY: 'AAAA' }, /VERSION_OBSERVER_PUBLIC_KEY entry 1: public key must be 32 raw bytes/],
  ];
  for (const [env, pattern] of cases) {
    const c = sidecar({ ...baseEnv, ...env, VERSION_OBSERVER_SIDECAR_ROLE: 'server' });
    const t0 = performance.now();
    assert.notEqual(await exited(c), 0);
    assert.ok(performance.now() - t0 < 5000);
    assert.equal(c.err.length, 1, c.err.join('\n'));
    assert.match(c.err[0]!, /^version-observer sidecar: invalid configuration: /);
    assert.match(c.err[0]!, pattern);
  }
});

test('a port in use: the server process exits non-zero with one line naming it', async () => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as { port: number }).port;
  try {
    const c = sidecar({ ...baseEnv, VERSION_OBSERVER_PORT: String(port), VERSION_OBSERVER_SIDECAR_ROLE: 'server' });
    assert.notEqual(await exited(c), 0);
    assert.equal(c.err.length, 1, c.err.join('\n'));
    assert.match(c.err[0]!, new RegExp(`invalid configuration: port ${port} on 127.0.0.1 is already in use \\(VERSION_OBSERVER_PORT\\)`));
  } finally {
    blocker.close();
  }
});
