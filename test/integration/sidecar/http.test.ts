/**
 * The sidecar's HTTP surface with real sockets: GET /version (no-store, ETag/304),
 * GET /version/client.js (content-hash ETag, gzip, immutable when pinned), health and
 * readiness, and trust that is only pinned: a key server at the old CONTROLLER_URL is never asked.
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

test('no trust on first use: a key served at the old CONTROLLER_URL is never fetched nor trusted', async () => {
  const attacker = generateSigningKey();
  let calls = 0;
  const keyServer = createServer((_req, res) => {
    calls++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [{ kid: attacker.kid, alg: 'Ed25519', publicKey: attacker.publicKeyBase64 }] }));
  });
  servers.push(keyServer);
  await new Promise<void>((r) => keyServer.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(keyServer.address() as { port: number }).port}`;
  // pinned: the attacker's signature is refused, the pinned key's accepted
  const pinned = await startTestSidecar({ VERSION_OBSERVER_CONTROLLER_URL: url }, {}, { bundlePath });
  started.push(pinned);
  const forged = await push(pinned.adminUrl, signed(makeState({ epoch: 9, seq: 1 }), attacker));
  assert.equal(forged.status, 401);
  assert.equal(forged.body.code, 'VO_PUSH_BAD_SIGNATURE');
  assert.equal((await push(pinned.adminUrl, signed(makeState(), pinned.key))).status, 204);
  // nothing pinned: still serving, every push refused, nothing fetched
  const bare = await startTestSidecar({ VERSION_OBSERVER_PUBLIC_KEY: undefined, VERSION_OBSERVER_CONTROLLER_URL: url }, {}, { bundlePath });
  started.push(bare);
  const refused = await push(bare.adminUrl, signed(makeState(), attacker));
  assert.equal(refused.status, 401);
  assert.equal(refused.body.code, 'VO_PUSH_NO_KEY');
  assert.match(refused.body.message, /VERSION_OBSERVER_PUBLIC_KEY not set/);
  assert.equal((await (await fetch(`${bare.publicUrl}/version`)).json()).state, null);
  await sleep(300);
  assert.equal(calls, 0, 'the sidecar never calls the key server');
  assert.equal(await metric(bare.adminUrl, 'version_observer_sidecar_trusted_keys'), 0);
});
