/**
 * Failover: two controller processes (chart args and RBAC) and a 3-pod Deployment of real
 * receivers. The leader is killed with SIGTERM (it releases the Lease) or SIGKILL (the Lease
 * must expire); takeover = kill → the last pod has accepted (204) a state of the new leader's
 * epoch (receiver clock, same machine). After each kill a fresh follower is started, synced
 * and aware of the app before the next kill. Run with the short lease timings of the tests and
 * with the client-go defaults the chart ships.
 */
import os from 'node:os';
import {
  startEnv, createNamespace, deployment, isLeader, podsOf, publicKeyOf, receivedBy, sleep, spawnController, waitFor, waitReadyz, SHORT_LEASE, type ControllerProc, type Env,
} from '../test/support/controller-harness.ts';
import type { BenchResult } from './run.ts';
import { fmt, summary } from './stats.ts';

const NS = 'ha';
const KEY = `${NS}/site`;

interface Mode {
  name: string;
  args: string[];
  leaseMs: number;
  retryMs: number;
  runs: number;
}

const MODES: Mode[] = [
  { name: 'short (tests)', args: SHORT_LEASE, leaseMs: 4000, retryMs: 500, runs: 5 },
  { name: 'default (chart)', args: ['--lease-duration=15s', '--renew-deadline=10s', '--retry-period=2s'], leaseMs: 15_000, retryMs: 2000, runs: 3 },
];

let spawned = 0;

export async function run(): Promise<BenchResult> {
  const t0 = performance.now();
  const loadStart = (os.loadavg()[0] ?? 0).toFixed(1);
  const env = await startEnv();
  const procs: ControllerProc[] = [];
  try {
    const rows: string[] = [];
    const raw: string[] = [];
    let first = true;
    for (const mode of MODES) {
      const start = async () => {
        const c = await spawnController(env, `ha-${++spawned}`, mode.args);
        procs.push(c);
        await waitReadyz(c);
        return c;
      };
      let leader = await start();
      await waitFor('a leader', () => isLeader(leader), mode.leaseMs + 10_000);
      let follower = await start();
      if (first) {
        first = false;
        await createNamespace(env, NS);
        const publicKey = await publicKeyOf(leader);
        await env.apps.createNamespacedDeployment({ namespace: NS, body: deployment({ namespace: NS, name: 'site', app: 'site', version: '1.0.0', replicas: 3, publicKey }) });
      }
      await waitFor('converged everywhere', async () => (await leader.app(KEY))?.phase === 'converged' && (await follower.app(KEY))?.phase === 'converged', 90_000);
      await waitFor('every pod holds the leader state', () => everyPodHas(env, (leader_epoch) => leader_epoch >= 1), 30_000, 50);
      const times: Record<'SIGTERM' | 'SIGKILL', number[]> = { SIGTERM: [], SIGKILL: [] };
      for (let i = 0; i < mode.runs; i++) {
        for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
          const epoch = (await leader.app(KEY))!.epoch;
          await waitFor('every pod holds the current epoch', () => everyPodHas(env, (e) => e >= epoch), 30_000, 50);
          await sleep(Math.random() * mode.retryMs); // kill at a random phase of the renew cycle
          const killedAt = Date.now();
          const exited = leader.kill(signal);
          const at = await waitFor('takeover', () => everyPodHas(env, (e) => e > epoch), mode.leaseMs * 3 + 10_000, 10);
          await exited;
          times[signal].push(at - killedAt);
          raw.push(`${mode.name} ${signal}: ${at - killedAt} ms`);
          console.error(`[failover] ${mode.name} ${signal}: ${at - killedAt} ms`);
          if (!(await isLeader(follower))) throw new Error('the follower did not become the leader');
          leader = follower;
          follower = await start();
          await waitFor('new follower knows the app', async () => (await follower.app(KEY))?.phase === 'converged', 30_000);
        }
      }
      for (const c of [leader, follower]) await c.kill('SIGTERM');
      const t = summary(times.SIGTERM);
      const k = summary(times.SIGKILL);
      const bound = mode.leaseMs + mode.retryMs;
      rows.push(`| ${mode.name}: ${mode.leaseMs / 1000} s / retry ${mode.retryMs / 1000} s | SIGTERM | ${t.n} | ${fmt(t.p50 / 1000, 2)} s | ${fmt(t.max / 1000, 2)} s | ${fmt(t.min / 1000, 2)} s | < 3 s ${t.max < 3000 ? '✅' : '❌'} |`);
      rows.push(`| ${mode.name}: ${mode.leaseMs / 1000} s / retry ${mode.retryMs / 1000} s | SIGKILL | ${k.n} | ${fmt(k.p50 / 1000, 2)} s | ${fmt(k.max / 1000, 2)} s | ${fmt(k.min / 1000, 2)} s | ≤ leaseDuration + retryPeriod = ${bound / 1000} s ${k.max <= bound ? '✅' : '❌'} |`);
    }
    const markdown = `
Two controller processes (chart args and RBAC) and a 3-replica Deployment of real receiver processes. The leader is
killed at a random point of its renew cycle; takeover = kill → every pod has accepted (204) a state stamped with the new
leader's epoch (receiver clock, same machine). After each kill a fresh follower is started and synced before the next.
Lease timings: \`--lease-duration / --retry-period\` (renew deadline 3 s and 10 s).

| lease | signal | runs | p50 | max | min | target |
| --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

SIGTERM: the leader stops pushing, writes the Lease released, and exits; the follower acquires on its next attempt
(every retryPeriod + 0–20 % jitter), so the takeover is at most ~1.2 × retryPeriod plus the re-stamp and push. SIGKILL: nothing is released; the
follower waits until leaseDuration has passed since it last saw the Lease renewed, then acquires (its attempt is
scheduled at the expiry), re-stamps every app with the new epoch and pushes.

Runs: ${raw.join('; ')}.

Load average during the run: ${loadStart} → ${(os.loadavg()[0] ?? 0).toFixed(1)} (2 cores, shared).
Total ${fmt((performance.now() - t0) / 1000, 0)} s.
`;
    return { title: 'Failover (leader killed → new leader\'s push accepted)', markdown };
  } finally {
    for (const p of procs) await p.kill('SIGKILL');
    await env.cluster.stop();
  }
}

/** Time (receiver clock) by which every running, non-terminating pod had applied a state whose epoch satisfies `ok`; undefined if not all yet. */
async function everyPodHas(env: Env, ok: (epoch: number) => boolean): Promise<number | undefined> {
  const pods = (await podsOf(env, NS, 'site')).filter((p) => !p.terminating && p.ready);
  if (pods.length === 0) return undefined;
  let at = 0;
  for (const p of pods) {
    const r = await receivedBy(p.ip);
    const hit = r.received.find((x) => x.status === 204 && x.state !== null && ok(x.state.epoch));
    if (!hit) return undefined;
    at = Math.max(at, hit.atMs);
  }
  return at;
}
