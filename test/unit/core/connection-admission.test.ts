import assert from 'node:assert/strict';
import test from 'node:test';
import fc from 'fast-check';
import { admitConnection, fullBucket, retryAfterSeconds, takeToken, type MessageRate } from '../../../src/core/connection-admission.ts';

test('admission: the total cap first, then the per-address cap', () => {
  const base = { connections: 5, maxConnections: 10, fromAddress: 2, maxPerAddress: 3 };
  assert.deepEqual(admitConnection(base), { ok: true });
  assert.deepEqual(admitConnection({ ...base, connections: 10 }), { ok: false, code: 'VO_WS_AT_CAPACITY' });
  assert.deepEqual(admitConnection({ ...base, fromAddress: 3 }), { ok: false, code: 'VO_WS_IP_AT_CAPACITY' });
  assert.deepEqual(admitConnection({ ...base, connections: 10, fromAddress: 3 }), { ok: false, code: 'VO_WS_AT_CAPACITY' });
});

test('Retry-After: whole seconds within [base, 2 × base], spread by the draw', () => {
  assert.equal(retryAfterSeconds(5000, 0), 5);
  assert.equal(retryAfterSeconds(5000, 0.999999), 10);
  assert.equal(retryAfterSeconds(1, 0), 1, 'never 0');
  assert.equal(retryAfterSeconds(5000, Number.NaN), 5);
  const seen = new Set(Array.from({ length: 60 }, (_, i) => retryAfterSeconds(5000, i / 60)));
  assert.deepEqual([...seen].sort((a, b) => a - b), [5, 6, 7, 8, 9, 10]);
  fc.assert(fc.property(fc.integer({ min: 1, max: 3_600_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (ms, r) => {
    const s = retryAfterSeconds(ms, r);
    const base = Math.ceil(ms / 1000);
    assert.ok(Number.isInteger(s) && s >= base && s <= 2 * base);
  }));
});

test('token bucket: a burst back to back, then the sustained rate', () => {
  const rate: MessageRate = { burst: 3, perMinute: 60 }; // one per second
  let b = fullBucket(rate, 0);
  const at = (now: number) => {
    const r = takeToken(b, now, rate);
    b = r.bucket;
    return r.allowed;
  };
  assert.deepEqual([at(0), at(0), at(0), at(0)], [true, true, true, false]);
  assert.equal(at(500), false, 'half a token is not a token');
  assert.equal(at(1000), true);
  assert.equal(at(1000), false);
  assert.deepEqual([at(100_000), at(100_000), at(100_000), at(100_000)], [true, true, true, false], 'refill stops at the burst');
  assert.equal(at(50_000), false, 'a clock going backwards refills nothing');
});

test('property: over any span, allowed messages ≤ burst + rate × span', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 6000 }), fc.array(fc.integer({ min: 0, max: 5000 }), { maxLength: 300 }), (burst, perMinute, gaps) => {
    const rate = { burst, perMinute };
    let b = fullBucket(rate, 0);
    let now = 0;
    let allowed = 0;
    for (const gap of gaps) {
      now += gap;
      const r = takeToken(b, now, rate);
      b = r.bucket;
      if (r.allowed) allowed++;
    }
    assert.ok(allowed <= burst + (now * perMinute) / 60_000 + 1e-9);
  }));
});
