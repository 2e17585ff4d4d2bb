import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import { backendsFromPods, backendsFromSlices, clusterIPRoutes, pickServicePort } from '../../../src/local/service-endpoints.ts';

const svc: V1Service = {
  metadata: { name: 'web', namespace: 'd' },
  spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }, { name: 'admin', port: 81, targetPort: 9000 }] },
};
const pod = (name: string, ip: string, opts: { ready?: boolean; deleting?: boolean; app?: string; ns?: string; port?: number } = {}): V1Pod => ({
  metadata: { name, namespace: opts.ns ?? 'd', labels: { app: opts.app ?? 'web' }, ...(opts.deleting ? { deletionTimestamp: new Date() } : {}) },
  spec: { containers: [{ name: 'c', ports: [{ name: 'http', containerPort: opts.port ?? 8080 }] }] },
  status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True' }] },
});

test('only ready, matching, non-terminating pods; named and numeric target ports', () => {
  const pods = [pod('a', '127.1.0.2'), pod('b', '127.1.0.1', { port: 9090 }), pod('c', '127.1.0.3', { ready: false }), pod('d', '127.1.0.4', { deleting: true }), pod('e', '127.1.0.5', { app: 'x' }), pod('f', '127.1.0.6', { ns: 'other' })];
  assert.deepEqual(backendsFromPods(svc, pickServicePort(svc, undefined)!, pods), [{ ip: '127.1.0.1', port: 9090 }, { ip: '127.1.0.2', port: 8080 }]);
  assert.deepEqual(backendsFromPods(svc, pickServicePort(svc, 'admin')!, pods).map((b) => b.port), [9000, 9000]);
  assert.equal(pickServicePort(svc, 81)?.name, 'admin');
  assert.equal(pickServicePort(svc, '80')?.name, 'http');
  assert.equal(pickServicePort(svc, 'nope'), undefined);
  const notReady = { ...svc, spec: { ...svc.spec, publishNotReadyAddresses: true } };
  assert.equal(backendsFromPods(notReady, pickServicePort(notReady, 'http')!, pods).length, 3);
});

test('EndpointSlices for selectorless services: ready not false, by port name', () => {
  const slices = [
    { addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.2'], conditions: { ready: true } }, { addresses: ['10.0.0.3'], conditions: { ready: false } }, { addresses: ['10.0.0.1'] }], ports: [{ name: 'http', port: 8080 }] },
  ] as never[];
  assert.deepEqual(backendsFromSlices(slices, 'http'), [{ ip: '10.0.0.1', port: 8080 }, { ip: '10.0.0.2', port: 8080 }]);
  assert.deepEqual(backendsFromSlices(slices, ''), []);
});

test('ClusterIP routes: every TCP port of a Service with a local ClusterIP; none for headless, ExternalName or foreign ranges', () => {
  const svc = (name: string, spec: V1Service['spec']): V1Service => ({ metadata: { name, namespace: 'ns' }, spec });
  const routes = clusterIPRoutes([
    svc('hook', { clusterIP: '127.9.240.12', clusterIPs: ['127.9.240.12'], ports: [{ port: 443, targetPort: 8443 as unknown as NonNullable<V1Service['spec']>['ports'] extends (infer P)[] | undefined ? P extends { targetPort?: infer T } ? T : never : never }, { port: 53, protocol: 'UDP' }, { port: 9090, protocol: 'TCP' }] }),
    svc('headless', { clusterIP: 'None', clusterIPs: ['None'], ports: [{ port: 80 }] }),
    svc('external', { type: 'ExternalName', externalName: 'example.org', ports: [{ port: 80 }] }),
    svc('foreign', { clusterIP: '10.96.0.10', ports: [{ port: 80 }] }),
    svc('old-style', { clusterIP: '127.9.240.3', ports: [{ port: 80 }] }),
  ]);
  assert.deepEqual(
    routes.map((r) => `${r.namespace}/${r.service} ${r.address}:${r.port}`),
    ['ns/hook 127.9.240.12:443', 'ns/hook 127.9.240.12:9090', 'ns/old-style 127.9.240.3:80'],
  );
});
