/**
 * The pusher's slots shared per namespace, against real sockets on loopback IPs: pods of one
 * namespace that never answer borrow the idle slots but never the last share; another
 * namespace's announcement is acknowledged while they are still in flight.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pusher } from '../../../src/controller/pusher.ts';
import { pushBody } from '../../../src/core/push-envelope.ts';
import { generateSigningKey } from '../../../src/core/signature.ts';
import type { AppState } from '../../../src/core/app-state.ts';
import { settle } from '../../support/fake-clock.ts';
import { startReceiver, type Receiver } from '../../support/receiver.ts';
import { startSlowReceiver, type SlowReceiver } from '../../support/slow-receiver.ts';

const key = generateSigningKey();
const port = 20000 + Math.floor(Math.random() * 20000);
const state = (app: string, seq: number): AppState => ({
  app, phase: 'converged', version: '1.0.0', previousVersion: null, change: 'none', serving: { '1.0.0': 1 }, reason: null, epoch: 1, seq, since: '2026-01-01T00:00:00.000Z',
});
const pod = (namespace: string, name: string, ip: string) => ({ name, namespace, versionLabel: '1.0.0', ready: true, terminating: false, podIP: ip, phase: 'Running' });
const until = async (what: string, pred: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

async function scene(namespaceConcurrency: number | undefined, run: (s: { pusher: Pusher; states: Map<string, AppState>; hung: SlowReceiver[]; shop: Receiver[] }) => Promise<void>) {
  const hung: SlowReceiver[] = [];
  const shop: Receiver[] = [];
  const states = new Map<string, AppState>();
  const pusher = new Pusher({ port, concurrency: 4, namespaceConcurrency, timeoutMs: 30_000, resyncMs: 0, stateOf: (app) => states.get(app), body: (s) => pushBody('test-installation', s, key) });
  try {
    for (let i = 0; i < 8; i++) hung.push(await startSlowReceiver({ host: `127.0.3.${i + 1}`, port, mode: 'hang' }));
    for (let i = 0; i < 3; i++) shop.push(await startReceiver({ host: `127.0.4.${i + 1}`, port, publicKeys: [key.publicKeyBase64] }));
    pusher.start();
    for (let i = 0; i < 8; i++) pusher.upsertPod('hostile/app', pod('hostile', `h${i}`, `127.0.3.${i + 1}`));
    for (let i = 0; i < 3; i++) pusher.upsertPod('shop/web', pod('shop', `w${i}`, `127.0.4.${i + 1}`));
    await run({ pusher, states, hung, shop });
  } finally {
    pusher.close();
    for (const r of [...hung, ...shop]) await r.close();
  }
}

const pending = (hung: SlowReceiver[]) => hung.reduce((n, r) => n + r.pending(), 0);

test('a namespace whose pods never answer holds all slots but one share; another namespace is announced meanwhile', async () => {
  await scene(undefined, async ({ pusher, states, hung, shop }) => {
    states.set('hostile/app', state('hostile/app', 1));
    pusher.stateChanged('hostile/app');
    // default share: a quarter of 4 = 1; alone, the hostile namespace borrows the idle slots but
    // one share: 3 pushes in flight
    await until('the hostile namespace holds all but one share', () => pending(hung) === 3);
    await settle();
    assert.equal(pusher.inFlightIn('hostile'), 3);
    assert.equal(pusher.stats.namespacesAtBound, 1);
    let acked = false;
    states.set('shop/web', state('shop/web', 1));
    pusher.stateChanged('shop/web', () => (acked = true));
    await until('the shop announcement is acknowledged by every pod', () => acked);
    for (const r of shop) assert.equal(r.held()?.seq, 1);
    assert.equal(pending(hung), 3, 'the hostile pushes are still in flight: they delayed nobody');
    assert.equal(hung.reduce((n, r) => n + r.arrivals.length, 0), 3, 'and the other hostile pods still wait their turn');
  });
});

test('without a per-namespace share (share = total) the same hostile namespace blocks the other one', async () => {
  await scene(4, async ({ pusher, states, hung, shop }) => {
    states.set('hostile/app', state('hostile/app', 1));
    pusher.stateChanged('hostile/app');
    await until('every slot held by the hostile namespace', () => pending(hung) === 4);
    states.set('shop/web', state('shop/web', 1));
    pusher.stateChanged('shop/web');
    await settle();
    assert.equal(pusher.inFlightIn('shop'), 0, 'no slot for the shop until a hostile push ends (its deadline)');
    assert.equal(pusher.stats.queued, 4 + 3);
    assert.ok(shop.every((r) => r.received.length === 0));
  });
});
