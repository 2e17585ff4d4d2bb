/**
 * The pictures and alerts name only metrics that exist. The real controller (a process, against
 * the local control plane, under the chart's RBAC) and a real sidecar process are scraped; every
 * metric the chart's Grafana dashboard and PrometheusRule read must be a family of one of those
 * scrapes (a histogram's _bucket/_sum/_count resolve to it). Along the way: both components
 * serve /livez, export build_info and Node's default metrics under the standard names, log their
 * version first, and write string levels with ISO times on every line.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import { loadAllYaml } from '@kubernetes/client-node';
import { APP_LABEL } from '../../../src/core/labels.ts';
import { pushBody } from '../../../src/core/push-envelope.ts';
import { generateSigningKey } from '../../../src/core/signature.ts';
import type { AppState } from '../../../src/core/app-state.ts';
import { packageVersion } from '../../../src/platform/version.ts';
import { startCluster, type Cluster } from '../../../src/local/cluster.ts';
import { kubectlOk } from '../../support/kubectl.ts';
import { metric } from '../../support/metrics-text.ts';
import { dashboardQueries, familiesOf, metricNamesIn, metricNamesInVariableQuery, resolves } from '../../support/promql-names.ts';
import { repoRoot } from '../../support/repo-root.ts';
import { renderControllerChart, SYSTEM_NS } from '../../support/controller/chart.ts';
import { writeTokenKubeconfig } from '../../support/controller/kubeconfig.ts';
import { isLeader, spawnController, type ControllerProc } from '../../support/controller/process.ts';
import { applyRbac, serviceAccountToken } from '../../support/controller/rbac.ts';
import { sleep, waitFor } from '../../support/wait.ts';
import { chartDir, renderText } from '../packaging/support.ts';
import { silentLogger } from '../../../src/platform/logger.ts';

const APP = 'shop/storefront';
/** The installation the test sidecar is pinned to and the test signs for. */
const INSTALLATION = 'metrics-test';
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

interface SidecarProc {
  proc: ChildProcess;
  adminUrl: string;
  publicUrl: string;
  logs: Array<Record<string, unknown>>;
  exited: Promise<number | null>;
}

/** `node src/cli/main.ts sidecar` on 127.0.0.1, ephemeral ports, a pinned key; resolves once it listens. */
async function spawnSidecar(publicKey: string): Promise<SidecarProc> {
  const proc = spawn(process.execPath, [`${repoRoot}src/cli/main.ts`, 'sidecar'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      VERSION_OBSERVER_APP: APP,
      VERSION_OBSERVER_POD_VERSION: '1.0.0',
      VERSION_OBSERVER_PUBLIC_KEY: publicKey,
      VERSION_OBSERVER_INSTALLATION: INSTALLATION,
      VERSION_OBSERVER_LISTEN_HOST: '127.0.0.1',
      VERSION_OBSERVER_PORT: '0',
      VERSION_OBSERVER_ADMIN_PORT: '0',
      VERSION_OBSERVER_LOG_LEVEL: 'info',
      // explicit, so the gauge is checked against a known value (unset, the cap is derived from memory.max)
      VERSION_OBSERVER_MAX_CONNECTIONS: '50000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const listening = new Promise<{ admin: string; public: string }>((resolve) => {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      const o = JSON.parse(line) as Record<string, unknown>;
      logs.push(o);
      if (typeof o.admin === 'string' && typeof o.public === 'string') resolve({ admin: o.admin, public: o.public });
    });
  });
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const urls = await Promise.race([
    listening,
    exited.then((code) => {
      throw new Error(`sidecar exited ${code} before listening: ${stderr}`);
    }),
    sleep(30_000).then(() => {
      throw new Error(`sidecar did not listen within 30 s: ${stderr}`);
    }),
  ]);
  return { proc, adminUrl: urls.admin, publicUrl: urls.public, logs, exited };
}

async function stop(p: { proc: ChildProcess; exited: Promise<number | null> } | undefined): Promise<void> {
  if (!p) return;
  if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGTERM');
  await p.exited;
}

let cluster: Cluster;
let controller: ControllerProc | undefined;
let sidecar: SidecarProc | undefined;
let socket: WebSocket | undefined;
let controllerScrape: string;
let sidecarScrape: string;

before(async () => {
  cluster = await startCluster({ kubelet: false, logger: silentLogger });
  const chart = await renderControllerChart();
  await applyRbac(cluster, SYSTEM_NS, chart.rbacYaml);
  const token = await serviceAccountToken(cluster, SYSTEM_NS, chart.serviceAccount);
  const saKubeconfig = writeTokenKubeconfig(cluster, token, join(cluster.dir, 'controller-sa.kubeconfig'));
  controller = await spawnController({ saKubeconfig, chartArgs: chart.chartArgs }, 'vo-metrics-0');
  await waitFor('the controller leads', async () => (await isLeader(controller!)) || undefined, 60_000, 100);

  // An app for the controller to reconcile (no kubelet: a Deployment is enough).
  await kubectlOk(cluster, ['create', 'namespace', 'shop']);
  await kubectlOk(cluster, ['apply', '-f', '-'], JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'storefront', namespace: 'shop', labels: { [APP_LABEL]: 'storefront' } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { run: 'storefront' } },
      template: { metadata: { labels: { run: 'storefront', [APP_LABEL]: 'storefront' } }, spec: { containers: [{ name: 'app', image: 'example/app:1' }] } },
    },
  }));
  await waitFor('the controller knows the app', async () => (await controller!.app(APP)) ?? undefined, 60_000, 100);

  const key = generateSigningKey();
  sidecar = await spawnSidecar(key.publicKeyBase64);
  const state: AppState = { app: APP, phase: 'converged', version: '1.1.0', previousVersion: '1.0.0', change: 'minor', serving: { '1.1.0': 1 }, reason: null, epoch: 2, seq: 5, since: new Date().toISOString() };
  const res = await fetch(`${sidecar.adminUrl}/internal/v1/state`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: pushBody(INSTALLATION, state, key) });
  assert.equal(res.status, 204, await res.text());
  socket = new WebSocket(`${sidecar.publicUrl.replace(/^http/, 'ws')}/version/ws?v=1.0.0`, { perMessageDeflate: false });
  await new Promise((resolve, reject) => {
    socket!.once('open', resolve);
    socket!.once('error', reject);
  });

  controllerScrape = await controller.metrics();
  sidecarScrape = await (await fetch(`${sidecar.adminUrl}/metrics`)).text();
});

after(async () => {
  socket?.terminate();
  await stop(sidecar);
  await stop(controller);
  await cluster?.stop();
});

describe('the real processes', () => {
  it('/livez answers 200 on the controller port and the sidecar admin port', async () => {
    for (const url of [`${controller!.url}/livez`, `${sidecar!.adminUrl}/livez`]) {
      const r = await fetch(url);
      assert.equal(r.status, 200, url);
      assert.deepEqual(await r.json(), { status: 'ok' });
    }
  });

  it('build_info and Node default metrics under the standard names on both', () => {
    for (const [component, text] of [['controller', controllerScrape], ['sidecar', sidecarScrape]] as const) {
      const info = text.split('\n').find((l) => l.startsWith('version_observer_build_info{'));
      assert.ok(info, `${component}: build_info`);
      assert.match(info, new RegExp(`version="${packageVersion().replaceAll('.', '\\.')}"`));
      assert.match(info, new RegExp(`component="${component}"`));
      assert.match(info, new RegExp(`node_version="${process.version}"`));
      assert.match(info, / 1$/);
      for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_heap_size_used_bytes']) {
        assert.ok(familiesOf(text).has(name), `${component}: ${name}`);
      }
    }
    // The controller's old prefixed names stay for existing dashboards (deprecated).
    assert.ok(familiesOf(controllerScrape).has('version_observer_process_cpu_user_seconds_total'));
  });

  it('the controller-runtime-style metrics count real work: API requests, reconciles, queue', () => {
    const c = controllerScrape;
    assert.ok(metric(c, 'version_observer_rest_client_requests_total{verb="GET",code="200"}') > 0, 'lists (and the Lease/Secret reads)');
    assert.ok(metric(c, 'version_observer_rest_client_requests_total{verb="WATCH",code="200"}') > 0, 'watches');
    assert.ok(metric(c, 'version_observer_reconcile_total{controller="app",result="success"}') + metric(c, 'version_observer_reconcile_total{controller="app",result="requeue_after"}') > 0);
    assert.ok(metric(c, 'version_observer_workqueue_adds_total{name="app"}') > 0);
    assert.ok(metric(c, 'version_observer_app_state_epoch{app="shop/storefront"}') >= 1);
    assert.equal(metric(sidecarScrape, 'version_observer_sidecar_state_epoch{app="shop/storefront"}'), 2);
    assert.equal(metric(sidecarScrape, 'version_observer_sidecar_state_seq{app="shop/storefront"}'), 5);
    assert.equal(metric(sidecarScrape, 'version_observer_sidecar_max_connections'), 50_000);
    assert.equal(metric(sidecarScrape, 'version_observer_sidecar_connections_by_client_version{client_version="1.0.0"}'), 1);
  });

  it('logs: the version in the first line; a string level and an ISO time on every line', () => {
    for (const [component, logs] of [['controller', controller!.logs], ['sidecar', sidecar!.logs]] as const) {
      assert.ok(logs.length >= 2, component);
      assert.equal(logs[0]!.version, packageVersion(), `${component}: ${JSON.stringify(logs[0])}`);
      for (const line of logs) {
        assert.ok(['debug', 'info', 'warn', 'error'].includes(line.level as string), `${component}: ${JSON.stringify(line)}`);
        assert.match(String(line.time), ISO_UTC, `${component}: ${JSON.stringify(line)}`);
      }
    }
  });
});

describe('the chart names only metrics the processes expose', () => {
  const families = () => new Map([...familiesOf(controllerScrape), ...familiesOf(sidecarScrape)]);
  const missing = (names: string[]) => names.filter((n) => !resolves(n, families()));

  it('the Grafana dashboard (panels, annotations, variables)', () => {
    const dashboard = JSON.parse(readFileSync(`${chartDir}/dashboards/version-observer.json`, 'utf8')) as unknown;
    const { exprs, variableQueries } = dashboardQueries(dashboard);
    const names = [...new Set([...exprs.flatMap(metricNamesIn), ...variableQueries.flatMap(metricNamesInVariableQuery)])];
    assert.ok(exprs.length >= 20 && variableQueries.length >= 2, `found ${exprs.length} expressions, ${variableQueries.length} variable queries`);
    assert.ok(names.includes('version_observer_sidecar_connections_by_client_version'), 'the skew panel');
    assert.deepEqual(missing(names), [], `the dashboard reads metrics no scrape has (of ${names.join(', ')})`);
  });

  it('every PrometheusRule expression', async () => {
    const yaml = await renderText({ valuesFiles: [`${chartDir}/ci/monitoring-values.yaml`], set: ['monitoring.prometheusRule.enabled=true'] });
    const docs = (loadAllYaml(yaml) as Array<{ kind?: string; spec?: { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> } } | null>).filter((d) => d?.kind === 'PrometheusRule');
    assert.equal(docs.length, 1);
    const rules = docs[0]!.spec!.groups.flatMap((g) => g.rules);
    assert.deepEqual(rules.map((r) => r.alert).sort(), ['VersionObserverAppDegraded', 'VersionObserverNoLeader', 'VersionObserverPushFailures', 'VersionObserverSidecarNearConnectionCap', 'VersionObserverSidecarStale']);
    for (const rule of rules) {
      const names = metricNamesIn(rule.expr);
      assert.ok(names.length > 0, rule.alert);
      assert.deepEqual(missing(names), [], `${rule.alert}: ${rule.expr}`);
    }
  });
});
