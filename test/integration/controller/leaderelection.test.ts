/**
 * Leader election against the real local control plane (no kubelet needed): several electors in
 * this process compete for real Leases. A sampler checks every 2 ms, for the whole file, that
 * no two electors lead at once. Takeover times are printed as `[takeover] …` lines.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { startCluster, type Cluster } from '../../../src/local/cluster.ts';
import { createElector, type Elector } from '../../../src/controller/leaderelection/index.ts';
import type { ElectorConfig } from '../../../src/controller/leaderelection/index.ts';
import { DEFAULT_ELECTION_CONFIG, EPOCH_ANNOTATION, leaseDurationSeconds, retryDelayMs } from '../../../src/core/election.ts';
import { silentLogger } from '../../../src/platform/logger.ts';

const NS = 'default';
const SHORT = { leaseDurationMs: 2_000, renewDeadlineMs: 1_500, retryPeriodMs: 500 } as const;
/**
 * Every time bound below is derived from the election config; this is the one allowance added
 * for the machine: how late a timer may fire plus the few Lease requests of one step, on a
 * loaded 2-core host shared with other work (the control plane runs on it too).
 */
const SCHEDULING_ALLOWANCE_MS = 600;
/** The longest wait between two acquire attempts: retryPeriod + the 20 % jitter. */
const longestRetry = (c: { retryPeriodMs: number; leaseDurationMs: number; renewDeadlineMs: number }) => retryDelayMs(c, 1);

interface Candidate {
  id: string;
  lease: string;
  elector: Elector;
  ac: AbortController;
  done: Promise<void>;
  /** performance.now() of each onStartedLeading, with its epoch. */
  started: Array<{ at: number; epoch: number }>;
  /** performance.now() and Date.now() when each term's signal aborted. */
  aborted: number[];
  abortedWall: number[];
  stopped: number;
}

let cluster: Cluster;
let coord: CoordinationV1Api;
const all: Candidate[] = [];
const violations: string[] = [];
let sampler: NodeJS.Timeout | undefined;

before(async () => {
  cluster = await startCluster({ kubelet: false, logger: silentLogger });
  coord = cluster.kubeConfig.makeApiClient(CoordinationV1Api);
  // Never two leaders of one Lease at once, sampled finely throughout the file.
  sampler = setInterval(() => {
    const byLease = new Map<string, string[]>();
    for (const c of all) if (c.elector.isLeader()) byLease.set(c.lease, [...(byLease.get(c.lease) ?? []), c.id]);
    for (const [lease, ids] of byLease) if (ids.length > 1) violations.push(`${lease}: ${ids.join(', ')} at ${performance.now().toFixed(0)}`);
  }, 2);
});

after(async () => {
  clearInterval(sampler);
  for (const c of all) c.ac.abort();
  await Promise.allSettled(all.map((c) => c.done));
  await cluster?.stop();
});

function candidate(id: string, lease: string, over: Partial<ElectorConfig> = {}): Candidate {
  const c = { id, lease, started: [], aborted: [], abortedWall: [], stopped: 0, ac: new AbortController() } as unknown as Candidate;
  c.elector = createElector(
    { kubeConfig: cluster.kubeConfig, namespace: NS, name: lease, identity: id, ...over },
    {
      onStartedLeading(leading, epoch) {
        c.started.push({ at: performance.now(), epoch });
        leading.addEventListener(
          'abort',
          () => {
            c.aborted.push(performance.now());
            c.abortedWall.push(Date.now());
          },
          { once: true },
        );
      },
      onStoppedLeading() {
        c.stopped++;
      },
    },
  );
  c.done = c.elector.run(c.ac.signal);
  all.push(c);
  return c;
}

async function until(what: string, cond: () => boolean, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
  return performance.now();
}

async function leaseEpoch(name: string): Promise<{ holder: string; epoch: number }> {
  const l = await coord.readNamespacedLease({ name, namespace: NS });
  return { holder: l.spec?.holderIdentity ?? '', epoch: Number(l.metadata?.annotations?.[EPOCH_ANNOTATION]) };
}

const leaders = (cs: Candidate[]) => cs.filter((c) => c.elector.isLeader());
const ms = (x: number) => `${x.toFixed(0)} ms`;

test('two electors: exactly one leads, and the Lease names it with its epoch', async () => {
  const a = candidate('one-a', 'one', SHORT);
  const b = candidate('one-b', 'one', SHORT);
  await until('a leader', () => leaders([a, b]).length === 1, 5_000);
  const t0 = performance.now();
  while (performance.now() - t0 < 3_000) {
    assert.equal(leaders([a, b]).length, 1, 'exactly one leader while both run');
    await new Promise((r) => setTimeout(r, 10));
  }
  const [leader] = leaders([a, b]);
  const onLease = await leaseEpoch('one');
  assert.equal(onLease.holder, leader!.id);
  assert.equal(onLease.epoch, leader!.elector.epoch());
  assert.equal(a.elector.leaderIdentity(), leader!.id);
  assert.equal(b.elector.leaderIdentity(), leader!.id);
  assert.equal(leader!.started.length, 1, 'no re-acquisition while renewing normally');
  await Promise.all([a.elector.release(), b.elector.release()]);
  assert.deepEqual(violations, []);
});

test('SIGTERM path (release) with the default timings: the other leads within one jittered retry (+ allowance), with a higher epoch', async () => {
  // Default timings (15 s / 10 s / 2 s): the waiting elector polls every 2–2.4 s and acquires a
  // released Lease at its next attempt: 2.4 s + 0.6 s allowance = the documented 3 s.
  const bound = longestRetry(DEFAULT_ELECTION_CONFIG) + SCHEDULING_ALLOWANCE_MS;
  const times: number[] = [];
  let leader = candidate('rel-0', 'release');
  await until('first leader', () => leader.elector.isLeader(), 5_000);
  for (let i = 1; i <= 3; i++) {
    const next = candidate(`rel-${i}`, 'release');
    await new Promise((r) => setTimeout(r, 300 + 500 * i)); // next is waiting, at various phases
    assert.equal(next.elector.isLeader(), false);
    const epoch = leader.elector.epoch()!;
    const t0 = performance.now();
    const released = leader.elector.release();
    assert.equal(leader.elector.isLeader(), false, 'release ends leading synchronously');
    assert.equal(leader.aborted.length, 1, 'the leading signal aborts at once');
    const t1 = await until('takeover after release', () => next.elector.isLeader(), bound);
    await released;
    times.push(t1 - t0);
    assert.ok(next.elector.epoch()! > epoch, 'higher epoch');
    assert.equal((await leaseEpoch('release')).epoch, next.elector.epoch());
    assert.equal(leader.stopped, 1);
    leader = next;
  }
  console.log(`[takeover] release, default timings (15s/10s/2s): ${times.map(ms).join(', ')} (bound ${bound} ms)`);
  assert.ok(times.every((t) => t <= bound), `every takeover within ${bound} ms`);
  await leader.elector.release();
  assert.deepEqual(violations, []);
});

test('SIGKILL path (stops renewing, no release): takeover within leaseDuration + one jittered retry (+ allowance)', async () => {
  // From the kill at t0 the dead leader's last renewal L ≤ t0; the waiting peer sees that write
  // at its next read, at most one jittered retry later (≤ L + 1.2 × retryPeriod); the record
  // expires by its observation leaseDurationSeconds after that, and it wakes at that expiry and
  // writes. So takeover − t0 ≤ 1.2 × retryPeriod + leaseDurationSeconds + the allowance.
  const bound = longestRetry(SHORT) + leaseDurationSeconds(SHORT) * 1000 + SCHEDULING_ALLOWANCE_MS;
  const times: number[] = [];
  let leader = candidate('kill-0', 'kill', { ...SHORT, releaseOnCancel: false });
  await until('first leader', () => leader.elector.isLeader(), 5_000);
  for (let i = 1; i <= 3; i++) {
    const next = candidate(`kill-${i}`, 'kill', { ...SHORT, releaseOnCancel: false });
    await new Promise((r) => setTimeout(r, 700 + 150 * i));
    const epoch = leader.elector.epoch()!;
    const t0 = performance.now();
    leader.ac.abort(); // as if the process died: no release write
    await leader.done;
    assert.equal((await leaseEpoch('kill')).holder, leader.id, 'the Lease was not released');
    const t1 = await until('takeover after expiry', () => next.elector.isLeader(), 2 * bound);
    times.push(t1 - t0);
    assert.ok(next.elector.epoch()! > epoch);
    leader = next;
  }
  console.log(`[takeover] no release, lease 2s / renew 1.5s / retry 0.5s: ${times.map(ms).join(', ')} (bound ${bound} ms)`);
  assert.ok(times.every((t) => t <= bound), `every takeover within ${bound} ms: ${times.map(ms).join(', ')}`);
  leader.ac.abort();
  await leader.done;
  assert.deepEqual(violations, []);
});

test('renewal failure (kube-apiserver stopped): the leader abdicates within renewDeadline; leadership resumes with a higher epoch', async () => {
  const a = candidate('down-a', 'down', SHORT);
  const b = candidate('down-b', 'down', SHORT);
  await until('a leader', () => leaders([a, b]).length === 1, 5_000);
  const leader = leaders([a, b])[0]!;
  const epoch = leader.elector.epoch()!;
  // Watch the Lease from outside while the apiserver goes down (it shuts down gracefully, so it
  // may keep answering for a while): the last renewTime seen, and when reads started failing.
  let lastRenewSeen = 0;
  let firstFailAt = Infinity;
  const watching = setInterval(() => {
    coord.readNamespacedLease({ name: 'down', namespace: NS }).then(
      (l) => {
        const t = l.spec?.renewTime ? new Date(l.spec.renewTime as unknown as string).getTime() : 0;
        if (l.spec?.holderIdentity === leader.id) lastRenewSeen = Math.max(lastRenewSeen, t);
      },
      () => {
        firstFailAt = Math.min(firstFailAt, Date.now());
      },
    );
  }, 25);
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(lastRenewSeen > 0, 'the Lease was readable before the stop');
  const stopCalled = performance.now();
  await cluster.stopApiServer();
  const stoppedAt = performance.now();
  const stoppedWall = Date.now();
  await until('abdication', () => leader.aborted.length === 1, SHORT.renewDeadlineMs + SCHEDULING_ALLOWANCE_MS);
  clearInterval(watching);
  const abortedAt = leader.aborted[0]!;
  const abortedWall = leader.abortedWall[0]!;
  assert.equal(leader.elector.isLeader(), false);
  assert.equal(leader.stopped, 1, 'onStoppedLeading ran');
  // The deadline counts from the start of the last successful renewal L (its renewTime is taken
  // just before L, so L ≥ the last renewTime seen from outside: not before the deadline). That
  // renewal succeeded, so it started before the API server was gone, i.e. before
  // stopApiServer() returned: abdication ≤ that return + renewDeadline + the allowance (a late
  // watchdog timer). The first failed outside read is printed only: a read may fail a while
  // after the server stopped accepting requests, so it is no bound.
  const sinceRenew = abortedWall - lastRenewSeen;
  const sinceStopped = abortedWall - stoppedWall;
  const sinceDown = abortedWall - firstFailAt;
  console.log(
    `[takeover] apiserver stopped: leader's signal aborted ${ms(sinceRenew)} after its last renewal seen, ` +
      `${ms(sinceDown)} after the API stopped answering, ${ms(abortedAt - stopCalled)} after stopApiServer() ` +
      `(which took ${ms(stoppedAt - stopCalled)}); renewDeadline ${SHORT.renewDeadlineMs} ms`,
  );
  assert.ok(sinceRenew >= SHORT.renewDeadlineMs - 5, 'not before the deadline');
  assert.ok(sinceStopped <= SHORT.renewDeadlineMs + SCHEDULING_ALLOWANCE_MS, `within renewDeadline (+ allowance) of the API going away: ${ms(sinceStopped)} after stopApiServer() returned`);
  await new Promise((r) => setTimeout(r, 1_000));
  assert.equal(leaders([a, b]).length, 0, 'nobody leads while the API is down');
  assert.equal(a.elector.healthy(), true);
  assert.equal(b.elector.healthy(), true);
  const t2 = performance.now();
  await cluster.startApiServer();
  const t3 = await until('a leader again', () => leaders([a, b]).length === 1, 10_000);
  const next = leaders([a, b])[0]!;
  console.log(`[takeover] apiserver restarted: ${next.id === leader.id ? 'same' : 'other'} elector leads ${ms(t3 - t2)} after startApiServer() was called`);
  assert.ok(next.elector.epoch()! > epoch, 'a new term, a new epoch (even for the same identity)');
  assert.equal((await leaseEpoch('down')).epoch, next.elector.epoch());
  await Promise.all([a.elector.release(), b.elector.release()]);
  assert.deepEqual(violations, []);
});

test('churn: racing creates, conflicting updates, kills and releases never yield two leaders; epochs strictly increase', async () => {
  const lease = 'churn';
  const fast = { leaseDurationMs: 1_000, renewDeadlineMs: 800, retryPeriodMs: 200 } as const;
  let n = 0;
  const live: Candidate[] = [];
  const spawn = () => {
    const c = candidate(`churn-${n++}`, lease, { ...fast, releaseOnCancel: n % 2 === 0 });
    live.push(c);
  };
  // Four start at once on a Lease that does not exist: all but one lose the create (409).
  for (let i = 0; i < 4; i++) spawn();
  const epochs: number[] = [];
  let lastEpoch = 0;
  const t0 = performance.now();
  let nextChurn = t0 + 1_500;
  while (performance.now() - t0 < 12_000) {
    const ls = leaders(live);
    assert.ok(ls.length <= 1, `two leaders: ${ls.map((c) => c.id).join(', ')}`);
    const e = ls[0]?.elector.epoch();
    if (e != null && e !== lastEpoch) {
      assert.ok(e > lastEpoch, `epoch went from ${lastEpoch} to ${e}`);
      epochs.push(e);
      lastEpoch = e;
    }
    if (performance.now() >= nextChurn && ls.length === 1) {
      const victim = ls[0]!;
      live.splice(live.indexOf(victim), 1);
      victim.ac.abort(); // releases on even spawns, just stops on odd ones
      spawn();
      nextChurn = performance.now() + 1_500;
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  assert.ok(epochs.length >= 4, `leadership changed hands (${epochs.length} terms)`);
  for (const c of live) c.ac.abort();
  await Promise.all(live.map((c) => c.done));
  assert.deepEqual(violations, []);
});
