/**
 * The whole story in a real browser, on the local cluster with the controller installed by its
 * Helm chart, the app deployed with labels only (the chart's webhook injects the sidecar):
 * nothing announced while old and new pods are mixed, the banner once the rollout is complete
 * (latency from the last pod Ready logged), a stale tab opened later still learns the news, a
 * paused rollout shows nothing, and `kubectl rollout undo` is shown as a rollback.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { AppsV1Api, CoreV1Api, type V1Deployment, type V1Pod } from '@kubernetes/client-node';
import type { Browser, Page } from 'playwright-core';
import { startCluster, type Cluster } from '../../../src/local/cluster.ts';
import { controllerState, setVersion, waitForOnlyVersion } from '../../../src/demo/cluster-view.ts';
import { VERSION_LABEL } from '../../../src/demo/example-app.ts';
import { SIDECAR_CONTAINER_NAME } from '../../../src/core/sidecar-container.ts';
import { installController, type Installed } from '../../../src/demo/install.ts';
import { bannerOf } from '../../../src/demo/page-probe.ts';
import { launchBrowser } from '../../../src/demo/browser.ts';
import { deployExampleApp, describeTick, isMixed, openApp, rollTo, screenshot, type StoryApp } from '../../../src/demo/story.ts';
import { waitForRollout } from '../../../src/demo/cluster-view.ts';
import { announcementEventRv, firstReadyRvs, record } from '../ordered-facts.ts';
import { silentLogger } from '../../../src/platform/logger.ts';

const kubectl = promisify(execFile);
let cluster: Cluster;
let installed: Installed;
let app: StoryApp;
let browser: Browser;
let page: Page;
let staleShell = '';

before(async () => {
  cluster = await startCluster({ logger: silentLogger });
  installed = await installController(cluster);
  app = await deployExampleApp(cluster, installed, { namespace: 'shop', name: 'storefront', version: '0.1.0', replicas: 3 });
  await waitForRollout(cluster.kubeConfig.makeApiClient(AppsV1Api), app.namespace, app.name);
  // deployed with labels only: every pod got the sidecar from the chart's webhook
  const pods = await cluster.kubeConfig.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: app.namespace, labelSelector: `app=${app.name}` });
  for (const p of pods.items) assert.ok(p.spec?.initContainers?.some((c) => c.name === SIDECAR_CONTAINER_NAME && c.restartPolicy === 'Always'), `${p.metadata?.name}: injected native sidecar`);
  staleShell = await (await fetch(app.url)).text(); // the 0.1.0 page, as a browser cache would keep it
  ({ browser, page } = await openApp(app));
});

after(async () => {
  await browser?.close();
  await cluster?.stop();
});

/** The app's pods, recorded in the API server's order from now on. */
function recordPods() {
  const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  const labelSelector = `app=${app.name}`;
  return record<V1Pod>(cluster.kubeConfig, `/api/v1/namespaces/${app.namespace}/pods`, () => core.listNamespacedPod({ namespace: app.namespace, labelSelector }), labelSelector);
}

test('no banner while old and new pods are mixed; the banner once all run 1.0.0', async (t) => {
  assert.equal((await bannerOf(page)).visible, false, 'no banner at the start');
  const pods = await recordPods();
  const bannerAt = page.waitForFunction(() => (document.querySelector('version-banner') as unknown as { shownVersion?: string })?.shownVersion === '1.0.0' && Date.now(), null, { polling: 'raf', timeout: 120_000 });
  let mixedSamples = 0;
  const ticks = await rollTo(cluster, installed, app, page, '1.0.0', (tk) => tk.banner.visible && tk.banner.version === '1.0.0', (tk) => {
    if (!isMixed(tk)) return;
    mixedSamples++;
    assert.equal(tk.banner.visible, false, `banner while mixed: ${describeTick(tk)}`);
    assert.notEqual(tk.phase, 'converged', `converged while mixed: ${describeTick(tk)}`);
  });
  const shownAtMs = (await (await bannerAt).jsonValue()) as number;
  assert.ok(mixedSamples >= 5, `the rollout was sampled while mixed (${mixedSamples} samples of ${ticks.length})`);
  // The recording must have seen the three 1.0.0 pods turn Ready (else the order below is void).
  const history = pods.history();
  pods.stop();
  const readyRvs = firstReadyRvs(history, VERSION_LABEL, '1.0.0');
  assert.equal(readyRvs.size, 3, `three 1.0.0 pods seen Ready: ${[...readyRvs.keys()].join(', ')}`);
  // Not before the last pod was Ready, by the API server's order: the controller's announcement
  // Event (created by the reconcile that decided it; the banner can only follow that push) was
  // written after every 1.0.0 pod's Ready status.
  const announcedRv = await announcementEventRv(cluster.kubeConfig, app.namespace, app.name, '1.0.0');
  const lastReadyRv = [...readyRvs.values()].reduce((a, b) => (a > b ? a : b));
  assert.ok(announcedRv > lastReadyRv, `announced at rv ${announcedRv}, before the last 1.0.0 pod was Ready (rv ${lastReadyRv})`);
  // The latency figure: this process's receipt of that Ready (late when the loop is busy) → banner.
  const lastReadyAt = history.find((e) => e.rv === lastReadyRv)!.atMs;
  t.diagnostic(`last 1.0.0 pod Ready (as received here) → banner in the browser: ${shownAtMs - lastReadyAt} ms`);
  const state = await controllerState(installed.apiUrl, app.namespace, app.name);
  assert.equal(state?.phase, 'converged');
  assert.equal(state?.version, '1.0.0');
  assert.equal(state?.change, 'major');
  t.diagnostic(`screenshot: ${await screenshot(page, 'test-results', 'story-banner-1.0.0.png')}`);
});

test('a stale tab opened after the announcement shows the banner on load', async () => {
  // A response fulfilled by the test (standing in for the browser cache) has no network
  // address, so Chromium's Local Network Access checks would block its requests to 127.x;
  // a cached page of a real origin has no such problem.
  const lateBrowser = await launchBrowser(['--disable-features=LocalNetworkAccessChecks']);
  try {
    const late = await lateBrowser.newPage();
    await late.route(app.url + '/', (route) => route.fulfill({ status: 200, contentType: 'text/html', body: staleShell }));
    const consoleLines: string[] = [];
    late.on('console', (m) => consoleLines.push(m.text()));
    late.on('pageerror', (e) => consoleLines.push(String(e)));
    await late.goto(app.url + '/');
    await late
      .waitForFunction(() => (document.querySelector('version-banner') as unknown as { shownVersion?: string })?.shownVersion === '1.0.0', null, { timeout: 15_000 })
      .catch(async (err: unknown) => {
        const seen = await late.evaluate(() => document.body.innerText).catch(() => '');
        throw new Error(`${String(err)}\npage:\n${seen}\nconsole:\n${consoleLines.join('\n')}`);
      });
    const b = await bannerOf(late);
    assert.equal(b.visible, true);
    assert.match(b.text, /1\.0\.0/);
  } finally {
    await lateBrowser.close();
  }
});

test('a paused rollout shows no banner until it is resumed and complete', async () => {
  await waitForOnlyVersion(cluster.kubeConfig.makeApiClient(CoreV1Api), app.namespace, app.name, '1.0.0');
  await page.reload({ waitUntil: 'load' });
  assert.equal((await bannerOf(page)).visible, false, 'the reloaded page runs 1.0.0');
  const apps = cluster.kubeConfig.makeApiClient(AppsV1Api);
  const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  const deployments = await record<V1Deployment>(cluster.kubeConfig, `/apis/apps/v1/namespaces/${app.namespace}/deployments`, () => apps.listNamespacedDeployment({ namespace: app.namespace }));
  await setVersion(apps, app.namespace, app.name, '1.1.0');
  // Pause as soon as the first 1.1.0 pod serves: old and new are mixed, and stay so.
  for (let i = 0; ; i++) {
    const pods = await core.listNamespacedPod({ namespace: app.namespace, labelSelector: `app=${app.name},${VERSION_LABEL}=1.1.0` });
    if (pods.items.some((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))) break;
    assert.ok(i < 600, 'a 1.1.0 pod became Ready');
    await new Promise((r) => setTimeout(r, 50));
  }
  await kubectl('kubectl', ['--kubeconfig', cluster.kubeconfigPath, '-n', app.namespace, 'rollout', 'pause', `deployment/${app.name}`]);
  const until = Date.now() + 4000;
  let sawPaused = false;
  while (Date.now() < until) {
    const [b, s] = await Promise.all([bannerOf(page), controllerState(installed.apiUrl, app.namespace, app.name)]);
    assert.equal(b.visible, false, 'no banner during a paused rollout');
    assert.notEqual(s?.phase, 'converged');
    sawPaused ||= s?.phase === 'progressing' && s.reason === 'Paused';
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(sawPaused, 'the controller reported progressing/Paused');
  await kubectl('kubectl', ['--kubeconfig', cluster.kubeconfigPath, '-n', app.namespace, 'rollout', 'resume', `deployment/${app.name}`]);
  await page.waitForFunction(() => (document.querySelector('version-banner') as unknown as { shownVersion?: string })?.shownVersion === '1.1.0', null, { timeout: 120_000 });
  // Not announced during the pause, by the API server's order: the announcement Event was
  // written after the resume (the sampling above only covers the moments it looked).
  const history = deployments.history();
  deployments.stop();
  const mine = history.filter((e) => e.object.metadata?.name === app.name);
  const pausedRv = mine.find((e) => e.object.spec?.paused === true)?.rv;
  assert.ok(pausedRv !== undefined, 'the pause was recorded');
  const resumedRv = mine.find((e) => e.rv > pausedRv && !e.object.spec?.paused)?.rv;
  assert.ok(resumedRv !== undefined, 'the resume was recorded');
  const announcedRv = await announcementEventRv(cluster.kubeConfig, app.namespace, app.name, '1.1.0');
  assert.ok(announcedRv > resumedRv, `announced at rv ${announcedRv}, before the resume at rv ${resumedRv}`);
});

test('kubectl rollout undo is shown as a rollback', async () => {
  await waitForOnlyVersion(cluster.kubeConfig.makeApiClient(CoreV1Api), app.namespace, app.name, '1.1.0');
  await page.reload({ waitUntil: 'load' }); // now runs 1.1.0
  assert.equal((await bannerOf(page)).visible, false);
  await kubectl('kubectl', ['--kubeconfig', cluster.kubeconfigPath, '-n', app.namespace, 'rollout', 'undo', `deployment/${app.name}`]);
  await page.waitForFunction(() => (document.querySelector('version-banner') as unknown as { shownVersion?: string })?.shownVersion === '1.0.0', null, { timeout: 120_000 });
  const b = await bannerOf(page);
  assert.match(b.text, /roll/i, `banner says rollback: "${b.text}"`);
  const state = await controllerState(installed.apiUrl, app.namespace, app.name);
  assert.equal(state?.change, 'rollback');
  assert.equal(state?.previousVersion, '1.1.0');
});
