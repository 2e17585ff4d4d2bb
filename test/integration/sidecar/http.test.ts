/**
 * The sidecar's HTTP surface with real sockets: GET /version (no-store, ETag/304),
 * GET /version/client.js (content-hash ETag, gzip, immutable when pinned), health and
 * readiness, and trusted keys fetched from a controller's /v1/keys with retry.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { generateSigningKey } from '../../../src/core/signature.ts';
import { buildClient, makeState, metric, push, signed, sleep, startTestSidecar, type TestSidecar } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'vo-sidecar-'));
const bundlePath = join(dir, 'version-observer.js');
const started: TestSidecar[] = [];
const servers: Server[] = [];
before(() => buildClient(bundlePath));
after(async () => {
  await Promise.all(started.map((s) => s.close(200)));
  for (const s of servers) s.close();
  rmSync(dir, { recursive: true, force: true });
});

test('GET /version: { app, podVersion, state }, Cache-Control: no-store, ETag → 304 until the state changes', async () => {
  const sc = await startTestSidecar({}, {}, { bundlePath });
  started.push(sc);
  let res = await fetch(`${sc.publicUrl}/version`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  assert.match(res.headers.get('content-type')!, /^application\/json/);
  assert.deepEqual(await res.json(), { app: 'shop/storefront', podVersion: '1.0.0', state: null });
  const etag = res.headers.get('etag')!;
  assert.match(etag, /^"[\w-]+"$/);
  res = await fetch(`${sc.publicUrl}/version`, { headers: { 'if-none-match': etag } });
  assert.equal(res.status, 304);
  assert.equal(res.headers.get('etag'), etag);

  const state = makeState();
  assert.equal((await push(sc.adminUrl, signed(state, sc.key))).status, 204);
  res = await fetch(`${sc.publicUrl}/version`, { headers: { 'if-none-match': etag } });
  assert.equal(res.status, 200);
  assert.notEqual(res.headers.get('etag'), etag);
  assert.deepEqual((await res.json()).state, state);
});

test('GET /version/client.js: the bundle, content-hash ETag, gzip, immutable when ?h= matches', async () => {
  const sc = await startTestSidecar({}, {}, { bundlePath });
  started.push(sc);
  const body = readFileSync(bundlePath);
  let res = await fetch(`${sc.publicUrl}/version/client.js`, { headers: { 'accept-encoding': 'identity' } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /^text\/javascript/);
  assert.deepEqual(Buffer.from(await res.arrayBuffer()), body);
  const etag = res.headers.get('etag')!;
  assert.match(res.headers.get('cache-control')!, /max-age=300/);
  res = await fetch(`${sc.publicUrl}/version/client.js`, { headers: { 'if-none-match': etag } });
  assert.equal(res.status, 304);
  // gzip, read raw from the socket so fetch does not decode it for us
  const raw = await new Promise<{ headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
    import('node:http').then(({ get }) => get(`${sc.publicUrl}/version/client.js`, { headers: { 'accept-encoding': 'gzip, br' } }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve({ headers: r.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject));
  });
  assert.equal(raw.headers['content-encoding'], 'gzip');
  assert.deepEqual(gunzipSync(raw.body), body);
  const hash = etag.replace(/"/g, '');
  res = await fetch(`${sc.publicUrl}/version/client.js?h=${hash}`);
  assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
});

test('client.js answers 503 with a code when the bundle was not built', async () => {
  const sc = await startTestSidecar({}, {}, { bundlePath: join(dir, 'missing.js') });
  started.push(sc);
  const res = await fetch(`${sc.publicUrl}/version/client.js`);
  assert.equal(res.status, 503);
  assert.equal((await res.json()).code, 'VO_CLIENT_BUNDLE_MISSING');
});

test('healthz, readyz (with key and state summary) and metrics on the admin port only', async () => {
  const sc = await startTestSidecar({}, {}, { bundlePath });
  started.push(sc);
  assert.equal((await fetch(`${sc.adminUrl}/healthz`)).status, 200);
  const ready = await (await fetch(`${sc.adminUrl}/readyz`)).json();
  assert.deepEqual(ready, { status: 'ok', trustedKeys: 1, connections: 0, state: null });
  assert.equal((await fetch(`${sc.publicUrl}/metrics`)).status, 404);
  assert.equal((await fetch(`${sc.publicUrl}/internal/v1/state`, { method: 'PUT' })).status, 404);
});

test('no pinned key: pushes get 401 VO_PUSH_NO_KEY until /v1/keys answers, fetched with retry', async () => {
  const key = generateSigningKey();
  let calls = 0;
  const controller = createServer((req, res) => {
    calls++;
    if (req.url !== '/v1/keys' || calls < 3) return void res.writeHead(503).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [{ kid: key.kid, alg: 'Ed25519', publicKey: key.publicKeyBase64 }] }));
  });
  servers.push(controller);
  await new Promise<void>((r) => controller.listen(0, '127.0.0.1', r));
  const port = (controller.address() as { port: number }).port;
  const sc = await startTestSidecar({ VERSION_OBSERVER_PUBLIC_KEY: undefined, VERSION_OBSERVER_CONTROLLER_URL: `http://127.0.0.1:${port}` }, {}, { bundlePath });
  started.push(sc);
  const state = makeState();
  const first = await push(sc.adminUrl, signed(state, key));
  assert.equal(first.status, 401);
  assert.equal(first.body.code, 'VO_PUSH_NO_KEY');
  assert.match(first.body.message, /\/v1\/keys/);
  const deadline = Date.now() + 8000;
  let r = first;
  while (r.status === 401 && Date.now() < deadline) {
    await sleep(100);
    r = await push(sc.adminUrl, signed(state, key));
  }
  assert.equal(r.status, 204, `after ${calls} calls to /v1/keys`);
  assert.ok(calls >= 3);
  assert.equal(await metric(sc.adminUrl, 'version_observer_sidecar_trusted_keys'), 1);
});
