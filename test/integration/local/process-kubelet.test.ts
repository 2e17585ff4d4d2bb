/**
 * The process kubelet and the service proxy under the real Deployment controller: a
 * Deployment of test-servers becomes Available and answers through the proxy; a rolling update
 * completes by the system kubectl's own rules, stops the old processes with SIGTERM and leaves
 * only the new version behind the proxy; stop() leaves no process behind.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startCluster, type Cluster } from '../../../src/local/cluster.ts';
import { formatLine, recordLogger, type LogRecord } from '../../../src/local/log.ts';
import { alive, apply, getJson, getPods, isReady, kubectl, pidOf, waitFor } from '../../support/local-k8s.ts';

const NS = 'default';
const records: LogRecord[] = [];
let cluster: Cluster;

before(async () => {
  cluster = await startCluster({ logger: recordLogger((r) => records.push(r)) });
});
after(async () => {
  await cluster?.stop();
  if (process.env.VO_TEST_LOG) console.log(records.map(formatLine).join('\n'));
});

const deployment = (version: string) => `
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: ${NS} }
spec:
  replicas: 3
  selector: { matchLabels: { app: web } }
  strategy: { rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }
  template:
    metadata: { labels: { app: web, app.kubernetes.io/version: "${version}" } }
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: web
        image: version-observer/test-server:latest
        env:
        - { name: VERSION, valueFrom: { fieldRef: { fieldPath: "metadata.labels['app.kubernetes.io/version']" } } }
        ports: [{ name: http, containerPort: 8080 }]
        readinessProbe: { httpGet: { path: /healthz, port: http }, periodSeconds: 1 }
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: ${NS} }
spec:
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: http }]
`;

type Answer = { version: string; pod: string };

test('a Deployment of 3 test-servers becomes Available and answers through the service proxy', async () => {
  await apply(cluster, deployment('1.0.0'));
  await waitFor('Deployment web Available', async () => {
    const d = JSON.parse(await kubectl(cluster, ['get', 'deployment', 'web', '-n', NS, '-o', 'json']));
    return d.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Available' && c.status === 'True') && d.status.availableReplicas === 3;
  });
  const pods = await getPods(cluster, NS, 'app=web');
  assert.equal(pods.length, 3);
  const ips = pods.map((p) => p.status?.podIP ?? '');
  assert.equal(new Set(ips).size, 3, `unique pod IPs: ${ips.join(' ')}`);
  for (const p of pods) {
    assert.match(p.status?.podIP ?? '', /^127\.\d+\.\d+\.\d+$/);
    assert.notEqual(p.status?.podIP, '127.0.0.1');
    assert.equal(p.spec?.nodeName, cluster.kubelet?.nodeName);
    assert.ok(isReady(p));
    assert.ok(alive(pidOf(p)!), 'container process is running');
  }
  const url = await cluster.serviceUrl(NS, 'web');
  const seen = new Set<string>();
  await waitFor('answers from all 3 pods through the proxy', async () => {
    const a = await getJson<Answer>(url);
    assert.equal(a.version, '1.0.0');
    seen.add(a.pod);
    return seen.size === 3;
  }, 20_000, 20);
  assert.deepEqual([...seen].sort(), pods.map((p) => p.metadata!.name!).sort());

  // upgrades pass through (WebSocket-style): the test-server answers 101 and echoes
  const { hostname: host, port } = new URL(url);
  const echoed = await new Promise<string>((resolve, reject) => {
    const req = http.request({ host, port, path: '/echo', headers: { connection: 'Upgrade', upgrade: 'echo' } });
    req.on('upgrade', (_res, socket) => {
      socket.once('data', (d: Buffer) => {
        resolve(d.toString());
        socket.destroy();
      });
      socket.write('ping through the proxy');
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(echoed, 'ping through the proxy');
});

test('a rolling update to 1.1.0 completes, stops the old processes with SIGTERM, and the proxy answers only 1.1.0', async () => {
  const old = await getPods(cluster, NS, 'app=web');
  const oldPids = old.map((p) => pidOf(p)!);
  assert.equal(oldPids.length, 3);
  assert.ok(oldPids.every(alive));
  await kubectl(cluster, ['patch', 'deployment', 'web', '-n', NS, '--type=merge', '-p', JSON.stringify({ spec: { template: { metadata: { labels: { 'app.kubernetes.io/version': '1.1.0' } } } } })]);
  const out = await kubectl(cluster, ['rollout', 'status', 'deployment/web', '-n', NS, '--timeout=120s']);
  assert.match(out, /successfully rolled out/);
  await waitFor('old processes gone', () => oldPids.every((pid) => !alive(pid)), 20_000);
  for (const p of old) {
    const file = join(cluster.dir, 'logs', `${NS}_${p.metadata!.name}_web.log`);
    assert.match(readFileSync(file, 'utf8'), /SIGTERM, draining/, `${p.metadata!.name} got SIGTERM`);
  }
  await waitFor('old pods removed from the API', async () => (await getPods(cluster, NS, 'app=web')).length === 3 && (await getPods(cluster, NS, 'app.kubernetes.io/version=1.0.0')).length === 0, 20_000);
  const url = await cluster.serviceUrl(NS, 'web');
  const seen = new Set<string>();
  for (let i = 0; i < 12; i++) {
    const a = await getJson<Answer>(url);
    assert.equal(a.version, '1.1.0');
    seen.add(a.pod);
  }
  assert.equal(seen.size, 3, 'round robin over the 3 new pods');
});

test('stop() leaves no process behind', async () => {
  const pids = cluster.pids();
  const containerPids = cluster.kubelet!.pids();
  assert.equal(containerPids.length, 3);
  assert.ok(pids.every(alive));
  await cluster.stop();
  assert.deepEqual(pids.filter(alive), [], 'processes alive after stop()');
});
