import assert from 'node:assert/strict';
import test from 'node:test';
import fc from 'fast-check';
import { compareOrder, isNewer, isOlder, orderOf, type Order } from '../../../src/core/order.ts';

const o = (epoch: number, seq: number): Order => ({ epoch, seq });
const order = fc.option(fc.record({ epoch: fc.nat(1000), seq: fc.nat(1000) }), { nil: null });

test('compareOrder: epoch wins over seq, seq decides within an epoch, null is oldest', () => {
  assert.equal(compareOrder(o(2, 0), o(1, 99)), 1);
  assert.equal(compareOrder(o(1, 3), o(1, 4)), -1);
  assert.equal(compareOrder(o(1, 3), o(1, 3)), 0);
  assert.equal(compareOrder(null, o(0, 0)), -1);
  assert.equal(compareOrder(o(0, 0), null), 1);
  assert.equal(compareOrder(null, null), 0);
  assert.equal(isNewer(o(1, 1), null), true);
  assert.equal(isOlder(o(1, 1), null), false);
  assert.equal(isOlder(o(1, 99), o(2, 0)), true);
});

test('compareOrder is a total order (antisymmetric, transitive, 0 only for equal pairs)', () => {
  fc.assert(
    fc.property(order, order, order, (a, b, c) => {
      assert.equal(compareOrder(a, b), -compareOrder(b, a) || 0);
      assert.equal(compareOrder(a, b) === 0, JSON.stringify(a) === JSON.stringify(b));
      if (compareOrder(a, b) > 0 && compareOrder(b, c) > 0) assert.equal(compareOrder(a, c), 1);
      assert.equal(isNewer(a, b), isOlder(b, a));
    }),
  );
});

test('orderOf copies only epoch and seq', () => {
  const state = { epoch: 3, seq: 4, app: 'a/b' };
  const held = orderOf(state);
  state.seq = 5;
  assert.deepEqual(held, { epoch: 3, seq: 4 });
});
