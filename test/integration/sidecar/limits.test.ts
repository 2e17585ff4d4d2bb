/**
 * The sidecar's limits against the real process (`node dist/cli/main.js sidecar`, run
 * `node scripts/build.ts` first) with real sockets: the send-buffer limit on every send (a ping
 * flood ends with the socket dropped holding at most the limit plus one frame, as the sidecar
 * reports), the message rate limit, refusals before the upgrade (total cap, per-IP cap, Origin),
 * header/request timeouts on both ports, the admin port's connection cap, and hundreds of
 * half-open connections next to a normal client. Each check waits for a positive
 * fact (a status line, a close, a metric) with a bound derived from the configured values.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tcpConnect, type Socket } from 'node:net';
import WebSocket from 'ws';
import { connect, makeState, metric, push, signed, startSidecarProcess, type Client, type SidecarProcess } from './helpers.ts';
import { connectionsCheckingIntervalMs } from '../../../src/sidecar/http-limits.ts';
import { waitFor } from '../../support/wait.ts';

const processes: SidecarProcess[] = [];
const sockets: Socket[] = [];
const clients: Client[] = [];
after(async () => {
  for (const s of sockets) s.destroy();
  for (const c of clients) c.ws.terminate();
  await Promise.all(processes.map((p) => p.stop()));
});

async function sidecar(env: Record<string, string> = {}): Promise<SidecarProcess> {
  const p = await startSidecarProcess(env);
  processes.push(p);
  return p;
}
async function client(url: string, opts?: WebSocket.ClientOptions): Promise<Client> {
  const c = await connect(url, opts);
  clients.push(c);
  return c;
}

const MiB = 1024 * 1024;
const hostPort = (url: string) => new URL(url).host;

/** A raw TCP connection to `url`'s host and port, optionally from `localAddress`; resolves once connected. */
function rawSocket(url: string, localAddress?: string): Promise<Socket & { received: () => string; closedAt: Promise<number> }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = tcpConnect({ host: u.hostname, port: Number(u.port), localAddress });
    sockets.push(s);
    let text = '';
    s.setEncoding('latin1').on('data', (d: string) => (text += d));
    const closedAt = new Promise<number>((r) => s.once('close', () => r(performance.now())));
    s.on('error', () => {});
    s.once('connect', () => resolve(Object.assign(s, { received: () => text, closedAt })));
    s.once('error', reject);
  });
}

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  raw: string;
}
/**
 * Sends a WebSocket handshake by hand and reads the answer as the server wrote it. An upgraded
 * socket is closed at once unless `keepOpen` (then it stays until the file's `after`).
 */
async function rawHandshake(url: string, headers: Record<string, string> = {}, localAddress?: string, path = '/version/ws', keepOpen = false): Promise<RawAnswer> {
  const s = await rawSocket(url, localAddress);
  const lines = [
    `GET ${path} HTTP/1.1`, `Host: ${hostPort(url)}`, 'Upgrade: websocket', 'Connection: Upgrade',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  s.write(`${lines.join('\r\n')}\r\n\r\n`);
  const deadline = performance.now() + 5000;
  for (;;) {
    const raw = s.received();
    const end = raw.indexOf('\r\n\r\n');
    if (end !== -1) {
      const [statusLine, ...rest] = raw.slice(0, end).split('\r\n');
      const h = Object.fromEntries(rest.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      const status = Number(statusLine!.split(' ')[1]);
      const body = raw.slice(end + 4);
      if (status === 101 || body.length >= Number(h['content-length'] ?? 0)) {
        if (!(keepOpen && status === 101)) s.destroy();
        return { status, headers: h, body, raw };
      }
    }
    if (performance.now() > deadline) throw new Error(`no complete answer within 5 s: ${JSON.stringify(raw)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Floods `flooder` with `send()` while never reading its answers, until the server terminates it
 * or `max` sends. `sent` counts sends handed to the kernel, not queued in this client: sending
 * waits while more than CLIENT_QUEUE bytes are queued here, so the server has read all but the
 * sockets' buffers (a few MiB) of them. (Counting queued sends let the loop end before the server
 * had read enough to fill the answers' path, and a test then waited for a close that never came.)
 * The last sends still in flight may be what crosses the limit, so a flood that reached `max`
 * waits for them, bounded; so does a flood the server stopped reading. The socket reads again before this returns.
 */
async function floodUntilTerminated(flooder: Client, max: number, send: () => void, afterBatch: (sent: number) => void = () => {}): Promise<{ sent: number; terminated: boolean }> {
  const CLIENT_QUEUE = 256 * 1024;
  const BATCH = 1000;
  const WAIT_MS = 10_000; // for the server to read on (a stall) or to close after the last sends
  const raw = (flooder.ws as unknown as { _socket: Socket })._socket;
  raw.pause(); // never reads: every answer stays with the server
  let terminated = false;
  void flooder.closed.then(() => (terminated = true));
  let sent = 0;
  let progressAt = performance.now();
  while (!terminated && sent < max) {
    if (flooder.ws.bufferedAmount > CLIENT_QUEUE) {
      if (performance.now() - progressAt > WAIT_MS) break; // the server stopped reading without closing: fail, do not hang
      await new Promise((r) => setTimeout(r, 1));
      continue;
    }
    for (let i = 0; i < BATCH; i++) send();
    sent += BATCH;
    progressAt = performance.now();
    afterBatch(sent);
    await new Promise((r) => setImmediate(r));
  }
  if (!terminated) await Promise.race([flooder.closed, new Promise((r) => setTimeout(r, WAIT_MS))]);
  raw.resume();
  return { sent, terminated };
}

/** Bytes of an unmasked server frame carrying `payload` bytes (≤ 125: a 2-byte header). */
const serverFrameBytes = (payload: number) => {
  assert.ok(payload <= 125, 'a short frame');
  return 2 + payload;
};

/**
 * The one slow-consumer line a flood produced: the sidecar reports the unsent bytes it held for
 * the socket when it dropped it. Every write is checked first, so that is over the limit by at
 * most the one frame that crossed it; an unchecked write (or a check against anything else) shows.
 */
async function assertDroppedWithinOneFrame(sc: SidecarProcess, limit: number, frameBytes: number): Promise<void> {
  // The drop closes the socket before the line is written: the client may see the close first.
  await waitFor('the VO_WS_SLOW_CONSUMER log line', () => sc.logs.some((l) => l.code === 'VO_WS_SLOW_CONSUMER'), 10_000, 20);
  const logged = sc.logs.filter((l) => l.code === 'VO_WS_SLOW_CONSUMER');
  assert.equal(logged.length, 1, 'logged once');
  assert.deepEqual(logged[0]!.peers, ['127.0.0.1'], 'with its peer address');
  const buffered = logged[0]!.bufferedBytes as number;
  assert.ok(buffered > limit && buffered <= limit + frameBytes, `dropped holding ${buffered} unsent bytes: want (${limit}, ${limit + frameBytes}], the limit plus at most one ${frameBytes}-byte frame`);
}

test('a client that floods pings and never reads is terminated holding at most the limit plus one pong; a normal client still gets its hello', async () => {
  const limit = 64 * 1024;
  // A rate limit this high leaves the send-buffer limit as the only guard under test.
  const sc = await sidecar({ VERSION_OBSERVER_SEND_BUFFER_LIMIT_BYTES: String(limit), VERSION_OBSERVER_MESSAGE_BURST: '1000000000', VERSION_OBSERVER_MESSAGES_PER_MINUTE: '1000000000' });
  const bystander = await client(sc.wsUrl);
  await bystander.waitFor(1);
  const rssBefore = sc.rssBytes();

  const flooder = await client(sc.wsUrl);
  await flooder.waitFor(1);
  // An unguarded server keeps every unanswered pong and never terminates: the loop runs to 2M.
  let rssPeak = rssBefore;
  const { sent, terminated } = await floodUntilTerminated(flooder, 2_000_000, () => flooder.ws.send('{"type":"ping"}'), (n) => {
    if (n % 50_000 === 0) rssPeak = Math.max(rssPeak, sc.rssBytes());
  });
  assert.ok(terminated, `still open after ${sent} pings`);
  const [code] = await flooder.closed;
  assert.equal(code, 1006, 'terminated (no close frame could reach it)');
  rssPeak = Math.max(rssPeak, sc.rssBytes());

  // What the guard bounds is the bytes queued for the socket, and the sidecar reports them. RSS
  // also moves with V8's heap while it decodes the flood, which GC timing decides: printed only.
  await assertDroppedWithinOneFrame(sc, limit, serverFrameBytes(Buffer.byteLength('{"type":"pong"}')));
  assert.equal(await metric(sc.adminUrl, 'version_observer_sidecar_slow_consumers_dropped_total'), 1);

  const fresh = await client(sc.wsUrl);
  assert.equal((await fresh.waitFor(1))[0].type, 'hello');
  bystander.ws.send('{"type":"ping"}');
  assert.deepEqual((await bystander.waitFor(2))[1], { type: 'pong' }, 'the bystander is still served');
  console.log(`# ping flood: ${sent} pings, RSS ${(rssBefore / MiB).toFixed(1)} → peak ${(rssPeak / MiB).toFixed(1)} MiB`);
});

test('WebSocket-level ping frames: their pongs honour the send-buffer limit, and they spend the message budget', async () => {
  const limit = 64 * 1024;
  const sc = await sidecar({ VERSION_OBSERVER_SEND_BUFFER_LIMIT_BYTES: String(limit), VERSION_OBSERVER_MESSAGE_BURST: '1000000000', VERSION_OBSERVER_MESSAGES_PER_MINUTE: '1000000000' });
  const flooder = await client(sc.wsUrl);
  await flooder.waitFor(1);
  const payload = Buffer.alloc(125); // the largest control frame: each pong echoes it
  const { sent, terminated } = await floodUntilTerminated(flooder, 1_000_000, () => flooder.ws.ping(payload));
  assert.ok(terminated, `still open after ${sent} ping frames`);
  assert.equal((await flooder.closed)[0], 1006, `terminated after ${sent} ping frames`);
  await assertDroppedWithinOneFrame(sc, limit, serverFrameBytes(payload.length));
  assert.equal(await metric(sc.adminUrl, 'version_observer_sidecar_slow_consumers_dropped_total'), 1);

  const limited = await sidecar({ VERSION_OBSERVER_MESSAGE_BURST: '3', VERSION_OBSERVER_MESSAGES_PER_MINUTE: '60' });
  const pinger = await client(limited.wsUrl);
  await pinger.waitFor(1);
  let pongs = 0;
  pinger.ws.on('pong', () => pongs++);
  for (let i = 0; i < 5; i++) pinger.ws.ping();
  assert.deepEqual(await pinger.closed, [1008, 'VO_WS_RATE_LIMITED']);
  assert.equal(pongs, 3, 'the burst was answered with pong frames');
});

test('message rate: a burst beyond the bucket closes 1008 VO_WS_RATE_LIMITED; a frame over 1 KiB still closes 1009', async () => {
  // Short HTTP idle and keep-alive timeouts: the upgraded socket must outlive them (ws clears the socket timeout).
  const sc = await sidecar({ VERSION_OBSERVER_MESSAGE_BURST: '5', VERSION_OBSERVER_MESSAGES_PER_MINUTE: '60', VERSION_OBSERVER_IDLE_TIMEOUT_MS: '300ms', VERSION_OBSERVER_KEEP_ALIVE_TIMEOUT_MS: '300ms' });
  const chatty = await client(sc.wsUrl);
  await chatty.waitFor(1);
  for (let i = 0; i < 8; i++) chatty.ws.send('{"type":"ping"}');
  assert.deepEqual(await chatty.closed, [1008, 'VO_WS_RATE_LIMITED']);
  assert.equal(chatty.messages.filter((m) => m.type === 'pong').length, 5, 'the burst was answered');
  assert.equal(await metric(sc.adminUrl, 'version_observer_sidecar_connections_closed_total{reason="VO_WS_RATE_LIMITED"}'), 1);

  const calm = await client(sc.wsUrl);
  await calm.waitFor(1);
  for (let i = 0; i < 5; i++) calm.ws.send('{"type":"ping"}');
  await calm.waitFor(6);
  await new Promise((r) => setTimeout(r, 1100)); // one token back at 60/min
  calm.ws.send('{"type":"ping"}');
  assert.deepEqual((await calm.waitFor(7))[6], { type: 'pong' }, 'the sustained rate is honoured, on a socket idle longer than the HTTP idle timeout');

  const big = await client(sc.wsUrl);
  big.ws.send('x'.repeat(2048));
  assert.equal((await big.closed)[0], 1009);
  assert.equal(await metric(sc.adminUrl, 'version_observer_sidecar_connections_closed_total{reason="VO_WS_FRAME_TOO_LARGE"}'), 1);
});

test('over the connection cap: HTTP 503 with a jittered Retry-After and a VO body, before any upgrade', async () => {
  const sc = await sidecar({ VERSION_OBSERVER_MAX_CONNECTIONS: '3', VERSION_OBSERVER_RETRY_AFTER_MS: '5s' });
  const held = await Promise.all([1, 2, 3].map(() => client(sc.wsUrl)));
  await Promise.all(held.map((c) => c.waitFor(1)));
  const answers: RawAnswer[] = [];
  for (let i = 0; i < 20; i++) answers.push(await rawHandshake(sc.wsUrl));
  for (const a of answers) {
    assert.equal(a.status, 503, a.raw);
    assert.ok(!a.raw.includes(' 101 '), 'no Switching Protocols');
    assert.deepEqual(JSON.parse(a.body).code, 'VO_WS_AT_CAPACITY');
    const seconds = Number(a.headers['retry-after']);
    assert.ok(Number.isInteger(seconds) && seconds >= 5 && seconds <= 10, `Retry-After ${a.headers['retry-after']}`);
  }
  for (const path of ['/version', '/version/client.js', '/elsewhere']) {
    const elsewhere = await rawHandshake(sc.wsUrl, {}, undefined, path);
    assert.equal(elsewhere.status, 404, `${path}: ${elsewhere.raw}`);
    assert.equal(JSON.parse(elsewhere.body).code, 'VO_WS_WRONG_PATH', 'no other route upgrades (and so skips admission)');
  }
  const distinct = new Set(answers.map((a) => a.headers['retry-after']));
  assert.ok(distinct.size >= 2, `Retry-After is jittered (saw ${[...distinct].join(', ')})`);
  assert.equal(await metric(sc.adminUrl, 'version_observer_sidecar_connections'), 3);
  assert.equal(await metric(sc.adminUrl, 'version_observer_sidecar_connections_refused_total{reason="VO_WS_AT_CAPACITY"}'), 20);
  held[0]!.ws.close();
  await held[0]!.closed;
  const deadline = performance.now() + 2000;
  let answer = await rawHandshake(sc.wsUrl);
  while (answer.status !== 101 && performance.now() < deadline) answer = await rawHandshake(sc.wsUrl);
  assert.equal(answer.status, 101, 'a freed slot is upgraded again');
});

test('a burst of handshakes at the cap: exactly the free slots are upgraded, the rest get 503, none is upgraded and closed', async () => {
  const sc = await sidecar({ VERSION_OBSERVER_MAX_CONNECTIONS: '5' });
  const answers = await Promise.all(Array.from({ length: 60 }, () => rawHandshake(sc.wsUrl, {}, undefined, '/version/ws', true)));
  const byStatus = answers.reduce<Record<number, number>>((n, a) => ({ ...n, [a.status]: (n[a.status] ?? 0) + 1 }), {});
  assert.deepEqual(byStatus, { 101: 5, 503: 55 });
  assert.equal(await metric(sc.adminUrl, 'version_observer_sidecar_connections_refused_total{reason="VO_WS_AT_CAPACITY"}'), 55, 'all refused before the upgrade; the 1013 backstop never ran');
});

test('per-IP cap: 429 before the upgrade per source address; other addresses are still admitted', async () => {
  const sc = await sidecar({ VERSION_OBSERVER_MAX_CONNECTIONS_PER_IP: '2' });
  const from = (localAddress: string) => client(sc.wsUrl, { localAddress });
  const a = [await from('127.0.0.2'), await from('127.0.0.2')];
  await assert.rejects(from('127.0.0.2'), { statusCode: 429 });
  const third = await rawHandshake(sc.wsUrl, {}, '127.0.0.2');
  assert.equal(third.status, 429);
  assert.equal(JSON.parse(third.body).code, 'VO_WS_IP_AT_CAPACITY');
  assert.ok(Number(third.headers['retry-after']) >= 5);
  const b = [await from('127.0.0.3'), await from('127.0.0.3')];
  for (const c of [...a, ...b]) assert.equal((await c.waitFor(1))[0].type, 'hello');
  // a forwarded header from an untrusted peer changes nothing
  assert.equal((await rawHandshake(sc.wsUrl, { 'X-Forwarded-For': '203.0.113.9' }, '127.0.0.2')).status, 429);
  a[0]!.ws.close();
  await a[0]!.closed;
  const deadline = performance.now() + 2000;
  let again = await rawHandshake(sc.wsUrl, {}, '127.0.0.2');
  while (again.status !== 101 && performance.now() < deadline) again = await rawHandshake(sc.wsUrl, {}, '127.0.0.2');
  assert.equal(again.status, 101, 'a freed per-address slot is reusable');
  assert.equal(await metric(sc.adminUrl, 'version_observer_sidecar_connections_refused_total{reason="VO_WS_IP_AT_CAPACITY"}'), 3);
});

test('per-IP cap behind a trusted proxy: the forwarded client address is counted', async () => {
  const sc = await sidecar({ VERSION_OBSERVER_MAX_CONNECTIONS_PER_IP: '1', VERSION_OBSERVER_TRUSTED_PROXIES: '127.0.0.0/8' });
  const one = await client(sc.wsUrl, { headers: { 'X-Forwarded-For': '203.0.113.1' } });
  const two = await client(sc.wsUrl, { headers: { 'X-Forwarded-For': '203.0.113.2' } });
  for (const c of [one, two]) assert.equal((await c.waitFor(1))[0].type, 'hello', 'two browsers behind one proxy');
  const again = await rawHandshake(sc.wsUrl, { 'X-Forwarded-For': '6.6.6.6, 203.0.113.1' });
  assert.equal(again.status, 429, 'the rightmost untrusted entry counts; a spoofed left entry does not help');
});

test('Origin: cross-origin refused by default (403 before the upgrade); same origin and no Origin allowed; a list or * widens', async () => {
  const dflt = await sidecar();
  const same = `http://${hostPort(dflt.publicUrl)}`;
  const refused = await rawHandshake(dflt.wsUrl, { Origin: 'https://evil.example' });
  assert.equal(refused.status, 403, refused.raw);
  assert.equal(JSON.parse(refused.body).code, 'VO_WS_ORIGIN_FORBIDDEN');
  await assert.rejects(connect(dflt.wsUrl, { origin: 'https://shop.example.com' }), { statusCode: 403 });
  assert.equal((await (await client(dflt.wsUrl, { origin: same })).waitFor(1))[0].type, 'hello', 'same origin');
  assert.equal((await (await client(dflt.wsUrl)).waitFor(1))[0].type, 'hello', 'no Origin: not a browser');
  assert.equal(await metric(dflt.adminUrl, 'version_observer_sidecar_connections_refused_total{reason="VO_WS_ORIGIN_FORBIDDEN"}'), 2);
  assert.ok(dflt.logs.some((l) => l.code === 'VO_WS_ORIGIN_FORBIDDEN' && l.peer === '127.0.0.1'), 'logged with the peer');

  const listed = await sidecar({ VERSION_OBSERVER_ALLOWED_ORIGINS: 'https://shop.example.com' });
  assert.equal((await (await client(listed.wsUrl, { origin: 'https://shop.example.com' })).waitFor(1))[0].type, 'hello');
  assert.equal((await rawHandshake(listed.wsUrl, { Origin: 'https://evil.example' })).status, 403);

  const any = await sidecar({ VERSION_OBSERVER_ALLOWED_ORIGINS: '*' });
  assert.equal((await (await client(any.wsUrl, { origin: 'https://evil.example' })).waitFor(1))[0].type, 'hello');
});

/**
 * Writes `chunk` every `everyMs` until the server closes the socket (resolves with the close
 * time) or `giveUpMs` passed (resolves with +Infinity, so the caller's bound fails at once).
 */
async function trickle(s: Socket & { closedAt: Promise<number> }, chunk: string, everyMs: number, giveUpMs: number): Promise<number> {
  let open = true;
  void s.closedAt.then(() => (open = false));
  const giveUpAt = performance.now() + giveUpMs;
  while (open) {
    if (performance.now() > giveUpAt) return Number.POSITIVE_INFINITY;
    s.write(chunk);
    await Promise.race([new Promise((r) => setTimeout(r, everyMs)), s.closedAt]);
  }
  return s.closedAt;
}

test('slow headers and slow bodies are closed by the server on both ports, within the timeout and a margin', async () => {
  const headersTimeoutMs = 1000;
  const requestTimeoutMs = 2000;
  const sc = await sidecar({ VERSION_OBSERVER_HEADERS_TIMEOUT_MS: `${headersTimeoutMs}ms`, VERSION_OBSERVER_REQUEST_TIMEOUT_MS: `${requestTimeoutMs}ms` });
  // Node looks for expired requests every checking interval; the rest is scheduling slack.
  const margin = connectionsCheckingIntervalMs({ headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs: 5000, idleTimeoutMs: 30_000 }) + 750;
  const cases: Array<[string, string, string, number]> = [
    ['public slow headers', sc.publicUrl, 'GET /version HTTP/1.1\r\nHost: x\r\n', headersTimeoutMs],
    ['admin slow headers', sc.adminUrl, 'GET /healthz HTTP/1.1\r\nHost: x\r\n', headersTimeoutMs],
    ['public slow body', sc.publicUrl, 'PUT /version HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n', requestTimeoutMs],
    ['admin slow body', sc.adminUrl, 'PUT /internal/v1/state HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n', requestTimeoutMs],
  ];
  await Promise.all(cases.map(async ([name, url, head, timeoutMs]) => {
    const s = await rawSocket(url);
    const t0 = performance.now();
    s.write(head);
    const closedAt = await trickle(s, name.endsWith('headers') ? 'X' : ' ', 100, timeoutMs + 10_000); // a header-name / body byte at a time
    const ms = closedAt - t0;
    assert.ok(ms >= timeoutMs - 50 && ms <= timeoutMs + margin, `${name}: closed after ${ms.toFixed(0)} ms (timeout ${timeoutMs} + margin ${margin})`);
    if (name.endsWith('headers')) {
      assert.match(s.received(), /^HTTP\/1\.1 408 /, `${name}: ${s.received()}`);
      assert.match(s.received(), /"code":"VO_HTTP_TIMEOUT"/);
    }
  }));
  assert.ok(await metric(sc.adminUrl, 'version_observer_sidecar_http_connections_dropped_total{server="public",reason="VO_HTTP_TIMEOUT"}') >= 2);
  assert.ok(await metric(sc.adminUrl, 'version_observer_sidecar_http_connections_dropped_total{server="admin",reason="VO_HTTP_TIMEOUT"}') >= 2);
});

test('300 half-open connections do not stop /version; the server reaps them; the admin port has its own cap', async () => {
  const headersTimeoutMs = 2000;
  const sc = await sidecar({ VERSION_OBSERVER_HEADERS_TIMEOUT_MS: `${headersTimeoutMs}ms`, VERSION_OBSERVER_ADMIN_MAX_CONNECTIONS: '8' });
  const t0 = performance.now();
  const half = await Promise.all(Array.from({ length: 300 }, async (_, i) => {
    const s = await rawSocket(sc.publicUrl);
    if (i % 2) s.write('GET /version HTTP/1.1\r\nHost: x\r\n'); // half send a partial request, half nothing at all
    return s;
  }));
  const t1 = performance.now();
  const res = await fetch(`${sc.publicUrl}/version`);
  assert.equal(res.status, 200);
  assert.equal((await res.json()).app, 'shop/storefront');
  assert.ok(performance.now() - t1 < 1000, `/version answered in ${(performance.now() - t1).toFixed(0)} ms next to 300 half-open sockets`);
  const ws = await client(sc.wsUrl);
  assert.equal((await ws.waitFor(1))[0].type, 'hello');

  // The admin port: 8 idle sockets fill it; the 9th is dropped at once, the public port is unaffected.
  const adminIdle = await Promise.all(Array.from({ length: 8 }, () => rawSocket(sc.adminUrl)));
  const ninth = await rawSocket(sc.adminUrl);
  const dropped = await Promise.race([ninth.closedAt.then(() => true), new Promise((r) => setTimeout(() => r(false), 1000))]);
  assert.ok(dropped, 'the connection over the admin cap is closed by the server');
  assert.equal(ninth.received(), '', 'dropped without an answer');
  assert.equal((await fetch(`${sc.publicUrl}/version`)).status, 200);

  const giveUp = new Promise<number>((r) => setTimeout(() => r(Number.POSITIVE_INFINITY), headersTimeoutMs + 15_000));
  const closed = await Promise.all([...half, ...adminIdle].map((s) => Promise.race([s.closedAt, giveUp])));
  const last = Math.max(...closed) - t0;
  const margin = connectionsCheckingIntervalMs({ headersTimeoutMs, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5000, idleTimeoutMs: 30_000 }) + 1500;
  assert.ok(last <= headersTimeoutMs + margin, `the server closed all 308 within ${last.toFixed(0)} ms (timeout ${headersTimeoutMs} + margin ${margin})`);
  assert.equal(await metric(sc.adminUrl, 'version_observer_sidecar_http_connections_dropped_total{server="public",reason="VO_HTTP_TIMEOUT"}'), 300);
  assert.ok(await metric(sc.adminUrl, 'version_observer_sidecar_http_connections_dropped_total{server="admin",reason="VO_ADMIN_AT_CAPACITY"}') >= 1);
  const health = await fetch(`${sc.adminUrl}/healthz`);
  assert.equal(health.status, 200, 'the admin port serves again once the idle sockets are reaped');
  assert.equal(ws.ws.readyState, WebSocket.OPEN, 'an upgraded socket is not subject to the HTTP timeouts');
  // A state push still reaches the open socket.
  assert.equal((await push(sc.adminUrl, signed(makeState(), sc.key))).status, 204);
  assert.equal((await ws.waitFor(2))[1].type, 'state');
});
