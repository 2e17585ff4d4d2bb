/**
 * A real browser (playwright-core driving Debian's /usr/bin/chromium, headless) against the
 * example SPA and a sidecar, both run as local processes on a 127.x address, without
 * Kubernetes: the example server proxies /version/* (and the WebSocket upgrade) to the sidecar,
 * as the local harness does. Pushes are signed with a test key.
 * Fails loudly (never skips) when chromium is missing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { CHROMIUM, launchBrowser } from '../../../src/demo/browser.ts';
import { waitFor } from '../../support/local-k8s.ts';
import { generateSigningKey } from '../../../src/core/signature.ts';
import { buildClient, INSTALLATION, makeState, push, signed, root, sleep } from '../sidecar/helpers.ts';
import type { AppState } from '../../../src/core/app-state.ts';

const ip = `127.${10 + Math.floor(Math.random() * 200)}.${Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
const origin = `http://${ip}:8080`;
const admin = `http://${ip}:8788`;
const key = generateSigningKey();
const children = new Set<ChildProcess>();
let browser: Browser;
let sidecar: ChildProcess;
let epoch = 1;
let seq = 0;

function start(args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, args, { cwd: root, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

const until = <T>(what: string, fn: () => Promise<T | undefined | false>): Promise<T> => waitFor(what, fn, 10_000, 50);

function startSidecar(): ChildProcess {
  return start(['src/cli/main.ts', 'sidecar'], {
    VERSION_OBSERVER_APP: 'storefront', POD_NAMESPACE: 'shop', VERSION_OBSERVER_POD_VERSION: '1.0.0',
    VERSION_OBSERVER_PUBLIC_KEY: key.publicKeyBase64, VERSION_OBSERVER_INSTALLATION: INSTALLATION, VERSION_OBSERVER_LISTEN_HOST: ip,
    VERSION_OBSERVER_ALLOWED_ORIGINS: origin, VERSION_OBSERVER_LOG_LEVEL: 'warn', VERSION_OBSERVER_SHUTDOWN_GRACE_MS: '2000',
  });
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${admin}/metrics`)).text();
  const line = text.split('\n').find((l) => l.split(' ')[0] === name);
  return line ? Number(line.split(' ').pop()) : 0;
}

async function pushState(over: Partial<AppState>): Promise<void> {
  const r = await push(admin, signed(makeState({ epoch, seq: ++seq, ...over }), key));
  assert.equal(r.status, 204, JSON.stringify(r.body));
}

async function openSpa(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(origin);
  await page.waitForFunction(() => document.getElementById('status')?.dataset.status === 'open', null, { timeout: 10_000 }).catch((e) => {
    throw new Error(`page never connected (${errors.join('; ')}): ${e}`);
  });
  return page;
}

/**
 * Resolves once the page's observer has handled the state pushed last (its (epoch, seq)): the
 * positive signal that a quiet period was observed, instead of sleeping and seeing nothing.
 */
async function handledLastPush(page: Page): Promise<void> {
  await page.waitForFunction(
    ([e, s]) => {
      const st = (window as unknown as { versionObserver?: { state: { epoch: number; seq: number } | null } }).versionObserver?.state;
      return !!st && (st.epoch > e! || (st.epoch === e && st.seq >= s!));
    },
    [epoch, seq],
    { timeout: 10_000 },
  );
}

/** The version the banner shows, or null when it is hidden. */
const bannerVersion = (page: Page): Promise<string | null> =>
  page.evaluate(() => {
    const el = document.querySelector('version-banner') as (HTMLElement & { shownVersion: string | null }) | null;
    const box = el?.shadowRoot?.querySelector('.b') as HTMLElement | null;
    return box && !box.hidden && box.getBoundingClientRect().height > 0 ? el!.shownVersion : null;
  });

const bannerText = (page: Page): Promise<string> =>
  page.evaluate(() => (document.querySelector('version-banner')?.shadowRoot?.querySelector('.t') as HTMLElement).innerText);

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run \`apt-get install -y chromium\` (browser tests never skip)`);
  await buildClient(`${root}dist/client/version-observer.js`); // what the sidecar serves, as scripts/build.ts builds it
  mkdirSync(`${root}test-results`, { recursive: true });
  sidecar = startSidecar();
  start(['examples/spa/server.ts'], { POD_IP: ip, PORT: '8080', VERSION: '1.0.0', APP_NAME: 'storefront' });
  await until('sidecar and example server', async () => (await fetch(`${origin}/version`)).ok && (await fetch(`${origin}/`)).ok);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  for (const c of children) c.kill('SIGKILL');
});

test('the SPA at 1.0.0 shows its version and no banner; progressing states show no banner', async () => {
  const context = await browser.newContext({ viewport: { width: 960, height: 600 } });
  const page = await openSpa(context);
  assert.equal(await page.textContent('#version'), '1.0.0');
  assert.equal(await bannerVersion(page), null);

  await pushState({ phase: 'converged', version: '1.0.0', previousVersion: null, change: 'none', serving: { '1.0.0': 3 } });
  await pushState({ phase: 'progressing', version: '1.0.0', previousVersion: null, change: 'none', reason: 'MixedVersions', serving: { '1.0.0': 2, '1.1.0': 1 } });
  await page.waitForFunction(() => /progress: progressing \(MixedVersions\)/.test(document.getElementById('log')!.textContent!));
  await pushState({ phase: 'degraded', version: '1.0.0', previousVersion: null, change: 'none', reason: 'ProgressDeadlineExceeded', serving: { '1.0.0': 2, '1.1.0': 1 } });
  await page.waitForFunction(() => /progress: degraded/.test(document.getElementById('log')!.textContent!));
  await handledLastPush(page);
  assert.equal(await bannerVersion(page), null, 'no banner while pods are mixed');
  await context.close();
});

test('a signed push of converged 1.1.0 → the banner shows the new version; Later hides it until the next version', async () => {
  const context = await browser.newContext({ viewport: { width: 960, height: 600 } });
  const page = await openSpa(context);
  const t0 = performance.now();
  await pushState({ phase: 'converged', version: '1.1.0', previousVersion: '1.0.0', change: 'minor', serving: { '1.1.0': 3 } });
  await page.waitForFunction(() => (document.querySelector('version-banner') as unknown as { shownVersion: string | null })?.shownVersion === '1.1.0');
  const ms = performance.now() - t0;
  assert.equal(await bannerVersion(page), '1.1.0');
  assert.match(await bannerText(page), /A new version is available[\s\S]*1\.1\.0 is ready; you are on 1\.0\.0/);
  await sleep(400); // let the entry animation finish before the screenshot
  await page.screenshot({ path: `${root}test-results/banner.png` });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: `${root}test-results/banner-dark.png` });
  console.log(`# push → banner visible in ${ms.toFixed(0)} ms (including the test's push request)`);

  await page.locator('version-banner').locator('button', { hasText: 'Later' }).click();
  assert.equal(await bannerVersion(page), null);
  await pushState({ phase: 'converged', version: '1.1.0', previousVersion: '1.0.0', change: 'minor', serving: { '1.1.0': 4 } });
  await handledLastPush(page);
  assert.equal(await bannerVersion(page), null, 'snoozed until the next version');
  await pushState({ phase: 'converged', version: '1.2.0', previousVersion: '1.1.0', change: 'minor', serving: { '1.2.0': 3 } });
  await until('banner for 1.2.0', async () => (await bannerVersion(page)) === '1.2.0');
  await context.close();
});

test('two tabs share one WebSocket; both show the banner; the other tab takes over when the leader closes', async () => {
  const context = await browser.newContext();
  // The server notices the earlier pages' sockets closing a moment after their contexts close.
  await until('earlier pages are gone', async () => (await metric('version_observer_sidecar_connections')) === 0);
  const a = await openSpa(context);
  const b = await openSpa(context);
  await until('tab b shares tab a\'s socket', async () => (await b.textContent('#status')) === 'open (shared)' && (await metric('version_observer_sidecar_connections')) === 1);

  // One socket for two tabs, checked after both tabs handled a later push (not after a pause):
  // the sidecar sent that state exactly once, and still holds one connection.
  const sentBefore = await metric('version_observer_sidecar_messages_sent_total{type="state"}');
  await pushState({ phase: 'converged', version: '1.3.0', previousVersion: '1.2.0', change: 'minor', serving: { '1.3.0': 3 } });
  await until('banner in both tabs', async () => (await bannerVersion(a)) === '1.3.0' && (await bannerVersion(b)) === '1.3.0');
  await Promise.all([handledLastPush(a), handledLastPush(b)]);
  assert.equal(await metric('version_observer_sidecar_messages_sent_total{type="state"}'), sentBefore + 1, 'the state went out on one socket');
  assert.equal(await metric('version_observer_sidecar_connections'), 1, 'still one socket for two tabs');

  await a.close();
  await until('tab b holds the socket', async () => (await b.textContent('#status')) === 'open' && (await metric('version_observer_sidecar_connections')) === 1);
  await pushState({ phase: 'converged', version: '1.4.0', previousVersion: '1.3.0', change: 'minor', serving: { '1.4.0': 3 } });
  await until('banner for 1.4.0 in tab b', async () => (await bannerVersion(b)) === '1.4.0');
  await context.close();
});

test('the sidecar restarted → the page reconnects and gets hello with the new state', async () => {
  const context = await browser.newContext();
  const page = await openSpa(context);
  // Listen before signalling: the exit may come while the page is still being polled.
  const exited = new Promise((r) => sidecar.once('exit', r));
  sidecar.kill('SIGTERM');
  await page.waitForFunction(() => document.getElementById('status')?.dataset.status !== 'open');
  await exited;
  sidecar = startSidecar();
  await until('sidecar back', async () => (await fetch(`${admin}/readyz`)).ok);
  // the restarted sidecar starts empty; the controller's next push (here: at once) brings it the state
  epoch++;
  seq = 0;
  await pushState({ phase: 'converged', version: '1.5.0', previousVersion: '1.4.0', change: 'minor', serving: { '1.5.0': 3 } });
  await page.waitForFunction(() => document.getElementById('status')?.dataset.status === 'open', null, { timeout: 15_000 });
  await until('hello on the new sidecar', async () => (await metric('version_observer_sidecar_messages_sent_total{type="hello"}')) >= 1);
  await until('banner for 1.5.0', async () => (await bannerVersion(page)) === '1.5.0');
  await context.close();
});
