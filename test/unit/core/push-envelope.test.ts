/** core checkPush: every refusal, in the documented order, and what the signature covers. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AppState } from '../../../src/core/app-state.ts';
import { checkPush, pushBody, type PushContext } from '../../../src/core/push-envelope.ts';
import { generateSigningKey, signPush } from '../../../src/core/signature.ts';

const key = generateSigningKey();
const other = generateSigningKey();
const NOW = 1_800_000_000_000;
const state = (over: Partial<AppState> = {}): AppState => ({
  app: 'shop/web', phase: 'converged', version: '1.1.0', previousVersion: '1.0.0', change: 'minor', serving: { '1.1.0': 2 }, reason: null,
  epoch: NOW / 1000 - 60, seq: 2, since: '2026-01-01T00:00:00.000Z', ...over,
});
const ctx = (over: Partial<PushContext> = {}): PushContext => ({ keys: [other.publicKey, key.publicKey], installation: 'prod', app: 'shop/web', held: null, nowMs: NOW, ...over });
const body = (s: AppState, installation = 'prod', k = key) => JSON.parse(pushBody(installation, s, k)) as Record<string, unknown>;
const code = (b: unknown, c: PushContext) => {
  const v = checkPush(b, c);
  return v.ok ? 'ok' : v.code;
};

test('a push signed for this installation, app and a newer order is applied; keyIndex names the key that verified', () => {
  const v = checkPush(body(state()), ctx());
  assert.equal(v.ok, true);
  assert.equal(v.ok && v.keyIndex, 1);
});

test('refusals, each in its place of the order', () => {
  assert.equal(code({ installation: 'prod', sig: 'x' }, ctx()), 'VO_PUSH_MALFORMED');
  assert.equal(code({ state: state(), sig: signPush('prod', state(), key) }, ctx()), 'VO_PUSH_MALFORMED', 'no installation in the envelope');
  assert.equal(code(body(state()), ctx({ keys: [] })), 'VO_PUSH_NO_KEY');
  assert.equal(code(body(state()), ctx({ installation: null })), 'VO_PUSH_NO_KEY', 'no installation pinned');
  assert.equal(code({ ...body(state()), sig: '' }, ctx()), 'VO_PUSH_BAD_SIGNATURE');
  assert.equal(code(body(state(), 'prod', generateSigningKey()), ctx()), 'VO_PUSH_BAD_SIGNATURE', 'an unknown key');
  assert.equal(code(body(state(), 'staging'), ctx()), 'VO_PUSH_WRONG_INSTALLATION', 'same key, another installation');
  assert.equal(code(body(state({ app: 'shop/other' })), ctx()), 'VO_PUSH_WRONG_APP');
  assert.equal(code(body(state({ epoch: 2 ** 53 - 1 })), ctx()), 'VO_PUSH_FUTURE_EPOCH');
  assert.equal(code(body(state({ epoch: NOW / 1000 + 3600 })), ctx()), 'ok', 'an hour ahead is within the margin');
  assert.equal(code(body(state()), ctx({ held: { epoch: NOW / 1000 - 60, seq: 2 } })), 'VO_PUSH_STALE');
  // the order: a forged far-future state for another installation is a signature failure first
  assert.equal(code(body(state({ epoch: 2 ** 53 - 1 }), 'staging', generateSigningKey()), ctx()), 'VO_PUSH_BAD_SIGNATURE');
});

test('the signature covers the installation: relabelling a state from another installation breaks it', () => {
  const fromStaging = body(state(), 'staging');
  assert.equal(code({ ...fromStaging, installation: 'prod' }, ctx()), 'VO_PUSH_BAD_SIGNATURE');
  assert.equal(code({ ...fromStaging, state: state({ version: '6.6.6' }) }, ctx({ installation: 'staging' })), 'VO_PUSH_BAD_SIGNATURE');
});

test('stand-ins (installation and clock not given) accept any installation and skip the epoch check', () => {
  assert.equal(code(body(state({ epoch: 2 ** 53 - 1 }), 'anything'), { keys: [key.publicKey], app: null, held: null }), 'ok');
});

test('the resourceVersion fence is signed and survives the check', () => {
  const fenced = state({ resourceVersion: '4711' });
  const b = body(fenced);
  assert.equal((b.state as AppState).resourceVersion, '4711');
  const v = checkPush(b, ctx());
  assert.equal(v.ok && v.state.resourceVersion, '4711');
  assert.equal(code({ ...b, state: { ...fenced, resourceVersion: '4712' } }, ctx()), 'VO_PUSH_BAD_SIGNATURE', 'the signature covers it');
});
