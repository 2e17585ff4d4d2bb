/** The pusher against real receivers on loopback IPs (real sockets; no Kubernetes involved). */
import { test } from 'node:test';
import http from 'node:http';
import assert from 'node:assert/strict';
import { Pusher, type PusherOptions } from '../../../src/controller/pusher.ts';
import { generateSigningKey } from '../../../src/core/signature.ts';
import { pushBody } from '../../../src/core/push-envelope.ts';
import type { AppState } from '../../../src/core/app-state.ts';
import { FakeClock, settle } from '../../support/fake-clock.ts';
import { startReceiver, type Receiver } from '../../support/receiver.ts';
import { startSlowReceiver } from '../../support/slow-receiver.ts';

const key = generateSigningKey();
const port = 20000 + Math.floor(Math.random() * 20000);
const state = (seq: number, epoch = 1, version = '1.0.0'): AppState => ({
  app: 'ns/shop', phase: 'converged', version, previousVersion: null, change: 'none', serving: { [version]: 2 }, reason: null, epoch, seq, since: '2026-01-01T00:00:00.000Z',
});
const pod = (name: string, ip: string, phase = 'Running') => ({ name, namespace: 'ns', versionLabel: '1.0.0', ready: true, terminating: false, podIP: ip, phase });
/** A pusher whose states live in a map, as the controller's records do: set() records and tells it. */
function withStates(o: Omit<PusherOptions, 'stateOf'>): Pusher & { set(app: string, s: AppState | null, onAnnouncementAcked?: () => void): void } {
  const states = new Map<string, AppState>();
  const pusher = new Pusher({ ...o, stateOf: (app) => states.get(app) });
  return Object.assign(pusher, {
    set(app: string, s: AppState | null, onAnnouncementAcked?: () => void) {
      if (s === null) states.delete(app);
      else states.set(app, s);
      pusher.stateChanged(app, onAnnouncementAcked);
    },
  });
}
const until = async (pred: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

test('pushes the current state to every target, coalesces, new pods get it, 409 is fine, stop stops', async () => {
  const receivers: Receiver[] = [];
  for (const ip of ['127.0.0.21', '127.0.0.22']) receivers.push(await startReceiver({ host: ip, port, publicKeys: [key.publicKeyBase64] }));
  const results: Array<number | null> = [];
  const pusher = withStates({ port, concurrency: 4, timeoutMs: 1000, resyncMs: 0, body: (s) => pushBody('test-installation', s, key), onResult: (r) => results.push(r.status) });
  try {
    pusher.upsertPod('ns/shop', pod('a', '127.0.0.21'));
    pusher.upsertPod('ns/shop', pod('p', '127.0.0.99', 'Pending'));
    assert.deepEqual(pusher.targetsOf('ns/shop'), ['ns/a@127.0.0.21'], 'a Pending pod is no target');
    pusher.set('ns/shop', state(1));
    // a push starts synchronously (inFlight counts it), so nothing started means nothing sent
    assert.equal(pusher.inFlight, 0, 'nothing is sent before start()');
    await settle();
    assert.equal(receivers[0]!.received.length, 0);
    let acked = false;
    pusher.start();
    pusher.set('ns/shop', state(2), () => (acked = true));
    pusher.set('ns/shop', state(3));
    pusher.set('ns/shop', state(4), () => (acked = true));
    await until(() => receivers[0]!.held()?.seq === 4);
    await until(() => acked);
    assert.ok(receivers[0]!.received.length <= 2, `coalesced: ${receivers[0]!.received.length} pushes`);
    // a new pod gets the current state at once
    pusher.upsertPod('ns/shop', pod('b', '127.0.0.22'));
    await until(() => receivers[1]!.held()?.seq === 4);
    // resync re-sends; the receiver answers 409, which counts as acknowledged
    pusher.resync();
    await until(() => receivers[1]!.received.some((r) => r.status === 409));
    // stop: nothing more is sent
    await until(() => pusher.inFlight === 0);
    pusher.stop();
    const before = receivers.map((r) => r.received.length);
    pusher.set('ns/shop', state(5));
    assert.equal(pusher.inFlight, 0, 'nothing is sent after stop()');
    await settle();
    assert.deepEqual(receivers.map((r) => r.received.length), before);
    assert.ok(!results.some((s) => s === 401), 'signatures verify');
  } finally {
    pusher.close();
    for (const r of receivers) await r.close();
  }
});

test('a pod whose sidecar is not listening is retried on the listen backoff until it answers; global concurrency is bounded', async () => {
  // FakeClock.random() is 0.5: each retry waits half its ceiling (20, 40, 80, 100, 100 ms).
  // The failure backoff is a minute: a refused connect is no failure and never waits that long.
  const clock = new FakeClock();
  const failedAt: number[] = [];
  const errors: Array<string | null> = [];
  const notListening: number[] = [];
  const p2 = withStates({
    port, concurrency: 2, timeoutMs: 500, resyncMs: 0, backoff: { baseMs: 60_000, maxMs: 60_000 }, listenBackoff: { baseMs: 20, maxMs: 100 }, body: (s) => pushBody('test-installation', s, key), clock,
    onResult: (r) => {
      notListening.push(r.stats.notListening);
      errors.push(r.error);
      failedAt.push(clock.now());
    },
  });
  const pusher = withStates({ port, concurrency: 2, timeoutMs: 500, resyncMs: 0, body: (s) => pushBody('test-installation', s, key), clock: new FakeClock() });
  let maxInFlight = 0;
  try {
    p2.start();
    p2.upsertPod('ns/shop', pod('late', '127.0.0.31'));
    p2.set('ns/shop', state(1));
    await until(() => errors.length === 1);
    assert.equal(errors[0], 'refused');
    for (const [i, wait] of [10, 20, 40, 50, 50].entries()) {
      await clock.advance(wait - 1);
      assert.deepEqual([p2.inFlight, errors.length], [0, i + 1], `nothing sent before ${wait} ms`);
      await clock.advance(1);
      await until(() => errors.length === i + 2);
      assert.equal(failedAt[i + 1]! - failedAt[i]!, wait, `retry ${i + 1} after ${wait} ms`);
    }
    assert.ok(notListening.every((n) => n === 1), 'counted as not listening');
    const r = await startReceiver({ host: '127.0.0.31', port, publicKeys: [key.publicKeyBase64] });
    await clock.advance(50);
    await until(() => r.held()?.seq === 1);
    assert.equal(notListening.at(-1), 0, 'listening once it answered');
    await r.close();
    // concurrency bound across many pods (no receivers: all refused quickly)
    pusher.start();
    for (let i = 0; i < 20; i++) pusher.upsertPod('ns/many', pod(`m${i}`, `127.0.1.${i + 1}`));
    pusher.set('ns/many', { ...state(1), app: 'ns/many' });
    for (let i = 0; i < 50; i++) {
      maxInFlight = Math.max(maxInFlight, pusher.inFlight);
      await new Promise((r2) => setImmediate(r2));
    }
    assert.ok(maxInFlight <= 2 && maxInFlight > 0, `in flight ${maxInFlight}`);
  } finally {
    pusher.close();
    p2.close();
  }
  assert.equal(clock.pending(), 0, 'close() cancels the backoff timers');
});

test('a refused pod waits out the listen backoff (default: quick ~50 ms retries while it starts); turning Ready retries it at once', async () => {
  const clock = new FakeClock();
  const errors: Array<string | null> = [];
  const pusher = withStates({
    port, concurrency: 2, timeoutMs: 500, resyncMs: 0, backoff: { baseMs: 60_000, maxMs: 60_000 }, body: (s) => pushBody('test-installation', s, key), clock,
    onResult: (r) => void errors.push(r.error),
  });
  let r: Receiver | undefined;
  try {
    pusher.start();
    // Running with an IP, sidecar not listening yet: refused; the quick listen retry waits 25 + 0.5 × 25 ms
    pusher.upsertPod('ns/shop', { ...pod('fresh', '127.0.0.41'), ready: false });
    pusher.set('ns/shop', state(1));
    await until(() => errors.length === 1);
    assert.equal(errors[0], 'refused');
    await clock.advance(36);
    assert.equal(errors.length, 1);
    await clock.advance(1);
    await until(() => errors.length === 2);
    // listening now; a new state does not jump the backoff (another quick retry) while the pod is not Ready
    r = await startReceiver({ host: '127.0.0.41', port, publicKeys: [key.publicKeyBase64] });
    pusher.set('ns/shop', state(2));
    pusher.upsertPod('ns/shop', { ...pod('fresh', '127.0.0.41'), ready: false });
    await settle();
    assert.deepEqual([pusher.inFlight, r.received.length], [0, 0], 'still backing off');
    const t0 = clock.now();
    pusher.upsertPod('ns/shop', pod('fresh', '127.0.0.41')); // Ready: the hint that the sidecar listens
    await until(() => r!.held()?.seq === 2, 2000);
    assert.equal(clock.now(), t0, 'delivered without waiting out the backoff');
  } finally {
    pusher.close();
    await r?.close();
  }
});

test('a pod that failed otherwise (deadline) is not retried early when it turns Ready', async () => {
  const clock = new FakeClock();
  const errors: Array<string | null> = [];
  const slow = await startSlowReceiver({ host: '127.0.0.42', port, mode: 'hang' });
  const pusher = withStates({
    port, concurrency: 2, timeoutMs: 100, resyncMs: 0, backoff: { baseMs: 60_000, maxMs: 60_000 }, body: (s) => pushBody('test-installation', s, key), clock,
    onResult: (r) => void errors.push(r.error),
  });
  try {
    pusher.start();
    pusher.upsertPod('ns/shop', { ...pod('slow', '127.0.0.42'), ready: false });
    pusher.set('ns/shop', state(1));
    await until(() => errors.length === 1);
    assert.equal(errors[0], 'timeout', 'the deadline runs on real time, whatever the clock');
    pusher.upsertPod('ns/shop', pod('slow', '127.0.0.42'));
    await settle();
    assert.deepEqual([pusher.inFlight, slow.arrivals.length], [0, 1], 'waits its failure backoff');
  } finally {
    pusher.close();
    await slow.close();
  }
});

test('every resyncMs each target is re-sent its current state (409 = still held)', async () => {
  const clock = new FakeClock();
  const r = await startReceiver({ host: '127.0.0.51', port, publicKeys: [key.publicKeyBase64] });
  const pusher = withStates({ port, concurrency: 2, timeoutMs: 500, resyncMs: 60_000, body: (s) => pushBody('test-installation', s, key), clock });
  try {
    pusher.start();
    pusher.upsertPod('ns/shop', pod('a', '127.0.0.51'));
    pusher.set('ns/shop', state(1));
    await until(() => r.received.length === 1 && pusher.inFlight === 0);
    await clock.advance(59_999);
    assert.equal(pusher.inFlight, 0, 'acknowledged: nothing to send before the resync');
    await clock.advance(1);
    await until(() => r.received.length === 2);
    assert.equal(r.received[1]!.status, 409);
    await until(() => pusher.inFlight === 0);
    await clock.advance(60_000);
    await until(() => r.received.length === 3);
    pusher.stop();
    assert.equal(clock.pending(), 0, 'stop() ends the resync');
  } finally {
    pusher.close();
    await r.close();
  }
});

test('a 409 naming an order never issued is reported and not acknowledged; one naming ours is', async () => {
  // A stand-in sidecar that answers every push 409 with the order it claims to hold.
  let held = { epoch: 1, seq: 99 };
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(409, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'VO_PUSH_STALE', message: 'stale', held })));
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.61', r));
  const clock = new FakeClock();
  const foreign: Array<{ held: unknown; current: unknown }> = [];
  const pusher = withStates({
    port, concurrency: 2, timeoutMs: 500, resyncMs: 0, backoff: { baseMs: 60_000, maxMs: 60_000 }, body: (s) => pushBody('test-installation', s, key), clock,
    onForeignOrder: (r) => void foreign.push({ held: r.held, current: r.current }),
  });
  try {
    pusher.start();
    pusher.upsertPod('ns/shop', pod('a', '127.0.0.61'));
    let acked = false;
    pusher.set('ns/shop', state(3), () => (acked = true));
    await until(() => foreign.length === 1);
    assert.deepEqual(foreign[0], { held: { epoch: 1, seq: 99 }, current: { epoch: 1, seq: 3 } });
    await settle();
    assert.equal(acked, false, 'not counted as delivered');
    assert.equal(clock.pending(), 1, 'retried with backoff');
    held = { epoch: 1, seq: 3 }; // now it holds what we sent
    await clock.advance(60_000);
    await until(() => acked);
    assert.equal(foreign.length, 1);
  } finally {
    pusher.close();
    await new Promise((r) => server.close(r));
  }
});
