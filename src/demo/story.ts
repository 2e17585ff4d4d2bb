/**
 * The rollout story the demo walks (and the end-to-end tests check): three pods of the example
 * SPA at 0.1.0, deployed with labels only (the chart's webhook injects the sidecar), a browser open on the app through the service proxy, a rolling
 * update to 1.0.0 during which nothing is announced, the banner once every pod runs 1.0.0, a
 * reload, then a rollback to 0.1.0 shown as such.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { AppsV1Api, CoreV1Api, type KubernetesObject, KubernetesObjectApi } from '@kubernetes/client-node';
import type { Browser, Page } from 'playwright-core';
import type { Cluster } from '../local/cluster.ts';
import { launchBrowser } from './browser.ts';
import { controllerState, fmtCounts, podsByVersion, setVersion } from './cluster-view.ts';
import { exampleAppObjects } from './example-app.ts';
import type { Installed } from './install.ts';
import { bannerOf, type BannerView } from './page-probe.ts';
import { realClock } from '../platform/clock.ts';

export interface StoryApp {
  namespace: string;
  name: string;
  url: string;
}

export async function deployExampleApp(cluster: Cluster, installed: Installed, o: { namespace: string; name: string; version: string; replicas?: number }): Promise<StoryApp> {
  const client = KubernetesObjectApi.makeApiClient(cluster.kubeConfig);
  await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: o.namespace } }).catch((e: { code?: number }) => {
    if (e.code !== 409) throw e;
  });
  for (const obj of exampleAppObjects({ ...o, sidecar: 'labels' })) await client.create(obj as KubernetesObject);
  return { namespace: o.namespace, name: o.name, url: await cluster.serviceUrl(o.namespace, o.name, 'http') };
}

export interface Tick {
  atMs: number;
  serving: Record<string, number>;
  total: Record<string, number>;
  live: Record<string, number>;
  terminating: number;
  phase: string;
  stateVersion: string | null;
  banner: BannerView;
}

/**
 * Rolls the app to `version` and watches until `done(tick)` holds, sampling the cluster, the
 * controller and the page every `everyMs`; `onTick` sees each sample (the demo prints them).
 */
export async function rollTo(
  cluster: Cluster,
  installed: Installed,
  app: StoryApp,
  page: Page,
  version: string,
  done: (t: Tick) => boolean,
  onTick: (t: Tick) => void = () => {},
  opts: { everyMs?: number; timeoutMs?: number } = {},
): Promise<Tick[]> {
  const apps = cluster.kubeConfig.makeApiClient(AppsV1Api);
  const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  const t0 = Date.now();
  await setVersion(apps, app.namespace, app.name, version);
  const ticks: Tick[] = [];
  const deadline = t0 + (opts.timeoutMs ?? 120_000);
  for (;;) {
    const [pods, state, banner] = await Promise.all([podsByVersion(core, app.namespace, app.name), controllerState(installed.apiUrl, app.namespace, app.name), bannerOf(page)]);
    const tick: Tick = { atMs: Date.now() - t0, ...pods, phase: state?.phase ?? '?', stateVersion: state?.version ?? null, banner };
    ticks.push(tick);
    onTick(tick);
    if (done(tick)) return ticks;
    if (Date.now() > deadline) throw new Error(`rollout to ${version} did not finish within ${opts.timeoutMs ?? 120_000} ms; last: ${describeTick(tick)}`);
    await realClock.sleep(opts.everyMs ?? 150);
  }
}

export function describeTick(t: Tick): string {
  const banner = t.banner.visible ? `banner: "${t.banner.text}"` : 'banner: none';
  return `${(t.atMs / 1000).toFixed(1).padStart(5)} s  pods ${fmtCounts(t.total).padEnd(18)} serving ${fmtCounts(t.serving).padEnd(18)} ${t.terminating ? `(${t.terminating} terminating) ` : ''}phase ${t.phase.padEnd(11)} ${banner}`;
}

/**
 * A tick where old and new versions still run side by side. A terminating pod no longer counts:
 * it has left the Service's endpoints, and `kubectl rollout status` already reports success.
 */
export const isMixed = (t: Tick): boolean => Object.keys(t.live).length > 1;

export async function openApp(app: StoryApp): Promise<{ browser: Browser; page: Page }> {
  const browser = await launchBrowser();
  const page = await browser.newPage({ viewport: { width: 1000, height: 640 } });
  await page.goto(app.url, { waitUntil: 'load' });
  return { browser, page };
}

export async function screenshot(page: Page, dir: string, name: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const path = resolve(dir, name);
  await page.waitForTimeout(400); // the banner slides in over 250 ms
  await page.screenshot({ path });
  return path;
}
