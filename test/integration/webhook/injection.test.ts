/**
 * Sidecar injection end to end on the local cluster: the chart installs the controller (one
 * replica, so its /metrics are the webhook's own counters) with the webhook; the real
 * kube-apiserver calls it through the chart's Service over TLS with the caBundle the controller
 * keeps. Judged by what the API server stored and by the webhook's counters:
 * - a labelled Deployment's pods come up with the native sidecar; an unlabelled one is untouched
 *   and the webhook was never called for it;
 * - a pod with a missing or invalid version label is admitted, and kubectl prints the warning;
 * - certificates renewed under traffic (validity forced to 40 s): every admission meanwhile was
 *   mutated (failurePolicy Ignore would hide a failed call: a pod without the sidecar shows it);
 * - the injected native sidecar outlives the app container on deletion: while the app drains,
 *   the sidecar still serves the last state (the drain shape of local/native-sidecar.test.ts);
 * - webhook down (controller scaled to 0): a labelled Deployment still rolls out without the
 *   sidecar; after scale-up the controller reports it (gauge and Warning Event SidecarMissing).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { startCluster, type Cluster } from '../../../src/local/cluster.ts';
import { exampleAppObjects } from '../../../src/demo/example-app.ts';
import { installController, type Installed } from '../../../src/demo/install.ts';
import { APP_LABEL, DEFAULT_VERSION_LABEL, INJECT_LABEL } from '../../../src/core/labels.ts';
import { SIDECAR_CONTAINER_NAME } from '../../../src/core/sidecar-container.ts';
import { kubectl as kubectlRun } from '../../support/kubectl.ts';
import { apply, getPods, isReady, kubectl, waitFor } from '../../support/local-k8s.ts';
import { silentLogger } from '../../../src/platform/logger.ts';

const NS = 'shop';
const VO_NS = 'version-observer';
const RELEASE = 'version-observer';
const CONFIG = `${RELEASE}.${VO_NS}`;
let cluster: Cluster;
let installed: Installed;

before(async () => {
  cluster = await startCluster({ logger: silentLogger });
  installed = await installController(cluster, {
    namespace: VO_NS,
    release: RELEASE,
    values: { replicaCount: '1', 'injection.certValidity': '40s', 'injection.missingSidecarSweep': '2s' },
  });
  // installController waited until injection was in effect (a dry-run pod came back injected)
  await kubectl(cluster, ['create', 'namespace', NS]);
});

after(async () => {
  await cluster?.stop();
});

const sidecarOf = (pod: V1Pod | undefined) => pod?.spec?.initContainers?.find((c) => c.name === SIDECAR_CONTAINER_NAME);

const podYaml = (name: string, labels: Record<string, string>) =>
  JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS, labels }, spec: { containers: [{ name: 'app', image: 'version-observer/test-server' }] } });

async function dryRunPod(name: string, labels: Record<string, string>): Promise<V1Pod> {
  const r = await kubectlRun(cluster, ['create', '--dry-run=server', '-o', 'json', '-f', '-'], podYaml(name, labels));
  if (r.status !== 0) throw new Error(r.stderr.trim());
  return JSON.parse(r.stdout) as V1Pod;
}

/** The webhook's own counters (one replica: its /metrics), summed over outcomes. */
async function admissions(): Promise<{ total: number; byOutcome: Record<string, number>; text: string }> {
  const text = await (await fetch(`${installed.apiUrl}/metrics`)).text();
  const byOutcome: Record<string, number> = {};
  for (const m of text.matchAll(/^version_observer_webhook_admissions_total\{outcome="([a-z_]+)"\} (\d+)/gm)) byOutcome[m[1]!] = Number(m[2]);
  return { total: Object.values(byOutcome).reduce((a, b) => a + b, 0), byOutcome, text };
}

const metric = (text: string, name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(text)?.[1] ?? NaN);

function plainDeployment(name: string, labels: Record<string, string>): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name, ...labels } },
        spec: {
          terminationGracePeriodSeconds: 2,
          containers: [{ name: 'app', image: 'version-observer/test-server', env: [{ name: 'PORT', value: '8080' }], readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 1 } }],
        },
      },
    },
  };
}

async function rolledOut(name: string): Promise<V1Pod[]> {
  await kubectl(cluster, ['-n', NS, 'rollout', 'status', `deployment/${name}`, '--timeout=120s']);
  return waitFor(`${name}: 2 Ready pods`, async () => {
    const pods = (await getPods(cluster, NS, `app=${name}`)).filter((p) => !p.metadata?.deletionTimestamp);
    return pods.length === 2 && pods.every(isReady) ? pods : undefined;
  }, 60_000, 250);
}

test('a labelled Deployment gets the native sidecar; an unlabelled one is untouched and never sent to the webhook', async () => {
  const before = await admissions();
  await apply(cluster, JSON.stringify(plainDeployment('plain', { [APP_LABEL]: 'plain', [DEFAULT_VERSION_LABEL]: '1.0.0' })));
  const plainPods = await rolledOut('plain');
  for (const p of plainPods) {
    assert.equal(sidecarOf(p), undefined, `${p.metadata?.name} untouched`);
    assert.equal(p.spec?.containers.length, 1);
  }
  assert.equal((await admissions()).total, before.total, 'the objectSelector kept the API server from calling the webhook');

  const [deployment, service] = exampleAppObjects({ namespace: NS, name: 'storefront', version: '1.0.0', replicas: 2, sidecar: 'labels' });
  assert.equal(deployment.spec?.template.spec?.initContainers, undefined, 'the app team wrote labels only');
  await apply(cluster, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [deployment, service] }));
  await kubectl(cluster, ['-n', NS, 'rollout', 'status', 'deployment/storefront', '--timeout=120s']);
  const pods = await waitFor('storefront pods Ready', async () => {
    const ps = (await getPods(cluster, NS, 'app=storefront')).filter((p) => !p.metadata?.deletionTimestamp);
    return ps.length === 2 && ps.every(isReady) ? ps : undefined;
  }, 60_000, 250);
  for (const p of pods) {
    const c = sidecarOf(p);
    assert.ok(c, `${p.metadata?.name} has the sidecar`);
    assert.equal(c.restartPolicy, 'Always', 'a native sidecar');
    assert.equal(c.readinessProbe, undefined);
    assert.equal(c.startupProbe, undefined);
    // exactly the controller's published trust set (keys + installation), as literal values
    assert.equal(c.env?.find((e) => e.name === 'VERSION_OBSERVER_PUBLIC_KEY')?.value, installed.publicKey, 'the trusted key pinned');
    assert.equal(c.env?.find((e) => e.name === 'VERSION_OBSERVER_INSTALLATION')?.value, installed.installation, 'the installation pinned');
    const status = p.status?.initContainerStatuses?.find((s) => s.name === SIDECAR_CONTAINER_NAME);
    assert.ok(status?.started && status.state?.running, `${p.metadata?.name}: the sidecar runs`);
  }
  const after = await admissions();
  assert.ok((after.byOutcome.injected ?? 0) >= (before.byOutcome.injected ?? 0) + 2, JSON.stringify(after.byOutcome));
  // the controller serves the app: its state comes from pods whose sidecar it pushes to
  await waitFor('storefront converged at 1.0.0', async () => {
    const res = await fetch(`${installed.apiUrl}/v1/apps/${NS}/storefront`);
    const s = res.ok ? ((await res.json()) as { phase: string; version: string }) : undefined;
    return s?.phase === 'converged' && s.version === '1.0.0' ? s : undefined;
  }, 60_000, 250);
});

test('a missing or invalid version label: admitted with a warning kubectl prints, and counted', async () => {
  const problems = metric((await admissions()).text, 'version_observer_webhook_version_label_problems_total') || 0;
  const missing = await kubectlRun(cluster, ['apply', '-f', '-'], podYaml('no-version', { [APP_LABEL]: 'odd', [INJECT_LABEL]: 'true' }));
  assert.equal(missing.status, 0, missing.stderr);
  assert.match(missing.stderr, /Warning: version-observer: app\.kubernetes\.io\/version: version label is missing/);
  const invalid = await kubectlRun(cluster, ['apply', '-f', '-'], podYaml('bad-version', { [APP_LABEL]: 'odd', [INJECT_LABEL]: 'true', [DEFAULT_VERSION_LABEL]: 'latest' }));
  assert.equal(invalid.status, 0, invalid.stderr);
  assert.match(invalid.stderr, /Warning: version-observer: app\.kubernetes\.io\/version: "latest" is not a semantic version/);
  const created = JSON.parse(await kubectl(cluster, ['-n', NS, 'get', 'pod', 'bad-version', '-o', 'json'])) as V1Pod;
  assert.ok(sidecarOf(created), 'still injected');
  assert.equal(metric((await admissions()).text, 'version_observer_webhook_version_label_problems_total'), problems + 2);
});

test('certificate renewal during traffic: no failed admission', async () => {
  const secret = async () => (JSON.parse(await kubectl(cluster, ['-n', VO_NS, 'get', 'secret', `${RELEASE}-webhook-tls`, '-o', 'json'])) as { data: Record<string, string> }).data;
  const first = (await secret())['tls.crt'];
  const renewalsAt = async () => metric((await admissions()).text, 'version_observer_webhook_certificate_renewals_total\\{certificate="serving"\\}');
  const renewedBefore = await renewalsAt();
  let n = 0;
  const deadline = Date.now() + 60_000; // longer than the 40 s validity: at least one renewal inside
  const labels = { [APP_LABEL]: 'traffic', [DEFAULT_VERSION_LABEL]: '1.0.0', [INJECT_LABEL]: 'true' };
  while (Date.now() < deadline) {
    const pod = await dryRunPod(`traffic-${n}`, labels);
    assert.ok(sidecarOf(pod), `admission ${n} mutated (a failed call is admitted unmutated)`);
    n++;
  }
  const renewed = (await renewalsAt()) - renewedBefore;
  assert.ok(renewed >= 1, `the serving certificate was renewed during the traffic (${renewed})`);
  assert.notEqual((await secret())['tls.crt'], first);
  const bundle = await kubectl(cluster, ['get', 'mutatingwebhookconfiguration', CONFIG, '-o', 'jsonpath={.webhooks[0].clientConfig.caBundle}']);
  assert.equal(bundle, (await secret())['ca.crt'], 'caBundle is current');
  assert.ok(n >= 20, `${n} admissions`);
});

test('the injected native sidecar stops after the app container: clients of a deleted pod still get the last state while the app drains', async () => {
  const log = join(cluster.dir, 'drainer-app.log');
  const yaml = JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'drainer', namespace: NS, labels: { [APP_LABEL]: 'drainer', [DEFAULT_VERSION_LABEL]: '2.0.0', [INJECT_LABEL]: 'true' } },
    spec: {
      terminationGracePeriodSeconds: 15,
      containers: [{
        name: 'app',
        image: 'version-observer/test-server',
        env: [{ name: 'VERSION', value: 'app' }, { name: 'SHUTDOWN_DELAY_MS', value: '2500' }, { name: 'EVENT_LOG', value: log }],
        readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 1 },
      }],
    },
  });
  await apply(cluster, yaml);
  const pod = await waitFor('drainer Ready', async () => {
    const p = (await getPods(cluster, NS)).find((x) => x.metadata?.name === 'drainer');
    return p && isReady(p) && p.status?.podIP ? p : undefined;
  }, 60_000, 200);
  assert.ok(sidecarOf(pod), 'injected');
  const versionUrl = `http://${pod.status!.podIP}:8787/version`;
  const stateVersion = async () => {
    const res = await fetch(versionUrl, { signal: AbortSignal.timeout(1000) });
    return ((await res.json()) as { state: { version?: string } | null }).state?.version;
  };
  await waitFor('the controller pushed the state to the injected sidecar', async () => ((await stateVersion().catch(() => undefined)) === '2.0.0' ? true : undefined), 60_000, 200);

  const answered: number[] = [];
  let polling = true;
  const poller = (async () => {
    while (polling) {
      if ((await stateVersion().catch(() => undefined)) === '2.0.0') answered.push(Date.now());
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  try {
    await kubectl(cluster, ['-n', NS, 'delete', 'pod', 'drainer', '--wait=true']);
  } finally {
    polling = false;
    await poller;
  }
  const facts = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { event: string; t: number });
  const sigterm = facts.findLast((f) => f.event === 'sigterm')?.t;
  const exit = facts.findLast((f) => f.event === 'exit')?.t;
  assert.ok(sigterm && exit && exit - sigterm >= 2000, `the app took its time to stop: ${JSON.stringify(facts)}`);
  assert.ok(answered.some((t) => t > sigterm + 300 && t < exit), `the sidecar served the last state while the app drained (${sigterm}..${exit}); answers at ${JSON.stringify(answered.slice(-8))}`);
});

test('webhook down: a labelled Deployment still rolls out without the sidecar; the controller reports it after scale-up', async () => {
  await kubectl(cluster, ['-n', VO_NS, 'scale', `deployment/${RELEASE}`, '--replicas=0']);
  await waitFor('controller pods gone', async () => ((await getPods(cluster, VO_NS, 'app.kubernetes.io/component=controller')).length === 0 ? true : undefined), 60_000, 250);
  await apply(cluster, JSON.stringify(plainDeployment('offline', { [APP_LABEL]: 'offline', [DEFAULT_VERSION_LABEL]: '1.0.0', [INJECT_LABEL]: 'true' })));
  const pods = await rolledOut('offline');
  for (const p of pods) assert.equal(sidecarOf(p), undefined, `${p.metadata?.name}: admitted without the sidecar (fail open)`);

  await kubectl(cluster, ['-n', VO_NS, 'scale', `deployment/${RELEASE}`, '--replicas=1']);
  await kubectl(cluster, ['-n', VO_NS, 'rollout', 'status', `deployment/${RELEASE}`, '--timeout=120s']);
  const event = await waitFor('SidecarMissing Event on the Deployment', async () => {
    const list = JSON.parse(await kubectl(cluster, ['-n', NS, 'get', 'events.events.k8s.io', '-o', 'json'])) as { items: Array<{ reason?: string; type?: string; note?: string; regarding?: { kind?: string; name?: string } }> };
    return list.items.find((e) => e.reason === 'SidecarMissing' && e.regarding?.kind === 'Deployment' && e.regarding.name === 'offline');
  }, 90_000, 500);
  assert.equal(event.type, 'Warning');
  assert.match(event.note ?? '', /kubectl rollout restart deployment\/offline -n shop/);
  const gauge = await waitFor('missing-sidecar gauge', async () => {
    const v = metric((await fetch(`${installed.apiUrl}/metrics`).then((r) => r.text())), 'version_observer_pods_missing_sidecar');
    return v >= 2 ? v : undefined;
  }, 30_000, 500);
  assert.ok(gauge >= 2);
});
