/** core validateAppState: the optional resourceVersion fence (kept, absent, refused). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_RESOURCE_VERSION_LENGTH, validateAppState } from '../../../src/core/app-state.ts';

const raw = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  app: 'shop/web', phase: 'converged', version: '1.1.0', previousVersion: '1.0.0', change: 'minor', serving: { '1.1.0': 2 }, reason: null,
  epoch: 7, seq: 2, since: '2026-01-01T00:00:00.000Z', ...over,
});

test('resourceVersion present: kept as is (opaque, not only digits)', () => {
  for (const rv of ['12345', 'abc-9', 'x'.repeat(MAX_RESOURCE_VERSION_LENGTH)]) {
    const r = validateAppState(raw({ resourceVersion: rv }));
    assert.equal(r.ok, true, rv);
    assert.equal(r.ok && r.state.resourceVersion, rv);
  }
});

test('resourceVersion absent: valid, and the kept state has no such key (an older controller)', () => {
  const r = validateAppState(raw());
  assert.equal(r.ok, true);
  assert.equal(r.ok && 'resourceVersion' in r.state, false);
});

test('resourceVersion of a wrong type, empty or too long: refused as a whole, naming the field', () => {
  for (const rv of [12345, null, '', 'x'.repeat(MAX_RESOURCE_VERSION_LENGTH + 1), ['1'], { v: '1' }]) {
    const r = validateAppState(raw({ resourceVersion: rv }));
    assert.equal(r.ok, false, JSON.stringify(rv));
    assert.match(!r.ok ? r.error : '', /^state\.resourceVersion must be /);
  }
});
