import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { AppState } from '../../../src/core/app-state.ts';
import { validateAppState } from '../../../src/core/app-state.ts';
import { classify } from '../../../src/core/change.ts';
import { evaluate, isDeploymentComplete, type DeploymentView, type EvaluateInput, type Evaluation, type PodView, type StateBody } from '../../../src/core/evaluate.ts';
import { normalizeVersion } from '../../../src/core/version.ts';

const APP = 'shop/storefront';
const T0 = Date.parse('2026-11-24T10:00:00.000Z');

function pod(name: string, versionLabel: string | undefined, over: Partial<PodView> = {}): PodView {
  return { name, namespace: 'shop', versionLabel, ready: true, terminating: false, podIP: '10.0.0.1', phase: 'Running', ...over };
}
function deploy(over: Partial<DeploymentView> = {}): DeploymentView {
  return {
    name: 'storefront', namespace: 'shop', generation: 2, observedGeneration: 2, specReplicas: 3, replicas: 3, updatedReplicas: 3,
    availableReplicas: 3, paused: false, progressDeadlineExceeded: false, ...over,
  };
}
function run(over: Partial<EvaluateInput>): Evaluation {
  return evaluate({ app: APP, pods: [], deployments: [], previous: null, now: T0, ...over });
}
/** What the caller does: add epoch/seq and keep the state. */
function full(body: StateBody, seq = 1): AppState {
  return { ...body, epoch: 1, seq };
}

test('all pods on one version, Deployment complete → converged, first announcement has change none', () => {
  const r = run({ pods: [pod('a', '1.0.0'), pod('b', 'v1.0.0'), pod('c', '1.0.0')], deployments: [deploy()] });
  assert.deepEqual(r.state, {
    app: APP, phase: 'converged', version: '1.0.0', previousVersion: null, change: 'none', serving: { '1.0.0': 3 }, reason: null,
    since: '2026-11-24T10:00:00.000Z',
  });
  assert.equal(r.announce, true);
  assert.equal(r.changed, true);
  assert.deepEqual(r.invalidPods, []);
  assert.ok(validateAppState(full(r.state)).ok, 'with epoch/seq added it is a valid AppState');
});

test('rollout 1.0.0 → 1.1.0 of 3 replicas: progressing throughout the mix, exactly one announcement', () => {
  let previous: AppState | null = null;
  let seq = 0;
  const announcements: AppState[] = [];
  const step = (pods: PodView[], d: Partial<DeploymentView>, now: number): Evaluation => {
    const r = evaluate({ app: APP, pods, deployments: [deploy(d)], previous, now });
    if (r.changed) previous = full(r.state, ++seq);
    if (r.announce) announcements.push(previous as AppState);
    return r;
  };
  const old = (n: string, o: Partial<PodView> = {}) => pod(n, '1.0.0', o);
  const neu = (n: string, o: Partial<PodView> = {}) => pod(n, '1.1.0', o);
  assert.equal(step([old('a'), old('b'), old('c')], {}, T0).state.phase, 'converged');
  // new generation not yet observed
  let r = step([old('a'), old('b'), old('c')], { generation: 3 }, T0 + 1);
  assert.deepEqual([r.state.phase, r.state.reason, r.state.version], ['progressing', 'DeploymentIncomplete', '1.0.0']);
  // surge pod created, not ready
  r = step([old('a'), old('b'), old('c'), neu('d', { ready: false })], { generation: 3, observedGeneration: 3, replicas: 4, updatedReplicas: 1, availableReplicas: 3 }, T0 + 2);
  assert.deepEqual([r.state.phase, r.state.reason], ['progressing', 'DeploymentIncomplete']);
  // mixed serving
  r = step([old('a', { terminating: true }), old('b'), old('c'), neu('d')], { generation: 3, observedGeneration: 3, replicas: 3, updatedReplicas: 1, availableReplicas: 3 }, T0 + 3);
  assert.deepEqual([r.state.phase, r.state.reason, r.state.serving], ['progressing', 'MixedVersions', { '1.0.0': 2, '1.1.0': 1 }]);
  r = step([old('c'), neu('d'), neu('e'), neu('f')], { generation: 3, observedGeneration: 3, replicas: 4, updatedReplicas: 3, availableReplicas: 4 }, T0 + 4);
  assert.equal(r.state.reason, 'MixedVersions');
  // all new pods serve, but an old one is still counted in status.replicas (terminating) → incomplete
  r = step([old('c', { terminating: true, ready: false }), neu('d'), neu('e'), neu('f')], { generation: 3, observedGeneration: 3, replicas: 4, updatedReplicas: 3, availableReplicas: 3 }, T0 + 5);
  assert.deepEqual([r.state.phase, r.state.reason, r.state.version], ['progressing', 'DeploymentIncomplete', '1.0.0']);
  assert.equal(announcements.length, 1);
  r = step([neu('d'), neu('e'), neu('f')], { generation: 3, observedGeneration: 3 }, T0 + 6);
  assert.equal(r.announce, true);
  assert.deepEqual([r.state.phase, r.state.version, r.state.previousVersion, r.state.change], ['converged', '1.1.0', '1.0.0', 'minor']);
  assert.equal(r.state.since, new Date(T0 + 6).toISOString());
  // steady: nothing changes, nothing announced
  r = step([neu('d'), neu('e'), neu('f')], { generation: 3, observedGeneration: 3 }, T0 + 7);
  assert.deepEqual([r.announce, r.changed], [false, false]);
  assert.deepEqual(announcements.map((s) => [s.version, s.change]), [['1.0.0', 'none'], ['1.1.0', 'minor']]);
});

test('two Deployments of one app: the one left on 1.0.0 holds convergence (MixedVersions)', () => {
  const previous = full(run({ pods: [pod('a', '1.0.0'), pod('b', '1.0.0')], deployments: [deploy(), deploy({ name: 'other' })] }).state);
  const r = run({ pods: [pod('a', '1.1.0'), pod('b', '1.0.0')], deployments: [deploy(), deploy({ name: 'other' })], previous, now: T0 + 1000 });
  assert.deepEqual([r.state.phase, r.state.reason, r.state.version, r.announce], ['progressing', 'MixedVersions', '1.0.0', false]);
});

test('announce: a first sighting of a converged app moves its version but announces nothing', () => {
  const pods = [pod('a', '1.1.0'), pod('b', '1.1.0'), pod('c', '1.1.0')];
  // This process just started (nothing recorded) and finds the app converged: pushed, not announced.
  const first = run({ pods, deployments: [deploy()], firstSighting: true });
  assert.deepEqual([first.state.phase, first.state.version, first.state.change, first.newVersion, first.announce, first.changed], ['converged', '1.1.0', 'none', true, false, true]);
  // The same cluster evaluated by a process that had recorded the app (not yet converged): announced.
  const progressing = full(run({ pods: pods.slice(0, 1), deployments: [deploy({ updatedReplicas: 1 })] }).state);
  const watched = run({ pods, deployments: [deploy()], previous: progressing });
  assert.deepEqual([watched.newVersion, watched.announce, watched.state.change], [true, true, 'none']);
  // Default (no firstSighting): announced, as before the rule moved here.
  assert.equal(run({ pods, deployments: [deploy()] }).announce, true);
  // A first sighting while not converged announces nothing either way.
  const mixed = run({ pods: [pod('a', '1.0.0'), pod('b', '1.1.0')], deployments: [deploy()], firstSighting: true });
  assert.deepEqual([mixed.newVersion, mixed.announce], [false, false]);
});

test('resourceVersion: the one Deployment\'s rv is the state\'s fence; omitted with none or several', () => {
  const pods = [pod('a', '1.1.0'), pod('b', '1.1.0'), pod('c', '1.1.0')];
  const one = run({ pods, deployments: [deploy({ resourceVersion: '4711' })] });
  assert.equal(one.state.resourceVersion, '4711');
  const checked = validateAppState(full(one.state));
  assert.equal(checked.ok && checked.state.resourceVersion, '4711', 'a receiver keeps it');
  assert.equal('resourceVersion' in run({ pods }).state, false, 'no Deployment');
  const two = run({ pods, deployments: [deploy({ resourceVersion: '1' }), deploy({ name: 'storefront-canary', resourceVersion: '2' })] });
  assert.equal('resourceVersion' in two.state, false, 'several Deployments: no one fence');
  assert.equal('resourceVersion' in run({ pods, deployments: [deploy()] }).state, false, 'a view without one');
});

test('resourceVersion: a Deployment rv change alone (a status heartbeat) makes no new state; a real change carries the new rv', () => {
  const pods = [pod('a', '1.1.0'), pod('b', '1.1.0'), pod('c', '1.1.0')];
  const first = run({ pods, deployments: [deploy({ resourceVersion: '100' })] });
  const held = full(first.state, 5);
  const heartbeat = run({ pods, deployments: [deploy({ resourceVersion: '101' })], previous: held, now: T0 + 1000 });
  assert.deepEqual([heartbeat.changed, heartbeat.announce, heartbeat.newVersion], [false, false, false]);
  // An older controller's state (no fence) against a read with one: still the same state.
  const { resourceVersion: _dropped, ...unfenced } = held;
  assert.equal(run({ pods, deployments: [deploy({ resourceVersion: '102' })], previous: unfenced }).changed, false);
  // A scale-up pod joining changes `serving`: a new state, decided from the newer read.
  const grown = run({ pods: [...pods, pod('d', '1.1.0')], deployments: [deploy({ resourceVersion: '103' })], previous: held, now: T0 + 2000 });
  assert.deepEqual([grown.changed, grown.announce, grown.state.resourceVersion], [true, false, '103']);
});

test('paused → progressing/Paused; progress deadline exceeded → degraded; no announcement', () => {
  const previous = full(run({ pods: [pod('a', '1.0.0')], deployments: [deploy()] }).state);
  let r = run({ pods: [pod('a', '1.1.0')], deployments: [deploy({ paused: true })], previous, now: T0 + 5 });
  assert.deepEqual([r.state.phase, r.state.reason, r.state.version, r.announce], ['progressing', 'Paused', '1.0.0', false]);
  assert.equal(r.state.since, new Date(T0 + 5).toISOString());
  r = run({ pods: [pod('a', '1.0.0')], deployments: [deploy({ progressDeadlineExceeded: true, updatedReplicas: 1, availableReplicas: 2 })], previous });
  assert.deepEqual([r.state.phase, r.state.reason, r.state.version, r.announce], ['degraded', 'ProgressDeadlineExceeded', '1.0.0', false]);
  // even a Deployment whose numbers look complete is not converged while paused
  r = run({ pods: [pod('a', '1.0.0')], deployments: [deploy({ paused: true })], previous });
  assert.equal(r.state.phase, 'progressing');
});

test('rollback is announced with change rollback', () => {
  const v11 = full({ ...run({ pods: [pod('a', '1.1.0')] }).state, previousVersion: '1.0.0', change: 'minor' });
  const r = run({ pods: [pod('a', '1.0.0')], deployments: [deploy()], previous: v11, now: T0 + 10 });
  assert.deepEqual([r.announce, r.state.version, r.state.previousVersion, r.state.change], [true, '1.0.0', '1.1.0', 'rollback']);
});

test('a serving pod with an invalid or missing label → degraded/InvalidVersionLabel, listed for a Warning Event', () => {
  const r = run({ pods: [pod('b', 'banana'), pod('a', '1.0.0'), pod('c', undefined), pod('d', 'junk', { ready: false })], deployments: [deploy()] });
  assert.deepEqual([r.state.phase, r.state.reason, r.state.version, r.announce], ['degraded', 'InvalidVersionLabel', null, false]);
  assert.deepEqual(r.state.serving, { '1.0.0': 1 });
  assert.deepEqual(r.invalidPods.map((p) => [p.name, p.label]), [['b', 'banana'], ['c', undefined]]);
  assert.match(r.invalidPods[0]?.reason ?? '', /banana/);
  assert.match(r.invalidPods[1]?.reason ?? '', /missing/);
  // a non-serving invalid pod does not matter
  const ok = run({ pods: [pod('a', '1.0.0'), pod('d', 'junk', { ready: false }), pod('e', 'junk', { terminating: true })] });
  assert.equal(ok.state.phase, 'converged');
});

test('no serving pods → progressing/NoServingPods, version kept', () => {
  const previous = full(run({ pods: [pod('a', '1.0.0')] }).state);
  const r = run({ pods: [pod('a', '1.0.0', { ready: false })], deployments: [deploy({ specReplicas: 0, replicas: 0, updatedReplicas: 0, availableReplicas: 0 })], previous });
  assert.deepEqual([r.state.phase, r.state.reason, r.state.version, r.state.serving], ['progressing', 'NoServingPods', '1.0.0', {}]);
});

test('pods without a Deployment count by their versions only', () => {
  assert.equal(run({ pods: [pod('a', '2.0.0'), pod('b', '2.0.0')] }).state.phase, 'converged');
  assert.equal(run({ pods: [pod('a', '2.0.0'), pod('b', '2.0.1')] }).state.reason, 'MixedVersions');
});

test('back to the last announced version after a blip: converged again, pushed, not re-announced', () => {
  const conv = full(run({ pods: [pod('a', '1.0.0')] }).state);
  const blip = full(run({ pods: [pod('a', '1.0.0')], deployments: [deploy({ paused: true })], previous: conv, now: T0 + 1 }).state, 2);
  const r = run({ pods: [pod('a', '1.0.0')], deployments: [deploy()], previous: blip, now: T0 + 2 });
  assert.deepEqual([r.state.phase, r.state.version, r.announce, r.changed], ['converged', '1.0.0', false, true]);
  assert.equal(r.state.since, new Date(T0 + 2).toISOString());
});

test('policy: most permissive valid annotation among the Deployments, omitted when none', () => {
  assert.equal(run({ pods: [pod('a', '1.0.0')], deployments: [deploy()] }).state.policy, undefined);
  assert.ok(!('policy' in run({ pods: [pod('a', '1.0.0')], deployments: [deploy({ policy: 'bogus' })] }).state));
  assert.equal(run({ pods: [pod('a', '1.0.0')], deployments: [deploy({ policy: 'major' }), deploy({ name: 'x', policy: 'minor' })] }).state.policy, 'minor');
  assert.equal(run({ pods: [pod('a', '1.0.0')], deployments: [deploy({ policy: 'any' }), deploy({ name: 'x', policy: 'patch' })] }).state.policy, 'any');
});

test('settle window: announced only after the converged version held for settleMs', () => {
  const conv = full(run({ pods: [pod('a', '1.0.0')] }).state);
  const pods = [pod('a', '1.1.0')];
  let r = run({ pods, previous: conv, now: T0 + 1000, settleMs: 500 });
  assert.deepEqual([r.state.phase, r.state.reason, r.state.version, r.announce, r.settleRemainingMs], ['progressing', 'Settling', '1.0.0', false, 500]);
  assert.deepEqual(r.candidate, { version: '1.1.0', sinceMs: T0 + 1000 });
  const settling = full(r.state, 2);
  r = run({ pods, previous: settling, now: T0 + 1300, settleMs: 500, candidate: r.candidate });
  assert.deepEqual([r.state.reason, r.settleRemainingMs, r.changed], ['Settling', 200, false]);
  const c = r.candidate;
  // a flap resets the window
  const flap = run({ pods: [pod('a', '1.2.0')], previous: settling, now: T0 + 1400, settleMs: 500, candidate: c });
  assert.deepEqual(flap.candidate, { version: '1.2.0', sinceMs: T0 + 1400 });
  const mixed = run({ pods: [pod('a', '1.1.0'), pod('b', '1.0.0')], previous: settling, now: T0 + 1400, settleMs: 500, candidate: c });
  assert.equal(mixed.candidate, null);
  r = run({ pods, previous: settling, now: T0 + 1500, settleMs: 500, candidate: c });
  assert.deepEqual([r.state.phase, r.state.version, r.state.change, r.announce, r.candidate], ['converged', '1.1.0', 'minor', true, null]);
  assert.equal(r.settleRemainingMs, undefined);
  // the settle window does not delay a return to the version already announced
  const back = run({ pods: [pod('a', '1.0.0')], previous: settling, now: T0 + 1400, settleMs: 500 });
  assert.deepEqual([back.state.phase, back.announce], ['converged', false]);
});

test('isDeploymentComplete: kubectl rollout status rules', () => {
  assert.equal(isDeploymentComplete(deploy()), true);
  assert.equal(isDeploymentComplete(deploy({ observedGeneration: 1 })), false);
  assert.equal(isDeploymentComplete(deploy({ updatedReplicas: 2, availableReplicas: 2 })), false);
  assert.equal(isDeploymentComplete(deploy({ replicas: 4 })), false);
  assert.equal(isDeploymentComplete(deploy({ availableReplicas: 2 })), false);
  // scale-down of a finished rollout: still complete
  assert.equal(isDeploymentComplete(deploy({ specReplicas: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 3 })), true);
});

// ---------------------------------------------------------------- properties

const labelArb = fc.constantFrom<string | undefined>('1.0.0', 'v1.0.0', '1.1.0', '2.0.0-rc.1', 'banana', undefined);
const podArb = fc.record({ versionLabel: labelArb, ready: fc.boolean(), terminating: fc.boolean() });
const podsArb = fc.uniqueArray(fc.tuple(fc.nat({ max: 30 }), podArb), { selector: ([n]) => n, maxLength: 8 }).map((xs) =>
  xs.map(([n, p]) => pod(`p${n}`, p.versionLabel, { ready: p.ready, terminating: p.terminating })),
);
const deploymentArb = fc
  .record({
    generation: fc.integer({ min: 1, max: 3 }), observedGeneration: fc.integer({ min: 1, max: 3 }), specReplicas: fc.nat({ max: 3 }),
    replicas: fc.nat({ max: 4 }), updatedReplicas: fc.nat({ max: 4 }), availableReplicas: fc.nat({ max: 4 }),
    paused: fc.boolean(), progressDeadlineExceeded: fc.boolean(), policy: fc.constantFrom(undefined, 'major', 'minor', 'patch', 'any', 'x'),
  })
  // bias toward complete, unpaused Deployments so that `converged` is common
  .chain((d) => fc.boolean().map((fix) => (fix ? { ...d, observedGeneration: d.generation, replicas: d.specReplicas, updatedReplicas: d.specReplicas, availableReplicas: d.specReplicas, paused: false, progressDeadlineExceeded: false } : d)));
const deploymentsArb = fc.array(deploymentArb, { maxLength: 3 }).map((ds) => ds.map((d, i) => deploy({ ...d, name: `d${i}` })));
const previousArb: fc.Arbitrary<AppState | null> = fc.option(
  fc.record({
    phase: fc.constantFrom('converged' as const, 'progressing' as const, 'degraded' as const),
    version: fc.constantFrom<string | null>(null, '1.0.0', '1.1.0', '2.0.0-rc.1'),
    reason: fc.constantFrom<string | null>(null, 'Paused'),
  }).map(({ phase, version, reason }) => ({
    app: APP, phase, version, previousVersion: null, change: 'none' as const, serving: {}, reason, epoch: 3, seq: 9, since: new Date(T0 - 60_000).toISOString(),
  })),
);
const inputArb = fc.record({
  pods: podsArb, deployments: deploymentsArb, previous: previousArb, now: fc.integer({ min: T0, max: T0 + 10_000 }),
  settleMs: fc.constantFrom(0, 0, 100), candidate: fc.option(fc.record({ version: fc.constantFrom('1.0.0', '1.1.0'), sinceMs: fc.integer({ min: T0 - 1000, max: T0 + 10_000 }) })),
});

function shuffled<T>(xs: readonly T[], keys: number[]): T[] {
  return xs.map((x, i) => [keys[i % Math.max(1, keys.length)] ?? 0, i, x] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map(([, , x]) => x);
}

test('property: deterministic and independent of input order', () => {
  fc.assert(
    fc.property(inputArb, fc.array(fc.integer(), { minLength: 1, maxLength: 10 }), fc.array(fc.integer(), { minLength: 1, maxLength: 10 }), (input, k1, k2) => {
      const a = evaluate({ app: APP, ...input });
      const b = evaluate({ app: APP, ...input, pods: shuffled(input.pods, k1), deployments: shuffled(input.deployments, k2) });
      assert.deepEqual(b, a);
      assert.equal(JSON.stringify(b), JSON.stringify(a), 'even key order is stable');
      assert.deepEqual(evaluate({ app: APP, ...input }), a);
    }),
    { numRuns: 1500 },
  );
});

test('property: never converged while any serving pod differs or any Deployment is incomplete, paused or failed', () => {
  let converged = 0;
  fc.assert(
    fc.property(inputArb, (input) => {
      const r = evaluate({ app: APP, ...input });
      const serving = input.pods.filter((p) => p.ready && !p.terminating);
      const versions = new Set(serving.map((p) => normalizeVersion(p.versionLabel)));
      const ok = serving.length > 0 && versions.size === 1 && !versions.has(null)
        && input.deployments.every((d) => isDeploymentComplete(d) && !d.paused && !d.progressDeadlineExceeded);
      if (r.state.phase === 'converged') {
        converged++;
        assert.ok(ok, 'converged only when the cluster says so');
        assert.equal(r.state.version, [...versions][0]);
        assert.equal(r.state.reason, null);
      } else {
        assert.ok(!ok || (input.settleMs > 0 && r.state.reason === 'Settling'), `not converged without a reason: ${r.state.reason}`);
        assert.equal(typeof r.state.reason, 'string');
        assert.equal(r.state.version, input.previous?.version ?? null, 'version only moves on convergence');
        assert.equal(r.announce, false);
      }
      assert.ok(validateAppState(full(r.state)).ok);
      for (const v of Object.keys(r.state.serving)) assert.equal(normalizeVersion(v), v, 'serving keys are normalized valid versions');
    }),
    { numRuns: 3000 },
  );
  assert.ok(converged > 100, `the generator reaches converged often enough (${converged})`);
});

test('property: announce ⇔ a newly converged version differs from the last one, not on a first sighting, with change from semver', () => {
  fc.assert(
    fc.property(inputArb, fc.boolean(), (input, firstSighting) => {
      const r = evaluate({ app: APP, ...input, firstSighting });
      const last = input.previous?.version ?? null;
      assert.equal(r.newVersion, r.state.phase === 'converged' && r.state.version !== last);
      assert.equal(r.announce, r.newVersion && !firstSighting);
      const { announce: _a, ...rest } = r;
      const { announce: _b, ...unsighted } = evaluate({ app: APP, ...input, firstSighting: !firstSighting });
      assert.deepEqual(rest, unsighted, 'a first sighting changes the announcement only, never the state');
      if (r.newVersion) {
        assert.equal(r.state.previousVersion, last);
        assert.equal(r.state.change, classify(last, r.state.version as string));
        assert.equal(r.state.since, new Date(input.now).toISOString());
      }
    }),
    { numRuns: 3000 },
  );
});

test('property: re-evaluating the same cluster with the new state as previous is a fixpoint', () => {
  fc.assert(
    fc.property(inputArb, fc.nat({ max: 5000 }), (input, later) => {
      const first = evaluate({ app: APP, ...input, settleMs: 0 });
      const again = evaluate({ app: APP, ...input, settleMs: 0, previous: full(first.state, 10), now: input.now + later });
      assert.equal(again.announce, false);
      assert.equal(again.changed, false);
      assert.deepEqual(again.state, first.state);
    }),
    { numRuns: 2000 },
  );
});
