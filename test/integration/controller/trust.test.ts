/**
 * Key trust without trust on first use (docs/security.md), end to end: the controller as a real
 * process under the chart's RBAC, real sidecar processes in pods of the local cluster, pinned
 * from the trust ConfigMap exactly as docs/install.md tells app teams.
 *   - a key Secret without an installation id gets one, written back by the controller;
 *   - a key server that is not the controller (answering /v1/keys at the old CONTROLLER_URL)
 *     cannot make a sidecar trust its key;
 *   - a state signed with the real key for another installation is refused;
 *   - a sidecar holding an (epoch, seq) the controller never issued is reported (metric +
 *     Warning Event on the pod) and not counted as delivered;
 *   - rotation: with a next key staged, pods pinned with the old key only keep getting pushes
 *     signed by it, a pod pinned with both gets the next key's signature, and the old key is
 *     reported retired once no pod needs it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { EventsV1Api, type V1Deployment } from '@kubernetes/client-node';
import type { AppState } from '../../../src/core/app-state.ts';
import { APP_LABEL, DEFAULT_VERSION_LABEL } from '../../../src/core/labels.ts';
import { pushBody } from '../../../src/core/push-envelope.ts';
import { generateSigningKey, privateKeyToPem, signingKeyFromPem, type SigningKey } from '../../../src/core/signature.ts';
import { TRUST_CONFIGMAP } from '../../../src/controller/trust-configmap.ts';
import {
  SYSTEM_NS, createNamespace, isLeader, kubectl, metric, sleep, spawnController, startEnv, waitFor, type ControllerProc, type Env,
} from '../../support/controller-harness.ts';

const NS = 'trust';
const SECRET = 'vo-version-observer-signing-key';
let env: Env;
let keyServer: Server;
let keyServerCalls = 0;
const attacker = generateSigningKey();
const procs: ControllerProc[] = [];

before(async () => {
  env = await startEnv();
  await createNamespace(env, NS);
  keyServer = createServer((_req, res) => {
    keyServerCalls++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ installation: 'forged', keys: [{ kid: attacker.kid, alg: 'Ed25519', publicKey: attacker.publicKeyBase64 }] }));
  });
  await new Promise<void>((r) => keyServer.listen(0, '127.0.0.1', r));
});

after(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  keyServer?.close();
  await env?.cluster.stop();
});

/** A Deployment of real sidecars (no app container: the sidecar is what is under test), pinned as given. */
function sidecars(name: string, version: string, replicas: number, pin: { publicKeys: string; installation: string }): V1Deployment {
  const labels = { 'test/deployment': name, [APP_LABEL]: name, [DEFAULT_VERSION_LABEL]: version };
  const field = (fieldPath: string) => ({ valueFrom: { fieldRef: { fieldPath } } });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS, labels: { [APP_LABEL]: name } },
    spec: {
      replicas,
      selector: { matchLabels: { 'test/deployment': name } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels },
        spec: {
          terminationGracePeriodSeconds: 2,
          containers: [
            {
              name: 'version-observer',
              image: 'ghcr.io/version-observer/version-observer:latest',
              args: ['sidecar'],
              env: [
                { name: 'VERSION_OBSERVER_APP', ...field(`metadata.labels['${APP_LABEL}']`) },
                { name: 'VERSION_OBSERVER_POD_VERSION', ...field(`metadata.labels['${DEFAULT_VERSION_LABEL}']`) },
                { name: 'POD_NAMESPACE', ...field('metadata.namespace') },
                { name: 'VERSION_OBSERVER_LISTEN_HOST', ...field('status.podIP') },
                { name: 'VERSION_OBSERVER_PUBLIC_KEY', value: pin.publicKeys },
                { name: 'VERSION_OBSERVER_INSTALLATION', value: pin.installation },
                // the fetch path of old sidecars, pointed at a key server that is not the controller
                { name: 'VERSION_OBSERVER_CONTROLLER_URL', value: `http://127.0.0.1:${(keyServer.address() as { port: number }).port}` },
              ],
              // the test's own probe, so the pusher retries at once when the sidecar listens
              readinessProbe: { httpGet: { path: '/healthz', port: 8788 }, periodSeconds: 1 },
            },
          ],
        },
      },
    },
  };
}

interface SidecarPod {
  name: string;
  ip: string;
  version: string;
}

async function podsOf(name: string): Promise<SidecarPod[]> {
  const list = await env.core.listNamespacedPod({ namespace: NS, labelSelector: `test/deployment=${name}` });
  return list.items
    .filter((p) => p.status?.phase === 'Running' && p.status.podIP && !p.metadata?.deletionTimestamp)
    .map((p) => ({ name: p.metadata!.name!, ip: p.status!.podIP!, version: p.metadata!.labels![DEFAULT_VERSION_LABEL]! }));
}

/** The state a sidecar serves on its public port (null before the first push), undefined while it does not answer. */
async function served(ip: string): Promise<AppState | null | undefined> {
  try {
    const res = await fetch(`http://${ip}:8787/version`, { signal: AbortSignal.timeout(2000) });
    return ((await res.json()) as { state: AppState | null }).state;
  } catch {
    return undefined;
  }
}

async function put(ip: string, body: string): Promise<{ status: number; code: string }> {
  const res = await fetch(`http://${ip}:8788/internal/v1/state`, { method: 'PUT', body, headers: { 'content-type': 'application/json' } });
  const text = await res.text();
  return { status: res.status, code: text ? (JSON.parse(text) as { code: string }).code : '' };
}

/** The sidecar's "applied state" log lines (the container log the process kubelet keeps). */
function appliedLines(pod: string): Array<{ epoch: number; seq: number; kid: string; version: string }> {
  const text = readFileSync(join(env.cluster.dir, 'logs', `${NS}_${pod}_version-observer.log`), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg?: string; epoch: number; seq: number; kid: string; version: string })
    .filter((l) => l.msg?.startsWith('applied state'));
}

async function trustConfigMap(): Promise<{ publicKeys: string; installation: string }> {
  return waitFor('trust ConfigMap', async () => {
    const cm = await env.core.readNamespacedConfigMap({ namespace: SYSTEM_NS, name: TRUST_CONFIGMAP });
    return cm.data?.publicKeys && cm.data.installation ? { publicKeys: cm.data.publicKeys, installation: cm.data.installation } : undefined;
  });
}

async function signingKey(): Promise<SigningKey> {
  const secret = await env.core.readNamespacedSecret({ namespace: SYSTEM_NS, name: SECRET });
  return signingKeyFromPem(Buffer.from(secret.data!['private.pem']!, 'base64').toString('utf8'));
}

async function leader(id: string, extra: string[] = []): Promise<ControllerProc> {
  const c = await spawnController(env, id, ['--settle=3s', ...extra]);
  procs.push(c);
  await waitFor(`${id} leads`, () => isLeader(c), 30_000);
  return c;
}

const state = (over: Partial<AppState>): AppState => ({
  app: `${NS}/web`, phase: 'converged', version: '6.6.6', previousVersion: null, change: 'none', serving: { '6.6.6': 1 }, reason: null,
  epoch: Math.floor(Date.now() / 1000), seq: 1, since: new Date().toISOString(), ...over,
});

let pin: { publicKeys: string; installation: string };

test('no trust on first use: a forged key server is never asked; another installation is refused, even under the real key', async () => {
  // A key Secret from before installation ids (or made by hand): the controller adds one, keeps the key.
  const original = generateSigningKey();
  await env.core.createNamespacedSecret({ namespace: SYSTEM_NS, body: { metadata: { name: SECRET }, data: { 'private.pem': Buffer.from(privateKeyToPem(original)).toString('base64') } } });
  const c = await leader('trust-a');
  pin = await trustConfigMap();
  assert.equal(pin.publicKeys, original.publicKeyBase64, 'one key before any rotation: the one in the Secret');
  const stored = await env.core.readNamespacedSecret({ namespace: SYSTEM_NS, name: SECRET });
  assert.equal(Buffer.from(stored.data!['installation']!, 'base64').toString('utf8'), pin.installation, 'the id was written into the Secret');
  await env.apps.createNamespacedDeployment({ namespace: NS, body: sidecars('web', '1.0.0', 2, pin) });
  const pods = await waitFor('both sidecars hold the converged state', async () => {
    const ps = await podsOf('web');
    if (ps.length !== 2) return undefined;
    for (const p of ps) if ((await served(p.ip))?.version !== '1.0.0') return undefined;
    return ps;
  }, 90_000, 250);
  const epoch = (await c.app(`${NS}/web`))!.epoch;
  const target = pods[0]!;

  const forged = await put(target.ip, pushBody(pin.installation, state({ epoch: epoch + 1 }), attacker));
  assert.deepEqual(forged, { status: 401, code: 'VO_PUSH_BAD_SIGNATURE' }, 'signed by the key the forged server offers');
  const key = await signingKey();
  const elsewhere = await put(target.ip, pushBody('another-installation', state({ epoch: epoch + 1 }), key));
  assert.deepEqual(elsewhere, { status: 403, code: 'VO_PUSH_WRONG_INSTALLATION' }, 'the real key, another installation');
  assert.equal((await served(target.ip))?.version, '1.0.0', 'nothing was applied');
  assert.equal(keyServerCalls, 0, 'no sidecar ever called the key server');
});

test('a sidecar holding an order the controller never issued: counted, a Warning Event on the pod, not delivered', async () => {
  const c = procs[0]!;
  const key = await signingKey();
  const LATENCY = 'version_observer_ready_to_announcement_seconds_count';
  const deliveredBefore = metric(await c.metrics(), LATENCY);
  await kubectl(env.cluster, ['patch', 'deployment', 'web', '-n', NS, '--type=merge', '-p', JSON.stringify({ spec: { template: { metadata: { labels: { [DEFAULT_VERSION_LABEL]: '1.1.0' } } } } })]);
  // The first new pod gets a state the controller never issued: the real key and installation
  // (a leaked key), an epoch a minute ahead of the controller's.
  const victim = await waitFor('a 1.1.0 sidecar answers', async () => {
    for (const p of (await podsOf('web')).filter((x) => x.version === '1.1.0')) if ((await served(p.ip)) !== undefined) return p;
    return undefined;
  }, 90_000, 100);
  const foreign = state({ epoch: Math.floor(Date.now() / 1000) + 60, seq: 1 });
  assert.equal((await put(victim.ip, pushBody(pin.installation, foreign, key))).status, 204);

  await waitFor('1.1.0 announced', async () => (await c.app(`${NS}/web`))?.version === '1.1.0' || undefined, 90_000, 200);
  const others = await waitFor('the other new sidecar holds 1.1.0', async () => {
    const ps = (await podsOf('web')).filter((p) => p.version === '1.1.0' && p.name !== victim.name);
    if (ps.length !== 1) return undefined;
    return (await served(ps[0]!.ip))?.version === '1.1.0' ? ps : undefined;
  }, 60_000, 200);
  assert.equal(others.length, 1);
  await waitFor('foreign order counted', async () => metric(await c.metrics(), 'version_observer_foreign_orders_total') >= 1 || undefined, 30_000, 200);
  const events = env.cluster.kubeConfig.makeApiClient(EventsV1Api);
  const event = await waitFor('Warning Event on the pod', async () => {
    const list = await events.listNamespacedEvent({ namespace: NS });
    return list.items.find((e) => e.reason === 'ForeignStateHeld' && e.regarding?.name === victim.name);
  }, 30_000, 250);
  assert.equal(event.type, 'Warning');
  assert.match(event.note ?? '', new RegExp(`\\(${foreign.epoch}, 1\\)`), 'the Event names the held order');
  assert.ok(c.logs.some((l) => l.msg === 'sidecar holds an (epoch, seq) this controller never issued; not counted as delivered' && l.pod === `${NS}/${victim.name}`));
  assert.equal((await served(victim.ip))?.version, '6.6.6', 'the victim still holds the foreign state');
  await sleep(1000);
  assert.match(await c.metrics(), new RegExp(`^${LATENCY} ${deliveredBefore}$`, 'm'), 'the 1.1.0 announcement is not counted as delivered');
  // Clean up: the victim goes, its replacement gets the announcement.
  await env.core.deleteNamespacedPod({ namespace: NS, name: victim.name, gracePeriodSeconds: 0 });
});

test('rotation is additive: old pods keep the old key, a pod pinned with both gets the next key, then the old key retires', async () => {
  const [old] = procs;
  await old!.kill('SIGTERM');
  const next = generateSigningKey();
  const oldKey = await signingKey();
  const r = await kubectl(env.cluster, ['patch', 'secret', SECRET, '-n', SYSTEM_NS, '--type=merge', '-p', JSON.stringify({ data: { 'next.pem': Buffer.from(privateKeyToPem(next)).toString('base64') } })]);
  assert.equal(r.status, 0, r.stderr);
  const c = await leader('trust-b');
  const both = await waitFor('the ConfigMap lists both keys', async () => {
    const cm = await trustConfigMap();
    return cm.publicKeys.split(',').length === 2 ? cm : undefined;
  });
  assert.equal(both.publicKeys, `${oldKey.publicKeyBase64},${next.publicKeyBase64}`);
  assert.equal(both.installation, pin.installation, 'the installation never changes');

  await env.apps.createNamespacedDeployment({ namespace: NS, body: sidecars('next', '1.0.0', 1, both) });
  const [fresh] = await waitFor('the pod pinned with both holds a state', async () => {
    const ps = await podsOf('next');
    return ps.length === 1 && (await served(ps[0]!.ip)) ? ps : undefined;
  }, 90_000, 250);
  const epoch = (await c.app(`${NS}/next`))!.epoch;
  assert.ok(appliedLines(fresh!.name).length > 0);
  for (const line of appliedLines(fresh!.name)) assert.equal(line.kid, next.kid, 'signed with the next key');

  const olds = await waitFor('the old pods got the new leader\'s state, signed by the old key', async () => {
    const ps = (await podsOf('web')).filter((p) => p.version === '1.1.0');
    if (ps.length !== 2) return undefined;
    for (const p of ps) if (!appliedLines(p.name).some((l) => l.epoch === epoch)) return undefined;
    return ps;
  }, 60_000, 250);
  for (const p of olds) for (const line of appliedLines(p.name).filter((l) => l.epoch === epoch)) assert.equal(line.kid, oldKey.kid);

  type Keys = { installation: string; keys: Array<{ kid: string; role: string; pods: number; retired: boolean }> };
  const keys = async () => (await (await fetch(`${c.url}/v1/keys`)).json()) as Keys;
  const before = await keys();
  assert.equal(before.installation, pin.installation);
  assert.deepEqual(before.keys.map((k) => [k.kid, k.role, k.pods, k.retired]), [[oldKey.kid, 'signing', 2, false], [next.kid, 'next', 1, false]]);
  assert.equal(metric(await c.metrics(), `version_observer_trust_key_pods{kid="${next.kid}",role="next"}`), 1);

  // The old pods go (in practice: rolled out with both keys pinned): nothing needs the old key.
  await env.apps.deleteNamespacedDeployment({ namespace: NS, name: 'web' });
  await waitFor('old key retired', async () => (await keys()).keys[0]!.retired || undefined, 60_000, 250);
  assert.equal(metric(await c.metrics(), `version_observer_trust_key_retired{kid="${oldKey.kid}",role="signing"}`), 1);
});
