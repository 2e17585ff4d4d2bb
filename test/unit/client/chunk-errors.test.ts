/**
 * The chunk-error handler in Node: stand-in window events, location, storage and fetch (the
 * sidecar's `GET /version` answer). The browser test (test/integration/browser/chunk-error.test.ts)
 * runs it against a real sidecar and a chunk that 404s.
 */
import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { globalStandIns } from './stand-ins.ts';
import { CHUNK_RELOAD_KEY, isChunkLoadError, reloadAllowed, reloadOnChunkError, type ChunkErrorHandler } from '../../../src/client/chunk-errors.ts';
import type { AppState } from '../../../src/core/app-state.ts';

const win = new EventTarget();
let reloads = 0;
let served: AppState | null = null;
const requested: string[] = [];
const tabStorage = new Map<string, string>();
const browserStorage = new Map<string, string>();
const storageOf = (map: Map<string, string>) => ({ getItem: (k: string) => map.get(k) ?? null, setItem: (k: string, v: string) => void map.set(k, v) });
const globals = globalStandIns({
  location: { href: 'https://shop.example.com/cart', reload: () => reloads++ },
  sessionStorage: storageOf(tabStorage),
  localStorage: storageOf(browserStorage),
  addEventListener: win.addEventListener.bind(win),
  removeEventListener: win.removeEventListener.bind(win),
  fetch: async (url: URL) => {
    requested.push(String(url));
    return new Response(JSON.stringify({ app: 'shop/storefront', podVersion: served?.version ?? '1.0.0', state: served }));
  },
});
const handlers: ChunkErrorHandler[] = [];

beforeEach(() => {
  globals.install();
  reloads = 0;
  served = null;
  requested.length = 0;
  tabStorage.clear();
  browserStorage.clear();
});
afterEach(() => {
  for (const h of handlers.splice(0)) h.stop();
  globals.restore();
});

const state = (over: Partial<AppState>): AppState => ({
  app: 'shop/storefront', phase: 'converged', version: '1.0.0', previousVersion: null, change: 'none',
  serving: {}, reason: null, epoch: 1, seq: 1, since: '2026-01-01T00:00:00.000Z', ...over,
});
const start = (guardMs?: number): ChunkErrorHandler => {
  const handler = reloadOnChunkError({ version: '1.0.0', ...(guardMs === undefined ? {} : { guardMs }) });
  handlers.push(handler);
  return handler;
};
const chunkError = (): Error => new TypeError('Failed to fetch dynamically imported module: https://shop.example.com/assets/cart-1a2b.js');

test('isChunkLoadError: Vite, webpack and the browsers\' messages; other errors are not', () => {
  for (const error of [
    chunkError(),
    Object.assign(new Error('Loading chunk 42 failed.\n(error: https://x/42.js)'), { name: 'ChunkLoadError' }),
    new Error('Loading CSS chunk 7 failed.'),
    new TypeError('error loading dynamically imported module: https://x/a.js'),
    new TypeError('Importing a module script failed.'),
    new Error('Unable to preload CSS for /assets/a.css'),
    'Failed to fetch dynamically imported module: https://x/a.js',
  ]) assert.ok(isChunkLoadError(error), String(error));
  for (const error of [new TypeError('Failed to fetch'), new Error('x is undefined'), null, undefined, 42, {}]) assert.ok(!isChunkLoadError(error), String(error));
});

test('reloadAllowed: once per target per tab session; across tabs once per window; unreadable markers do not block', () => {
  const mark = (version: string, at: number): string => JSON.stringify([version, at]);
  assert.ok(reloadAllowed('1.1.0', 100_000, 30_000, null, null));
  assert.ok(!reloadAllowed('1.1.0', 10_000_000, 30_000, mark('1.1.0', 0), null), 'this tab already reloaded for 1.1.0');
  assert.ok(reloadAllowed('1.2.0', 100_000, 30_000, mark('1.1.0', 99_000), mark('1.1.0', 99_000)), 'a newer target may reload again');
  assert.ok(!reloadAllowed('1.1.0', 100_000, 30_000, null, mark('1.1.0', 80_000)), 'another tab reloaded for 1.1.0 20 s ago');
  assert.ok(reloadAllowed('1.1.0', 100_000, 30_000, null, mark('1.1.0', 60_000)), '40 s ago: outside the window');
  assert.ok(reloadAllowed('1.1.0', 100_000, 30_000, '{not json', 'null'));
});

test('a chunk error while a newer version is converged → one reload, marked in both storages; the next error does not reload again', async () => {
  served = state({ version: '1.1.0', previousVersion: '1.0.0', change: 'minor' });
  const handler = start();
  assert.equal(await handler.handle(chunkError()), true);
  assert.equal(reloads, 1);
  assert.deepEqual(requested, ['https://shop.example.com/version']);
  assert.equal(JSON.parse(tabStorage.get(CHUNK_RELOAD_KEY)!)[0], '1.1.0');
  assert.equal(JSON.parse(browserStorage.get(CHUNK_RELOAD_KEY)!)[0], '1.1.0');
  // the reloaded page came back old (a stale cache) and fails the same way: no loop
  assert.equal(await handler.handle(chunkError()), false);
  assert.equal(reloads, 1);
});

test('a rollback below the page\'s version reloads too; the page\'s own version, a rollout under way, no state, or another error do not', async () => {
  served = state({ version: '0.9.0', change: 'rollback' });
  assert.equal(await start().handle(chunkError()), true);
  assert.equal(reloads, 1);
  tabStorage.clear();
  browserStorage.clear();
  for (const [label, s] of [
    ['current', state({})],
    ['progressing', state({ phase: 'progressing', version: '1.1.0', reason: 'MixedVersions' })],
    ['no state', null],
  ] as const) {
    served = s;
    assert.equal(await start().handle(chunkError()), false, label);
  }
  served = state({ version: '1.1.0', change: 'minor' });
  requested.length = 0;
  assert.equal(await start().handle(new Error('x is undefined')), false);
  assert.deepEqual(requested, [], 'no request for an error that is not a chunk error');
  assert.equal(reloads, 1);
});

test('window events: vite:preloadError (payload), unhandledrejection (reason), error (error) start the check; none is prevented; stop() removes them', async () => {
  served = state({ version: '1.1.0', previousVersion: '1.0.0', change: 'minor' });
  const handler = start(0); // no cross-tab window: each event below may reload once the tab marker is cleared
  const events = [
    Object.assign(new Event('vite:preloadError', { cancelable: true }), { payload: chunkError() }),
    Object.assign(new Event('unhandledrejection', { cancelable: true }), { reason: chunkError() }),
    Object.assign(new Event('error', { cancelable: true }), { error: chunkError() }),
  ];
  for (const event of events) {
    tabStorage.clear();
    const before = reloads;
    win.dispatchEvent(event);
    assert.equal(event.defaultPrevented, false, `${event.type}: the error still propagates`);
    for (let i = 0; i < 50 && reloads === before; i++) await new Promise((r) => setImmediate(r));
    assert.equal(reloads, before + 1, event.type);
  }
  handler.stop();
  tabStorage.clear();
  win.dispatchEvent(Object.assign(new Event('unhandledrejection'), { reason: chunkError() }));
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  assert.equal(reloads, 3);
});

test('without storage for the guard it never reloads', async () => {
  served = state({ version: '1.1.0', change: 'minor' });
  const broken = { getItem: () => null, setItem: () => { throw new Error('SecurityError'); } };
  Object.defineProperty(globalThis, 'sessionStorage', { value: broken, configurable: true, writable: true });
  Object.defineProperty(globalThis, 'localStorage', { value: broken, configurable: true, writable: true });
  assert.equal(await start().handle(chunkError()), false);
  assert.equal(reloads, 0);
});
