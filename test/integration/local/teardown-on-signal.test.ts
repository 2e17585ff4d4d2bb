import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { alive } from '../../support/local-k8s.ts';

// A harness process that starts a cluster, prints its PIDs and temp dir, then waits to be
// signalled: SIGINT/SIGTERM must tear everything down, SIGKILL must orphan nothing (setpriv).
const script = `
import { startCluster } from ${JSON.stringify(new URL('../../../src/local/cluster.ts', import.meta.url).pathname)};
import { silentLogger } from ${JSON.stringify(new URL('../../../src/platform/logger.ts', import.meta.url).pathname)};
const c = await startCluster({ logger: silentLogger });
console.log(JSON.stringify({ pids: c.pids(), dir: c.dir }));
setInterval(() => {}, 1000);
`;

async function startHarness(): Promise<{ child: ReturnType<typeof spawn>; pids: number[]; dir: string }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(buf.slice(0, nl));
    });
    child.once('exit', (code) => reject(new Error(`harness exited early with ${code}`)));
  });
  const { pids, dir } = JSON.parse(line) as { pids: number[]; dir: string };
  return { child, pids, dir };
}

async function waitGone(pids: number[], ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && pids.some(alive)) await new Promise((r) => setTimeout(r, 100));
  return pids.filter(alive);
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal} to the harness stops every process and removes the temp dir`, async () => {
    const { child, pids, dir } = await startHarness();
    assert.ok(pids.length >= 3 && pids.every(alive));
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
    assert.deepEqual(await waitGone(pids, 10_000), []);
    assert.equal(existsSync(dir), false);
  });
}

test('SIGKILL of the harness orphans no control-plane process', async () => {
  const { child, pids } = await startHarness();
  child.kill('SIGKILL');
  assert.deepEqual(await waitGone(pids, 10_000), []);
});
