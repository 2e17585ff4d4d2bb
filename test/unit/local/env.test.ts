import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { buildEnv, ConfigError, expandVars } from '../../../src/local/kubelet/env.ts';

const pod: V1Pod = {
  metadata: { name: 'web-1', namespace: 'shop', uid: 'u1', labels: { 'app.kubernetes.io/version': '1.2.3' }, annotations: { note: 'hi' } },
  spec: { containers: [] },
};

test('downward API basics, fieldRefs and $(VAR) expansion', async () => {
  const container: V1Container = {
    name: 'c',
    env: [
      { name: 'A', value: 'a' },
      { name: 'B', value: '$(A)-$(POD_NAME)-$$(A)-$(MISSING)' },
      { name: 'V', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app.kubernetes.io/version']" } } },
      { name: 'N', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['note']" } } },
      { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    ],
  };
  const env = await buildEnv({ pod, container, podIP: '127.1.0.9', hostIP: '127.0.0.1', nodeName: 'n' });
  assert.equal(env.POD_NAME, 'web-1');
  assert.equal(env.POD_NAMESPACE, 'shop');
  assert.equal(env.POD_IP, '127.1.0.9');
  assert.equal(env.VERSION_OBSERVER_LISTEN_HOST, '127.1.0.9');
  assert.equal(env.B, 'a-web-1-$(A)-$(MISSING)');
  assert.equal(env.V, '1.2.3');
  assert.equal(env.N, 'hi');
  assert.equal(env.IP, '127.1.0.9');
  assert.equal(env.NS, 'shop');
  assert.equal(env.NAME, 'web-1');
});

test('a wildcard listen host is replaced by the pod IP', async () => {
  const env = await buildEnv({ pod, container: { name: 'c', env: [{ name: 'VERSION_OBSERVER_LISTEN_HOST', value: '0.0.0.0' }] }, podIP: '127.1.0.2', hostIP: '127.0.0.1', nodeName: 'n' });
  assert.equal(env.VERSION_OBSERVER_LISTEN_HOST, '127.1.0.2');
});

test('configMap/secret references: found, optional, missing', async () => {
  const lookup = async (kind: 'ConfigMap' | 'Secret', _ns: string, name: string) => (name === 'cfg' ? { k: `${kind}-v` } : undefined);
  const ctx = (env: V1Container['env'], envFrom?: V1Container['envFrom']) => ({ pod, container: { name: 'c', env, envFrom }, podIP: '127.1.0.1', hostIP: '127.0.0.1', nodeName: 'n', lookup });
  const env = await buildEnv(ctx([{ name: 'X', valueFrom: { secretKeyRef: { name: 'cfg', key: 'k' } } }, { name: 'Y', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k', optional: true } } }], [{ configMapRef: { name: 'cfg' }, prefix: 'P_' }]));
  assert.equal(env.X, 'Secret-v');
  assert.equal(env.P_k, 'ConfigMap-v');
  assert.equal(env.Y, undefined);
  await assert.rejects(buildEnv(ctx([{ name: 'Z', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k' } } }])), (e: unknown) => e instanceof ConfigError && /configmap "nope" not found/.test(e.message));
  await assert.rejects(buildEnv(ctx([{ name: 'Z', valueFrom: { fieldRef: { fieldPath: 'spec.bogus' } } }])), /unsupported fieldRef/);
});

test('expandVars', () => {
  assert.equal(expandVars('$(A)$(B)$$', { A: '1', B: '2' }), '12$');
});
