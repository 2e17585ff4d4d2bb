/**
 * Which pods the missing-sidecar report counts (pure part of missing-sidecar.ts): opted-in by
 * label, scheduled, not terminating, not opted out, without the sidecar; grouped by the
 * Deployment named by their ReplicaSet owner and pod-template-hash.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { podsMissingSidecar } from '../../../../src/controller/webhook/missing-sidecar.ts';
import { INJECT_LABEL } from '../../../../src/core/labels.ts';
import { SIDECAR_CONTAINER_NAME } from '../../../../src/core/sidecar-container.ts';

function pod(name: string, o: { inject?: string; sidecar?: boolean; node?: boolean; deleting?: boolean; optOut?: boolean; owner?: string } = {}): V1Pod {
  return {
    metadata: {
      name,
      namespace: 'shop',
      labels: { ...(o.inject !== undefined ? { [INJECT_LABEL]: o.inject } : {}), 'pod-template-hash': 'abc12' },
      ...(o.optOut ? { annotations: { [INJECT_LABEL]: 'false' } } : {}),
      ...(o.deleting ? { deletionTimestamp: new Date() } : {}),
      ownerReferences: o.owner === undefined ? [] : [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: o.owner, uid: 'u', controller: true }],
    },
    spec: {
      ...(o.node === false ? {} : { nodeName: 'n1' }),
      containers: [{ name: 'app' }],
      ...(o.sidecar ? { initContainers: [{ name: SIDECAR_CONTAINER_NAME, restartPolicy: 'Always' }] } : {}),
    },
  };
}

test('counts opted-in, scheduled, live pods without the sidecar, grouped by Deployment', () => {
  const r = podsMissingSidecar([
    pod('a', { inject: 'true', owner: 'web-abc12' }),
    pod('b', { inject: 'true', owner: 'web-abc12' }),
    pod('c', { inject: 'true', sidecar: true, owner: 'web-abc12' }),
    pod('d', { inject: 'false', owner: 'web-abc12' }),
    pod('e', { inject: 'true', node: false, owner: 'web-abc12' }),
    pod('f', { inject: 'true', deleting: true, owner: 'web-abc12' }),
    pod('g', { inject: 'true', optOut: true, owner: 'web-abc12' }),
    pod('h', { inject: 'true' }),
    pod('i', { inject: 'true', owner: 'api-v2-abc12' }),
  ]);
  assert.equal(r.count, 4, 'a, b, h (no owner: counted, no Event) and i');
  assert.deepEqual([...r.byDeployment], [['shop/web', ['a', 'b']], ['shop/api-v2', ['i']]]);
});
