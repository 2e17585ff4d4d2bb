/**
 * /version/ws with real WebSocket clients against an in-process sidecar on 127.0.0.1.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { generateSigningKey } from '../../../src/core/signature.ts';
import { connect, INSTALLATION, makeState, metric, metricsText, push, signed, sleep, startTestSidecar, type Client, type TestSidecar } from './helpers.ts';

const started: TestSidecar[] = [];
const clients: Client[] = [];
async function sidecar(...args: Parameters<typeof startTestSidecar>): Promise<TestSidecar> {
  const sc = await startTestSidecar(...args);
  started.push(sc);
  return sc;
}
async function client(url: string, opts?: WebSocket.ClientOptions): Promise<Client> {
  const c = await connect(url, opts);
  clients.push(c);
  return c;
}
after(async () => {
  for (const c of clients) c.ws.terminate();
  await Promise.all(started.map((s) => s.close(500)));
});

test('hello carries the pod version and the current state (null before any push)', async () => {
  const sc = await sidecar();
  const a = await client(`${sc.wsUrl}?v=1.0.0`);
  assert.deepEqual((await a.waitFor(1))[0], { type: 'hello', podVersion: '1.0.0', state: null });
  const state = makeState();
  assert.equal((await push(sc.adminUrl, signed(state, sc.key))).status, 204);
  const b = await client(sc.wsUrl);
  assert.deepEqual((await b.waitFor(1))[0], { type: 'hello', podVersion: '1.0.0', state });
});

test('a signed newer push reaches every client exactly once; refused pushes change nothing', async () => {
  const sc = await sidecar();
  const cs = await Promise.all(Array.from({ length: 8 }, () => client(`${sc.wsUrl}?v=1.0.0`)));
  await Promise.all(cs.map((c) => c.waitFor(1)));
  const state = makeState({ epoch: 3, seq: 7 });
  const t0 = performance.now();
  assert.equal((await push(sc.adminUrl, signed(state, sc.key))).status, 204);
  await Promise.all(cs.map((c) => c.waitFor(2)));
  const ms = performance.now() - t0;
  for (const c of cs) assert.deepEqual(c.messages[1], { type: 'state', state });

  const other = generateSigningKey(); // a key this sidecar does not trust
  const stale = makeState({ epoch: 3, seq: 7, version: '9.9.9' });
  const older = makeState({ epoch: 2, seq: 100, version: '9.9.9' });
  const { sig: _unused, ...unsigned } = signed(makeState({ epoch: 4, seq: 1, version: '9.9.9' }), sc.key);
  const tampered = { ...signed(makeState({ epoch: 4, seq: 1 }), sc.key), state: makeState({ epoch: 4, seq: 1, version: '6.6.6' }) };
  const { reason: _r, ...missingField } = makeState({ epoch: 4, seq: 2 });
  const cases: Array<[string, unknown, number, string, boolean?]> = [
    ['stale (same epoch, seq)', signed(stale, sc.key), 409, 'VO_PUSH_STALE'],
    ['stale (older epoch)', signed(older, sc.key), 409, 'VO_PUSH_STALE'],
    ['unsigned', unsigned, 401, 'VO_PUSH_BAD_SIGNATURE'],
    ['empty signature', { installation: INSTALLATION, state: makeState({ epoch: 4, seq: 1 }), sig: '' }, 401, 'VO_PUSH_BAD_SIGNATURE'],
    ['no installation', { state: makeState({ epoch: 4, seq: 1 }), sig: signed(makeState({ epoch: 4, seq: 1 }), sc.key).sig }, 400, 'VO_PUSH_MALFORMED'],
    ['another installation, same key', signed(makeState({ epoch: 4, seq: 1 }), sc.key, 'other-cluster'), 403, 'VO_PUSH_WRONG_INSTALLATION'],
    ['epoch far in the future', signed(makeState({ epoch: 2 ** 53 - 1, seq: 1 }), sc.key), 400, 'VO_PUSH_FUTURE_EPOCH'],
    ['signed by an untrusted key', signed(makeState({ epoch: 4, seq: 1 }), other), 401, 'VO_PUSH_BAD_SIGNATURE'],
    ['signature of another state', tampered, 401, 'VO_PUSH_BAD_SIGNATURE'],
    ['missing required field', signed(missingField as never, sc.key), 400, 'VO_PUSH_MALFORMED'],
    ['wrong type', signed({ ...makeState({ epoch: 4, seq: 3 }), seq: '4' } as never, sc.key), 400, 'VO_PUSH_MALFORMED'],
    ['no state', { sig: 'x' }, 400, 'VO_PUSH_MALFORMED'],
    ['not JSON', '{"state":', 400, 'VO_PUSH_MALFORMED', true],
    ['another app', signed(makeState({ epoch: 4, seq: 4, app: 'shop/other' }), sc.key), 400, 'VO_PUSH_WRONG_APP'],
    ['oversized (70 KiB)', signed(makeState({ epoch: 4, seq: 5, reason: 'x'.repeat(70 * 1024) }), sc.key), 413, 'VO_PUSH_TOO_LARGE'],
  ];
  for (const [name, body, status, code, raw] of cases) {
    const r = await push(sc.adminUrl, body, raw);
    assert.equal(r.status, status, `${name}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, code, name);
    if (status === 409) assert.deepEqual(r.body.held, { epoch: state.epoch, seq: state.seq }, `${name}: a 409 names the order held`);
  }
  await sleep(100);
  for (const c of cs) assert.equal(c.messages.length, 2, 'nothing more was sent');
  const v = await (await fetch(`${sc.publicUrl}/version`)).json();
  assert.deepEqual(v.state, state);
  assert.equal(await metric(sc.adminUrl, 'version_observer_sidecar_pushes_applied_total'), 1);
  assert.equal(await metric(sc.adminUrl, 'version_observer_sidecar_pushes_rejected_total{reason="VO_PUSH_BAD_SIGNATURE"}'), 4);
  assert.equal(await metric(sc.adminUrl, 'version_observer_sidecar_pushes_rejected_total{reason="VO_PUSH_STALE"}'), 2);
  assert.equal(await metric(sc.adminUrl, 'version_observer_sidecar_messages_sent_total{type="state"}'), 8);
  assert.ok(ms < 500, `push → all 8 clients took ${ms.toFixed(1)} ms`);
});

test('a client frame over 1 KiB closes with 1009; anything but a ping closes with 1008; a ping gets a pong', async () => {
  const sc = await sidecar();
  const big = await client(sc.wsUrl);
  big.ws.send('x'.repeat(2048));
  assert.equal((await big.closed)[0], 1009);

  const chatty = await client(sc.wsUrl);
  chatty.ws.send('{"type":"subscribe"}');
  assert.deepEqual(await chatty.closed, [1008, 'VO_WS_BAD_MESSAGE']);

  const bin = await client(sc.wsUrl);
  bin.ws.send(Buffer.from('{"type":"ping"}'));
  assert.equal((await bin.closed)[0], 1008);

  const pinger = await client(sc.wsUrl);
  pinger.ws.send('{"type":"ping"}');
  pinger.ws.send('{ "type": "ping" }');
  assert.deepEqual((await pinger.waitFor(3)).slice(1), [{ type: 'pong' }, { type: 'pong' }]);
});

test('over the connection cap → HTTP 503 before the upgrade (no socket opened); a freed slot is reusable', async () => {
  const sc = await sidecar({ VERSION_OBSERVER_MAX_CONNECTIONS: '3' });
  const cs = await Promise.all([1, 2, 3].map(() => client(sc.wsUrl)));
  await Promise.all(cs.map((c) => c.waitFor(1)));
  await assert.rejects(connect(sc.wsUrl), { statusCode: 503 });
  assert.equal(await metric(sc.adminUrl, 'version_observer_sidecar_connections'), 3);
  assert.equal(await metric(sc.adminUrl, 'version_observer_sidecar_connections_refused_total{reason="VO_WS_AT_CAPACITY"}'), 1);
  cs[0]!.ws.close();
  await cs[0]!.closed;
  await sleep(50);
  const again = await client(sc.wsUrl);
  assert.equal((await again.waitFor(1))[0].type, 'hello');
});

test('Origin allowlist: another Origin → 403 before the upgrade; no Origin (not a browser) is allowed', async () => {
  const sc = await sidecar({ VERSION_OBSERVER_ALLOWED_ORIGINS: 'https://shop.example.com' });
  await assert.rejects(connect(sc.wsUrl, { origin: 'https://evil.example.com' }), { statusCode: 403 });
  const ok = await client(sc.wsUrl, { origin: 'https://shop.example.com' });
  assert.equal((await ok.waitFor(1))[0].type, 'hello');
  const tool = await client(sc.wsUrl);
  assert.equal((await tool.waitFor(1))[0].type, 'hello');
  assert.equal(await metric(sc.adminUrl, 'version_observer_sidecar_connections_refused_total{reason="VO_WS_ORIGIN_FORBIDDEN"}'), 1);
});

test('a client that never reads is dropped; the others still receive promptly', async () => {
  const sc = await sidecar({}, { sendBufferLimitBytes: 64 * 1024 });
  const healthy = await Promise.all([1, 2, 3].map(() => client(sc.wsUrl)));
  const stuck = await client(sc.wsUrl);
  await Promise.all([...healthy, stuck].map((c) => c.waitFor(1)));
  (stuck.ws as unknown as { _socket: import('node:net').Socket })._socket.pause(); // never reads again

  // ~24 KB states: the stuck client's kernel buffers fill, then its user-space buffer passes the cap.
  const serving = Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`1.0.${i}`, 1]));
  let seq = 0;
  let slowest = 0;
  for (let round = 0; round < 400 && (await metric(sc.adminUrl, 'version_observer_sidecar_slow_consumers_dropped_total')) === 0; round++) {
    const n = healthy[0]!.messages.length;
    const t0 = performance.now();
    for (let i = 0; i < 5; i++) assert.equal((await push(sc.adminUrl, signed(makeState({ seq: ++seq, serving }), sc.key))).status, 204);
    await Promise.all(healthy.map((c) => c.waitFor(n + 5)));
    slowest = Math.max(slowest, performance.now() - t0);
  }
  assert.equal(await metric(sc.adminUrl, 'version_observer_sidecar_slow_consumers_dropped_total'), 1, `no drop after ${seq} pushes`);
  assert.equal(await metric(sc.adminUrl, 'version_observer_sidecar_connections'), 3);
  // after the drop the healthy ones still get every state at once
  const n = healthy[0]!.messages.length;
  const t0 = performance.now();
  await push(sc.adminUrl, signed(makeState({ seq: ++seq, version: '2.0.0' }), sc.key));
  await Promise.all(healthy.map((c) => c.waitFor(n + 1, 1000)));
  const last = performance.now() - t0;
  for (const c of healthy) assert.equal(c.messages.length, seq + 1, 'every state, once');
  assert.ok(last < 100, `last broadcast took ${last.toFixed(1)} ms`);
  assert.ok(slowest < 1000, `5 pushes took up to ${slowest.toFixed(1)} ms while the stuck client was attached`);
  (stuck.ws as unknown as { _socket: import('node:net').Socket })._socket.resume();
  assert.equal((await stuck.closed)[0], 1006, 'terminated, not closed politely');
});

test('a peer that stops answering WebSocket pings is terminated at the next heartbeat', async () => {
  const sc = await sidecar({ VERSION_OBSERVER_HEARTBEAT_MS: '150' });
  const alive = await client(sc.wsUrl);
  const dead = await client(sc.wsUrl, { autoPong: false });
  assert.equal((await dead.closed)[0], 1006);
  assert.equal(alive.ws.readyState, WebSocket.OPEN);
  assert.equal(await metric(sc.adminUrl, 'version_observer_sidecar_dead_peers_terminated_total'), 1);
});

test('connections by client version: bounded labels, the rest as "other"', async () => {
  const sc = await sidecar({}, { clientVersionLabels: 2 });
  for (const v of ['1.0.0', '1.0.0', '1.1.0', '1.2.0', 'not-a-version', '']) await client(`${sc.wsUrl}${v ? `?v=${v}` : ''}`);
  await sleep(50);
  const text = await metricsText(sc.adminUrl);
  const by = Object.fromEntries([...text.matchAll(/connections_by_client_version\{client_version="([^"]+)"\} (\d+)/g)].map((m) => [m[1], Number(m[2])]));
  assert.deepEqual(by, { '1.0.0': 2, '1.1.0': 1, other: 2, unknown: 1 });
});

test('shutdown closes every socket with 1001 and refuses new ones', async () => {
  const sc = await startTestSidecar();
  const cs = await Promise.all([1, 2, 3].map(() => connect(sc.wsUrl)));
  const t0 = performance.now();
  await sc.close(2000);
  for (const c of cs) assert.deepEqual(await c.closed, [1001, 'VO_WS_GOING_AWAY']);
  assert.ok(performance.now() - t0 < 2000);
  await assert.rejects(connect(sc.wsUrl));
});
