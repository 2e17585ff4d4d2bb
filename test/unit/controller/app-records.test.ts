import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppRecords } from '../../../src/controller/app-records.ts';
import type { Phase } from '../../../src/core/app-state.ts';
import type { StateBody } from '../../../src/core/evaluate.ts';

const body = (app: string, phase: Phase = 'converged'): StateBody => ({
  app, phase, version: '1.0.0', previousVersion: null, change: 'none', serving: { '1.0.0': 1 }, reason: phase === 'converged' ? null : 'MixedVersions', since: '2026-01-01T00:00:00.000Z',
});

test('every recorded state gets the next seq of the current epoch; a new term re-stamps (epoch, 1..n) in app order', () => {
  const records = new AppRecords();
  assert.deepEqual([records.record('ns/b', body('ns/b'), null)].map((s) => [s.epoch, s.seq]), [[0, 1]]);
  records.record('ns/a', body('ns/a'), null);
  const again = records.record('ns/b', body('ns/b', 'progressing'), null);
  assert.deepEqual([again.epoch, again.seq], [0, 3]);
  const before = records.stateOf('ns/a');
  assert.deepEqual(records.restamp(7), ['ns/a', 'ns/b']);
  assert.deepEqual(records.states().map((s) => [s.app, s.epoch, s.seq]), [['ns/a', 7, 1], ['ns/b', 7, 2]]);
  assert.notEqual(records.stateOf('ns/a'), before, 'a re-stamped state is a new object (signed afresh)');
  assert.deepEqual([records.record('ns/c', body('ns/c'), null)].map((s) => [s.epoch, s.seq]), [[7, 3]]);
  assert.equal(records.epoch, 7);
});

test('phase counts follow records, deletes and phase moves; keepCandidate keeps the state', () => {
  const counts = new Map<Phase, number>();
  const records = new AppRecords((phase, delta) => counts.set(phase, (counts.get(phase) ?? 0) + delta));
  records.record('ns/a', body('ns/a', 'progressing'), null);
  records.record('ns/b', body('ns/b', 'progressing'), null);
  records.record('ns/a', body('ns/a', 'converged'), null);
  records.record('ns/a', body('ns/a', 'converged'), null);
  assert.deepEqual(Object.fromEntries(counts), { progressing: 1, converged: 1 });
  const state = records.stateOf('ns/b');
  records.keepCandidate('ns/b', { version: '1.1.0', sinceMs: 5 });
  assert.equal(records.stateOf('ns/b'), state);
  assert.deepEqual(records.get('ns/b')?.candidate, { version: '1.1.0', sinceMs: 5 });
  assert.equal(records.delete('ns/b'), true);
  assert.equal(records.delete('ns/b'), false);
  assert.deepEqual(Object.fromEntries(counts), { progressing: 0, converged: 1 });
  assert.equal(records.size, 1);
});
