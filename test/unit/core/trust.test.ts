/** The pure key-trust decisions (src/core/trust.ts) with plain values. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compareOrder } from '../../../src/core/order.ts';
import {
  epochTooFarAhead, FUTURE_EPOCH_MARGIN_MS, heldOrderOf, isForeignOrder, isInstallationId, keyForPod, keyStatus, parseKeyList, type TrustKey,
} from '../../../src/core/trust.ts';

const signing: TrustKey = { kid: 'old', publicKey: 'OLD=', role: 'signing' };
const next: TrustKey = { kid: 'new', publicKey: 'NEW=', role: 'next' };

test('keyForPod: the newest of our keys the pod pins; the signing key when its trust is unknown or foreign', () => {
  assert.deepEqual(keyForPod(['OLD='], [signing, next]), { key: signing, why: 'pinned' });
  assert.deepEqual(keyForPod(['OLD=', 'NEW='], [signing, next]), { key: next, why: 'pinned' });
  assert.deepEqual(keyForPod(['NEW=', 'OLD='], [signing, next]), { key: next, why: 'pinned' }, 'order in the pod list does not matter');
  assert.deepEqual(keyForPod(['NEW='], [signing, next]), { key: next, why: 'pinned' });
  assert.deepEqual(keyForPod(undefined, [signing, next]), { key: signing, why: 'unknown' });
  assert.deepEqual(keyForPod(['EVIL='], [signing, next]), { key: signing, why: 'untrusted' });
  assert.deepEqual(keyForPod([], [signing]), { key: signing, why: 'untrusted' });
});

test('keyStatus: the signing key retires once a next key is staged and no pod needs it; the next key never does', () => {
  assert.deepEqual(keyStatus([signing], new Map()).map((k) => k.retired), [false], 'alone, the signing key is never retired');
  assert.deepEqual(keyStatus([signing, next], new Map([['old', 2], ['new', 1]])).map((k) => [k.kid, k.pods, k.retired]), [['old', 2, false], ['new', 1, false]]);
  assert.deepEqual(keyStatus([signing, next], new Map([['old', 0], ['new', 3]])).map((k) => [k.kid, k.pods, k.retired]), [['old', 0, true], ['new', 3, false]]);
  assert.deepEqual(keyStatus([signing, next], new Map()).map((k) => k.retired), [true, false]);
});

test('heldOrderOf reads { held: { epoch, seq } } from a 409 body, and nothing else', () => {
  assert.deepEqual(heldOrderOf({ code: 'VO_PUSH_STALE', message: 'x', held: { epoch: 7, seq: 3 } }), { epoch: 7, seq: 3 });
  assert.deepEqual(heldOrderOf('{"code":"VO_PUSH_STALE","held":{"epoch":7,"seq":3}}'), { epoch: 7, seq: 3 }, 'the raw text');
  assert.equal(heldOrderOf('{"code":"VO_PUSH_STALE","held":{"epo'), null, 'a cut body');
  for (const body of [undefined, null, 'text', {}, { held: null }, { held: { epoch: 1 } }, { held: { epoch: '1', seq: 2 } }, { held: { epoch: -1, seq: 2 } }, { held: { epoch: 1.5, seq: 2 } }, { held: { epoch: 2 ** 60, seq: 1 } }]) {
    assert.equal(heldOrderOf(body), null, JSON.stringify(body));
  }
});

test('isForeignOrder: exactly when the held order is newer than the app current state', () => {
  assert.equal(isForeignOrder({ epoch: 5, seq: 9 }, { epoch: 5, seq: 9 }), false, 'holding what we sent');
  assert.equal(isForeignOrder({ epoch: 4, seq: 99 }, { epoch: 5, seq: 1 }), false, 'an older leader');
  assert.equal(isForeignOrder({ epoch: 5, seq: 10 }, { epoch: 5, seq: 9 }), true, 'a seq we never stamped');
  assert.equal(isForeignOrder({ epoch: 2 ** 53 - 1, seq: 0 }, { epoch: 5, seq: 9 }), true, 'a far-future epoch');
  assert.equal(isForeignOrder(null, { epoch: 5, seq: 9 }), false);
  assert.equal(isForeignOrder({ epoch: 5, seq: 9 }, null), false);
  const order = fc.record({ epoch: fc.nat({ max: 5 }), seq: fc.nat({ max: 5 }) });
  fc.assert(fc.property(order, order, (held, current) => isForeignOrder(held, current) === (compareOrder(held, current) > 0)));
});

test('epochTooFarAhead: beyond the margin above the clock, not at it', () => {
  const now = 1_800_000_000_000;
  assert.equal(epochTooFarAhead(now / 1000, now), false);
  assert.equal(epochTooFarAhead((now + FUTURE_EPOCH_MARGIN_MS) / 1000, now), false);
  assert.equal(epochTooFarAhead((now + FUTURE_EPOCH_MARGIN_MS) / 1000 + 1, now), true);
  assert.equal(epochTooFarAhead(2 ** 53 - 1, now), true);
  assert.equal(epochTooFarAhead(1, now), false);
});

test('parseKeyList and isInstallationId', () => {
  assert.deepEqual(parseKeyList(' a=, b= ,,'), ['a=', 'b=']);
  assert.deepEqual(parseKeyList(undefined), []);
  assert.deepEqual(parseKeyList(''), []);
  for (const ok of ['0b7c8e5e-3c1d-4b8a-9f61-2f4f1d1c2a10', 'prod-eu', 'a', 'x'.repeat(64)]) assert.equal(isInstallationId(ok), true, ok);
  for (const bad of ['', '-x', 'has space', 'x'.repeat(65), 'a/b', 7, null]) assert.equal(isInstallationId(bad), false, String(bad));
});
