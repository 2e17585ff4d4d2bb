import assert from 'node:assert/strict';
import test from 'node:test';
import fc from 'fast-check';
import {
  deriveConnectionCap, serverHeapLimitMiB, FIXED_DEFAULT_CAP, FD_RESERVE, MARGIN_MIN_BYTES, MIN_CAP, MIN_HEAP_MIB, PER_SOCKET_BYTES,
} from '../../../src/core/connection-cap.ts';

const MiB = 2 ** 20;

test('with a limit: (memory.max − idle − margin) / per-socket bytes, the margin 10 % of the limit', () => {
  const d = deriveConnectionCap({ memoryMaxBytes: 1000 * MiB, idleBytes: 100 * MiB, perSocketBytes: 8 * 1024 });
  assert.equal(d.source, 'memory');
  assert.equal(d.marginBytes, 100 * MiB);
  assert.equal(d.budgetBytes, 800 * MiB);
  assert.equal(d.cap, (800 * MiB) / (8 * 1024));
  assert.equal(d.limitedByFiles, false);
});

test('a small limit keeps at least the minimum margin; 128Mi with ~85 MiB idle holds a few thousand sockets', () => {
  const d = deriveConnectionCap({ memoryMaxBytes: 128 * MiB, idleBytes: 85 * MiB });
  assert.equal(d.marginBytes, Math.max(MARGIN_MIN_BYTES, Math.floor(12.8 * MiB)));
  assert.equal(d.cap, Math.floor((128 * MiB - 85 * MiB - Math.floor(12.8 * MiB)) / PER_SOCKET_BYTES));
  assert.equal(deriveConnectionCap({ memoryMaxBytes: 32 * MiB, idleBytes: 1 * MiB }).marginBytes, MARGIN_MIN_BYTES);
});

test('no limit visible → the documented fixed default; a budget at or below zero → the minimum cap', () => {
  const d = deriveConnectionCap({ memoryMaxBytes: null, idleBytes: 85 * MiB });
  assert.deepEqual([d.cap, d.source, d.budgetBytes], [FIXED_DEFAULT_CAP, 'default', null]);
  assert.equal(deriveConnectionCap({ memoryMaxBytes: 64 * MiB, idleBytes: 90 * MiB }).cap, MIN_CAP);
});

test('the fixed default fits 128Mi at the idle cost the benchmark counts (≤ 92 MiB)', () => {
  assert.ok(deriveConnectionCap({ memoryMaxBytes: 128 * MiB, idleBytes: 92 * MiB }).cap >= FIXED_DEFAULT_CAP);
});

test('the open-file limit caps it too, keeping descriptors in reserve', () => {
  const d = deriveConnectionCap({ memoryMaxBytes: 4096 * MiB, idleBytes: 100 * MiB, openFileLimit: 20_000 });
  assert.deepEqual([d.cap, d.limitedByFiles], [20_000 - FD_RESERVE, true]);
  assert.equal(deriveConnectionCap({ memoryMaxBytes: null, idleBytes: 0, openFileLimit: 1024 }).cap, 1024 - FD_RESERVE);
});

test('the cap never shrinks as the limit grows, and never exceeds what the budget pays for', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 8192 }), fc.integer({ min: 0, max: 512 }), fc.integer({ min: 1, max: 1024 }), (maxMiB, idleMiB, extraMiB) => {
    const a = deriveConnectionCap({ memoryMaxBytes: maxMiB * MiB, idleBytes: idleMiB * MiB });
    const b = deriveConnectionCap({ memoryMaxBytes: (maxMiB + extraMiB) * MiB, idleBytes: idleMiB * MiB });
    assert.ok(b.cap >= a.cap);
    assert.ok(a.cap === MIN_CAP || a.cap * a.perSocketBytes <= a.budgetBytes!);
  }));
});

test('server heap limit: half of memory.max, at least the minimum; none without a limit', () => {
  assert.equal(serverHeapLimitMiB(128 * MiB), 64);
  assert.equal(serverHeapLimitMiB(512 * MiB), 256);
  assert.equal(serverHeapLimitMiB(16 * MiB), MIN_HEAP_MIB);
  assert.equal(serverHeapLimitMiB(null), null);
});
