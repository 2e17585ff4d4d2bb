/**
 * The opt-in chunk-error handler (src/client/chunk-errors.ts) in Chromium against a real sidecar
 * process. The page server plays the app's pods: it serves the page of the version "deployed"
 * and only that version's lazily imported chunk, so after a rollout the old page's
 * `import('/assets/cart-1.0.0.js')` 404s ("Failed to fetch dynamically imported module"). The
 * page loads the client the sidecar serves (`/version/client.js`) and calls
 * reloadOnChunkError; its own `unhandledrejection` handler records every error it sees.
 * Reloads are counted by the page requests the server answered.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM, launchBrowser } from '../../../src/demo/browser.ts';
import { waitFor, sleep } from '../../support/wait.ts';
import { buildClient, root } from '../sidecar/helpers.ts';
import { startSidecarProcess, type SidecarProcess } from './sidecar-process.ts';

/** what the "pods" serve: the page of `deployed`, the chunks in `chunks` */
let deployed = '1.0.0';
let chunks = new Set<string>();
let sidecar: SidecarProcess;
let browser: Browser;

const pageHtml = (version: string): string => `<!doctype html><meta charset="utf-8"><title>shop ${version}</title>
<p id="version">${version}</p>
<script type="module">
  import { reloadOnChunkError } from '/version/client.js';
  window.seenErrors = [];
  addEventListener('unhandledrejection', (e) => seenErrors.push(String(e.reason && e.reason.message || e.reason)));
  reloadOnChunkError({ version: '${version}' });
  window.openCart = () => { void import('/assets/cart-${version}.js').then((m) => (document.body.dataset.cart = m.cart)); };
  window.ready = true;
</script>`;

const pageLoads = (): number => sidecar.requests.filter((r) => r === 'GET /').length;
const stateReads = (): number => sidecar.requests.filter((r) => r === 'GET /version').length;

async function openPage(): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(sidecar.origin);
  await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
  return page;
}
const shownVersion = (page: Page): Promise<string | null> => page.textContent('#version');
const seenErrors = (page: Page): Promise<string[]> => page.evaluate(() => (window as unknown as { seenErrors: string[] }).seenErrors);
/** Starts the lazy import without handling its promise, as an app's route change would. */
const openCart = (page: Page): Promise<void> => page.evaluate(() => (window as unknown as { openCart: () => void }).openCart());

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run \`apt-get install -y chromium\` (browser tests never skip)`);
  await buildClient(`${root}dist/client/version-observer.js`); // what the sidecar serves, as scripts/build.ts builds it
  sidecar = await startSidecarProcess((req, res) => {
    if (req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html', 'cache-control': 'no-store' }).end(pageHtml(deployed));
      return true;
    }
    const chunk = /^\/assets\/cart-(.+)\.js$/.exec(req.url ?? '')?.[1];
    if (chunk && chunks.has(chunk)) {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(`export const cart = 'cart of ${chunk}';`);
      return true;
    }
    return false;
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await sidecar?.stop();
});

test('the page\'s version is still the converged one: the chunk error propagates to the page, no reload', async () => {
  deployed = '1.0.0';
  chunks = new Set(); // a broken deploy: the chunk is missing, but nothing newer is out
  await sidecar.pushState({ phase: 'converged', version: '1.0.0', previousVersion: null, change: 'none', serving: { '1.0.0': 3 } });
  const page = await openPage();
  const loads = pageLoads();
  const reads = stateReads();
  await openCart(page);
  const errors = await waitFor('the page records the error', async () => {
    const seen = await seenErrors(page);
    return seen.length > 0 && seen;
  }, 10_000, 50);
  assert.match(errors[0]!, /Failed to fetch dynamically imported module: .*\/assets\/cart-1\.0\.0\.js/);
  await waitFor('the handler asked the sidecar', () => stateReads() > reads, 10_000, 50);
  await sleep(500); // a reload would be under way by now
  assert.equal(pageLoads(), loads, 'no reload');
  assert.equal(await shownVersion(page), '1.0.0');
  await page.context().close();
});

test('after a rollout the old page\'s chunk 404s → exactly one reload, onto the new version', async () => {
  deployed = '1.0.0';
  chunks = new Set(['1.0.0']);
  const page = await openPage();
  const loads = pageLoads();
  // the rollout: the pods serve 1.1.0 and its chunks only; the controller pushes the converged state
  deployed = '1.1.0';
  chunks = new Set(['1.1.0']);
  await sidecar.pushState({ phase: 'converged', version: '1.1.0', previousVersion: '1.0.0', change: 'minor', serving: { '1.1.0': 3 } });
  const reloaded = page.waitForEvent('load');
  await openCart(page);
  await reloaded;
  await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
  assert.equal(await shownVersion(page), '1.1.0');
  await sleep(500);
  assert.equal(pageLoads(), loads + 1, 'exactly one reload');
  await openCart(page);
  await page.waitForFunction(() => document.body.dataset.cart === 'cart of 1.1.0');
  assert.deepEqual(await seenErrors(page), []);
  await page.context().close();
});

test('a stale cache keeps serving the old page: one reload, then the error propagates (no loop)', async () => {
  deployed = '1.0.0'; // what a stale cache in front of the 1.1.0 pods keeps answering
  chunks = new Set();
  const page = await openPage();
  const loads = pageLoads();
  const reloaded = page.waitForEvent('load');
  await openCart(page);
  await reloaded;
  await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
  assert.equal(pageLoads(), loads + 1);
  const reads = stateReads();
  await openCart(page);
  await waitFor('the reloaded page records the error', async () => (await seenErrors(page)).length > 0, 10_000, 50);
  await waitFor('the handler asked the sidecar', () => stateReads() > reads, 10_000, 50);
  await sleep(500);
  assert.equal(pageLoads(), loads + 1, 'no second reload for the same target version');
  await page.context().close();
});
