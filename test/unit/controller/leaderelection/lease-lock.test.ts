/** Lease ⇄ record conversion of the lock (the API calls are covered by the integration test). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { V1MicroTime } from '@kubernetes/client-node';
import { apiStatus, isConflict, isNotFound, leaseToRecord, rawRecord, recordToSpec } from '../../../../src/controller/leaderelection/lease-lock.ts';
import { EPOCH_ANNOTATION } from '../../../../src/core/election.ts';

test('a Lease from the API (RFC 3339 micro strings or Dates) becomes a record with the epoch annotation', () => {
  const fromStrings = leaseToRecord({
    metadata: { annotations: { [EPOCH_ANNOTATION]: '1700000123', other: 'x' } },
    spec: {
      holderIdentity: 'pod-a',
      leaseDurationSeconds: 15,
      acquireTime: '2023-11-14T22:13:20.123000Z' as unknown as V1MicroTime,
      renewTime: new V1MicroTime(Date.UTC(2023, 10, 14, 22, 13, 22, 5)),
      leaseTransitions: 3,
    },
  });
  assert.deepEqual(fromStrings, {
    holderIdentity: 'pod-a',
    leaseDurationSeconds: 15,
    acquireTimeMs: Date.UTC(2023, 10, 14, 22, 13, 20, 123),
    renewTimeMs: Date.UTC(2023, 10, 14, 22, 13, 22, 5),
    leaseTransitions: 3,
    epoch: 1700000123,
  });
  // An empty Lease (as `kubectl create` might leave it): nobody holds it, epoch 0.
  assert.deepEqual(leaseToRecord({ metadata: {} }), {
    holderIdentity: '',
    leaseDurationSeconds: 0,
    acquireTimeMs: null,
    renewTimeMs: null,
    leaseTransitions: 0,
    epoch: 0,
  });
  assert.equal(leaseToRecord({ metadata: { annotations: { [EPOCH_ANNOTATION]: '-4' } } }).epoch, 0);
});

test('a record becomes a Lease spec whose times serialize as MicroTime', () => {
  const r = { holderIdentity: 'a', leaseDurationSeconds: 2, acquireTimeMs: Date.UTC(2024, 0, 2, 3, 4, 5, 678), renewTimeMs: null, leaseTransitions: 1, epoch: 9 };
  const spec = recordToSpec(r);
  assert.equal(JSON.parse(JSON.stringify(spec)).acquireTime, '2024-01-02T03:04:05.678000Z');
  assert.equal('renewTime' in spec, false);
  assert.equal(spec.holderIdentity, 'a');
  assert.equal(spec.leaseTransitions, 1);
  // Round trip through JSON, as the API would answer.
  const back = leaseToRecord({ metadata: { annotations: { [EPOCH_ANNOTATION]: '9' } }, spec: JSON.parse(JSON.stringify(spec)) });
  assert.deepEqual(back, r);
  assert.equal(rawRecord(back), rawRecord(r));
  assert.notEqual(rawRecord(r), rawRecord({ ...r, renewTimeMs: 1 }));
  assert.notEqual(rawRecord(r), rawRecord({ ...r, epoch: 10 }));
});

test('API errors are classified by their HTTP code', () => {
  assert.equal(isConflict({ code: 409 }), true);
  assert.equal(isNotFound({ code: 404 }), true);
  assert.equal(isConflict(new Error('x')), false);
  assert.equal(apiStatus(null), undefined);
  assert.equal(apiStatus({ code: 'ECONNREFUSED' }), undefined);
});
