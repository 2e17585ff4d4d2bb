import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { StateStore } from '../../../src/sidecar/state-store.ts';
import { etagMatches } from '../../../src/sidecar/public-server.ts';
import type { AppState } from '../../../src/core/app-state.ts';

const state = (epoch: number, seq: number, version = '1.1.0'): AppState => ({
  app: 'shop/storefront', phase: 'converged', version, previousVersion: '1.0.0', change: 'minor',
  serving: { [version]: 2 }, reason: null, epoch, seq, since: '2026-01-01T00:00:00.000Z',
});

test('before any push: hello carries null, no state frame, /version body has state null', () => {
  const s = new StateStore('shop/storefront', '1.0.0');
  assert.deepEqual(JSON.parse(s.hello.toString()), { type: 'hello', podVersion: '1.0.0', state: null });
  assert.equal(s.stateFrame, null);
  assert.deepEqual(JSON.parse(s.versionBody), { app: 'shop/storefront', podVersion: '1.0.0', state: null });
});

test('applies only newer (epoch, seq); every form and the ETag follow the held state', () => {
  const s = new StateStore('shop/storefront', '1.0.0');
  const etag0 = s.etag;
  assert.equal(s.apply(state(1, 1)), 'applied');
  assert.notEqual(s.etag, etag0);
  assert.deepEqual(JSON.parse(s.stateFrame!.toString()), { type: 'state', state: state(1, 1) });
  assert.deepEqual(JSON.parse(s.hello.toString()).state, state(1, 1));
  const etag1 = s.etag;
  assert.equal(s.apply(state(1, 1, '9.9.9')), 'stale');
  assert.equal(s.apply(state(0, 50)), 'stale');
  assert.equal(s.etag, etag1);
  assert.equal(s.apply(state(2, 0, '1.2.0')), 'applied');
  assert.equal(s.state?.version, '1.2.0');
});

test('the held (epoch, seq) never decreases, whatever order pushes arrive in', () => {
  fc.assert(fc.property(fc.array(fc.tuple(fc.nat(5), fc.nat(20)), { maxLength: 30 }), (pushes) => {
    const s = new StateStore('shop/storefront', '1.0.0');
    let prev: [number, number] = [-1, -1];
    for (const [e, q] of pushes) {
      s.apply(state(e, q));
      const h = s.state!;
      assert.ok(h.epoch > prev[0] || (h.epoch === prev[0] && h.seq >= prev[1]));
      prev = [h.epoch, h.seq];
    }
  }));
});

test('If-None-Match: lists, weak tags and * match', () => {
  assert.equal(etagMatches(undefined, '"a"'), false);
  assert.equal(etagMatches('"a"', '"a"'), true);
  assert.equal(etagMatches('W/"a"', '"a"'), true);
  assert.equal(etagMatches('"x", "a"', '"a"'), true);
  assert.equal(etagMatches('*', '"a"'), true);
  assert.equal(etagMatches('"b"', '"a"'), false);
});

test('a verified push with the resourceVersion fence: browsers and /version get it unchanged', () => {
  const s = new StateStore('shop/storefront', '1.0.0');
  const fenced: AppState = { ...state(1, 1), resourceVersion: '4711' };
  assert.equal(s.apply(fenced), 'applied');
  assert.equal(JSON.parse(s.hello.toString()).state.resourceVersion, '4711');
  assert.equal(JSON.parse(s.stateFrame!.toString()).state.resourceVersion, '4711');
  assert.equal(JSON.parse(s.versionBody).state.resourceVersion, '4711');
});
