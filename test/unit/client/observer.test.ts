/**
 * VersionObserver in Node: a scripted WebSocket, a stand-in document/window/location/
 * sessionStorage, and Node's own BroadcastChannel and Web Locks for two "tabs" in one process.
 * Covers what each tab emits, auto-reload, wake-ups, and one shared socket.
 */
import { test, beforeEach, afterEach, mock } from 'node:test';
import assert from 'node:assert/strict';
import { globalStandIns } from './stand-ins.ts';
import { ScriptedSocket } from './scripted-socket.ts';
import type { AppState } from '../../../src/core/app-state.ts';
import { VersionObserver, type ObserverOptions } from '../../../src/client/observer.ts';
import { versionUpdateStore } from '../../../src/client/svelte.ts';

const page = { window: new EventTarget(), document: Object.assign(new EventTarget(), { visibilityState: 'visible' }) };
let reloads = 0;
const storage = new Map<string, string>();
const globals = globalStandIns({
  WebSocket: ScriptedSocket,
  document: page.document,
  location: { href: 'https://shop.example.com/cart', reload: () => reloads++ },
  sessionStorage: { getItem: (k: string) => storage.get(k) ?? null, setItem: (k: string, v: string) => void storage.set(k, v) },
  addEventListener: page.window.addEventListener.bind(page.window),
  removeEventListener: page.window.removeEventListener.bind(page.window),
});
const observers: VersionObserver[] = [];

beforeEach(() => {
  globals.install();
  ScriptedSocket.made = [];
  reloads = 0;
  storage.clear();
  page.document.visibilityState = 'visible';
});
afterEach(() => {
  for (const o of observers.splice(0)) o.close();
  mock.timers.reset();
  mock.restoreAll();
  globals.restore();
});

const observe = (options: ObserverOptions): { observer: VersionObserver; events: Array<[string, unknown]> } => {
  const observer = new VersionObserver(options);
  observers.push(observer);
  const events: Array<[string, unknown]> = [];
  for (const type of ['update', 'rollback', 'progress', 'current', 'status']) {
    observer.addEventListener(type, (e) => events.push([type, (e as CustomEvent).detail]));
  }
  return { observer, events };
};

let seq = 0;
const state = (over: Partial<AppState>): AppState => ({
  app: 'shop/storefront', phase: 'converged', version: '1.0.0', previousVersion: null, change: 'none',
  serving: {}, reason: null, epoch: 1, seq: ++seq, since: '2026-01-01T00:00:00.000Z', ...over,
});
const socket = (): ScriptedSocket => ScriptedSocket.made.at(-1)!;

test('one update per new version; older states and re-sends are ignored; the page version again → current', () => {
  const { observer, events } = observe({ version: '1.0.0', share: false });
  assert.equal(socket().url, 'wss://shop.example.com/version/ws?v=1.0.0');
  socket().opens();
  socket().receivesJson({ type: 'hello', podVersion: '1.0.0', state: state({}) });
  const update = state({ version: '1.1.0', previousVersion: '1.0.0', change: 'minor' });
  socket().receivesJson({ type: 'state', state: update });
  socket().receivesJson({ type: 'state', state: { ...update, seq: ++seq } });
  socket().receivesJson({ type: 'state', state: { ...update, version: '9.9.9', seq: 1 } }); // older
  socket().receivesJson({ type: 'state', state: state({ phase: 'progressing', version: '1.1.0', reason: 'MixedVersions' }) });
  socket().receivesJson({ type: 'state', state: state({ version: '1.0.0', change: 'rollback' }) });
  assert.deepEqual(events.map(([type]) => type), ['status', 'update', 'progress', 'current']);
  assert.deepEqual(events[0]![1], { status: 'open', leader: true });
  const detail = events[1]![1] as Record<string, unknown>;
  assert.deepEqual({ ...detail, state: undefined }, { kind: 'update', version: '1.1.0', pageVersion: '1.0.0', change: 'minor', state: undefined });
  assert.equal(observer.pending, null);
  assert.equal(observer.state?.seq, seq);
});

test('a lower version served everywhere is a rollback, whatever the policy', () => {
  const { events } = observe({ version: '1.1.0', share: false, policy: 'major' });
  socket().opens();
  socket().receivesJson({ type: 'hello', podVersion: '1.0.0', state: state({ version: '1.0.0', change: 'rollback' }) });
  assert.deepEqual(events.map(([type]) => type), ['status', 'rollback']);
});

test('auto-reload: only a hidden tab, after its random delay, once per version per session', () => {
  mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 0 });
  mock.method(Math, 'random', () => 0.5);
  const { observer } = observe({ version: '1.0.0', share: false, autoReload: { maxDelayMs: 10_000 } });
  socket().opens();
  socket().receivesJson({ type: 'state', state: state({ version: '1.1.0', change: 'minor' }) });
  mock.timers.tick(60_000);
  assert.equal(reloads, 0, 'a visible tab never reloads by itself');

  page.document.visibilityState = 'hidden';
  page.document.dispatchEvent(new Event('visibilitychange'));
  mock.timers.tick(4_999);
  assert.equal(reloads, 0);
  mock.timers.tick(1); // 0.5 × 10 s
  assert.equal(reloads, 1);
  observer.close();

  // the reloaded page still gets the old bundle (a stale cache): it must not reload again
  observe({ version: '1.0.0', share: false, autoReload: true });
  socket().opens();
  socket().receivesJson({ type: 'state', state: state({ version: '1.1.0', change: 'minor' }) });
  mock.timers.tick(60_000);
  assert.equal(reloads, 1);
});

test('a tab that wakes visible reconnects at once when its socket was silent for over 90 s, not before', () => {
  mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 0 });
  observe({ version: '1.0.0', share: false });
  socket().opens();
  socket().receivesJson({ type: 'hello', podVersion: '1.0.0', state: null });
  mock.timers.tick(60_000);
  page.window.dispatchEvent(new Event('online'));
  assert.equal(ScriptedSocket.made.length, 1);
  mock.timers.tick(30_001);
  page.document.dispatchEvent(new Event('visibilitychange'));
  assert.equal(ScriptedSocket.made.length, 2);
});

test('tabs share one socket: the follower hears the leader\'s news and status, and takes over when it closes', async () => {
  const leader = observe({ version: '1.0.0' });
  const follower = observe({ version: '1.0.0' });
  await until(() => leader.observer.leader);
  assert.equal(ScriptedSocket.made.length, 1, 'one socket for two tabs');
  assert.equal(follower.observer.leader, false);
  socket().opens();
  socket().receivesJson({ type: 'state', state: state({ version: '1.2.0', change: 'minor' }) });
  await until(() => follower.observer.pending?.version === '1.2.0');
  assert.equal(follower.observer.status, 'open');
  assert.deepEqual(follower.events.map(([type]) => type), ['status', 'update']);

  leader.observer.close();
  await until(() => follower.observer.leader);
  assert.equal(ScriptedSocket.made.length, 2, 'the new leader connects');
});

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(check(), 'condition never held');
}

test('a leader that closes: status closed at once; its socket\'s late close event posts nothing to the closed channel', async () => {
  const leader = observe({ version: '1.0.0' });
  await until(() => leader.observer.leader);
  const held = socket();
  held.opens();
  held.receivesJson({ type: 'hello', podVersion: '1.0.0', state: null });
  leader.observer.close();
  assert.equal(leader.observer.status, 'closed');
  assert.doesNotThrow(() => held.closes(1000), 'nothing may post to the closed BroadcastChannel');
  assert.deepEqual(leader.events.map(([type, detail]) => [type, (detail as { status: string }).status]), [['status', 'open'], ['status', 'closed']]);
});

test('subscribe/getSnapshot: the snapshot is `pending`, the same object until update, rollback or current; unsubscribe stops the calls', () => {
  const { observer } = observe({ version: '1.0.0', share: false });
  const { subscribe, getSnapshot } = observer; // bound: usable detached, as useSyncExternalStore calls them
  let calls = 0;
  const unsubscribe = subscribe(() => calls++);
  socket().opens();
  socket().receivesJson({ type: 'hello', podVersion: '1.0.0', state: state({}) });
  assert.equal(getSnapshot(), null);
  socket().receivesJson({ type: 'state', state: state({ phase: 'progressing', version: '1.1.0', reason: 'MixedVersions' }) });
  assert.equal(calls, 0, 'progress and status leave the snapshot as it was');
  socket().receivesJson({ type: 'state', state: state({ version: '1.1.0', previousVersion: '1.0.0', change: 'minor' }) });
  const first = getSnapshot();
  assert.equal(calls, 1);
  assert.equal(first?.version, '1.1.0');
  assert.equal(first?.kind, 'update');
  assert.equal(getSnapshot(), first, 'an unchanged snapshot is the same object');
  socket().receivesJson({ type: 'state', state: state({ version: '1.0.0', change: 'rollback' }) });
  assert.equal(calls, 2);
  assert.equal(getSnapshot(), null);
  unsubscribe();
  socket().receivesJson({ type: 'state', state: state({ version: '1.2.0', previousVersion: '1.0.0', change: 'minor' }) });
  assert.equal(calls, 2);
  assert.equal(getSnapshot()?.version, '1.2.0');
});

test('the Svelte store: the current value at once, then every change, until unsubscribed', () => {
  const { observer } = observe({ version: '1.0.0', share: false });
  const seen: Array<string | null> = [];
  const unsubscribe = versionUpdateStore(observer).subscribe((update) => seen.push(update?.version ?? null));
  socket().opens();
  socket().receivesJson({ type: 'state', state: state({ version: '2.0.0', previousVersion: '1.0.0', change: 'major' }) });
  unsubscribe();
  socket().receivesJson({ type: 'state', state: state({ version: '1.0.0', change: 'rollback' }) });
  assert.deepEqual(seen, [null, '2.0.0']);
});

test('typed events: e.detail is typed per event name (checked by tsc, run as a listener here)', () => {
  const { observer } = observe({ version: '1.0.0', share: false });
  const seen: string[] = [];
  observer.addEventListener('update', (e) => seen.push(`${e.detail.version} from ${e.detail.pageVersion}`));
  observer.addEventListener('status', (e) => seen.push(`${e.detail.status} ${e.detail.leader}`));
  observer.addEventListener('progress', (e) => seen.push(e.detail.state.phase));
  socket().opens();
  socket().receivesJson({ type: 'state', state: state({ version: '1.0.1', previousVersion: '1.0.0', change: 'patch' }) });
  assert.deepEqual(seen, ['open true', '1.0.1 from 1.0.0']);
});
