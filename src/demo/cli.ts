/**
 * `version-observer demo` (npm run demo): the rollout story on the embedded local cluster.
 *   --once   run the story non-interactively and exit 0 on success (non-zero on any failure)
 * Without --once the cluster stays up afterwards, with kubectl instructions, until Ctrl-C.
 */
import { parseArgs } from 'node:util';
import { startCluster, type Cluster } from '../local/cluster.ts';
import { formatLine, recordLogger } from '../local/log.ts';
import { installController } from './install.ts';
import { deployExampleApp, describeTick, isMixed, openApp, rollTo, screenshot, type Tick } from './story.ts';
import { waitForOnlyVersion, waitForRollout } from './cluster-view.ts';
import { bannerOf } from './page-probe.ts';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import type { Browser } from 'playwright-core';

const say = (line: string) => process.stdout.write(`${line}\n`);
const step = (n: number, line: string) => say(`\n\x1b[1m[${n}/6] ${line}\x1b[0m`);

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { once: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' }, out: { type: 'string', default: 'demo-output' } } });
  if (values.help) {
    say('usage: version-observer demo [--once] [--out DIR]\n\nStarts the local cluster, installs the controller with Helm, deploys the example SPA at 0.1.0\n(3 replicas, labels only: the webhook injects the sidecar), opens it in headless Chromium, rolls out 1.0.0 and rolls back.\n--once exits when the story is done (0 on success); otherwise the cluster stays up until Ctrl-C.');
    return;
  }
  let cluster: Cluster | undefined;
  let browser: Browser | undefined;
  const cleanup = async () => {
    await browser?.close().catch(() => {});
    await cluster?.stop();
  };
  try {
    step(1, 'Starting the local Kubernetes control plane (first run builds the binaries: a few minutes)');
    // Per-container kubelet lines would drown the story; the cluster's own progress stays.
    cluster = await startCluster({ logger: recordLogger((r) => r.component !== 'kubelet' && r.component !== 'proxy' && say(`  ${formatLine(r)}`)) });

    step(2, 'helm install version-observer charts/version-observer');
    const installed = await installController(cluster, { log: (l) => say(`  ${l}`) });
    say(`  controller API ${installed.apiUrl}/v1/apps`);

    step(3, 'Deploying the example SPA "shop/storefront" at 0.1.0 (3 replicas, labels only; the webhook injects the sidecar)');
    const app = await deployExampleApp(cluster, installed, { namespace: 'shop', name: 'storefront', version: '0.1.0', replicas: 3 });
    await waitForRollout(cluster.kubeConfig.makeApiClient(AppsV1Api), app.namespace, app.name);
    say(`  the app: ${app.url}  (through the local service proxy, as a Service would route it)`);

    const opened = await openApp(app);
    browser = opened.browser;
    const page = opened.page;
    say('  headless Chromium has the app open');

    step(4, 'Rolling out 1.0.0: nothing may be announced while old and new pods are mixed');
    let mixedBanner: Tick | undefined;
    await rollTo(cluster, installed, app, page, '1.0.0', (t) => t.banner.visible && t.banner.version === '1.0.0', (t) => {
      say(`  ${describeTick(t)}`);
      if (isMixed(t) && t.banner.visible) mixedBanner ??= t;
    });
    if (mixedBanner) throw new Error(`the banner showed while versions were mixed: ${describeTick(mixedBanner)}`);
    const shot = await screenshot(page, values.out!, 'banner-1.0.0.png');
    say(`  converged: every open tab now says a new version is available`);
    say(`  screenshot: ${shot}`);

    step(5, 'The user clicks Reload: the page runs 1.0.0 and the banner is gone');
    await waitForOnlyVersion(cluster.kubeConfig.makeApiClient(CoreV1Api), app.namespace, app.name, '1.0.0');
    await Promise.all([page.waitForEvent('load'), page.locator('version-banner [part="reload"]').click()]);
    const after = await bannerOf(page);
    if (after.visible) throw new Error(`the banner is still shown after Reload: "${after.text}"`);
    say(`  the page now runs ${await page.evaluate(() => document.documentElement.dataset.version)}`);

    step(6, 'Rolling back to 0.1.0: shown as a rollback');
    await rollTo(cluster, installed, app, page, '0.1.0', (t) => t.banner.visible && t.banner.version === '0.1.0', (t) => say(`  ${describeTick(t)}`));
    const shot2 = await screenshot(page, values.out!, 'banner-rollback-0.1.0.png');
    say(`  screenshot: ${shot2}`);

    if (values.once) {
      say('\nDemo finished. Screenshots:');
      say(`  ${shot}\n  ${shot2}`);
      await cleanup();
      return;
    }
    say(`\nThe cluster stays up. In another shell:\n\n  export KUBECONFIG=${cluster.kubeconfigPath}\n  kubectl -n shop get pods -L app.kubernetes.io/version\n  kubectl -n shop set image deploy/storefront app=version-observer/example-spa:1.1.0  # then also: kubectl -n shop patch deploy storefront -p '{"spec":{"template":{"metadata":{"labels":{"app.kubernetes.io/version":"1.1.0"}}}}}'\n  curl ${installed.apiUrl}/v1/apps\n\nOpen ${app.url} in a browser on this machine. Ctrl-C stops everything.`);
    await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    await cleanup();
  } catch (err) {
    await cleanup();
    throw err;
  }
}
