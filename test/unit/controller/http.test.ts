import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { buildServer } from '../../../src/controller/http.ts';
import { createMetrics } from '../../../src/controller/metrics.ts';
import type { AppState } from '../../../src/core/app-state.ts';

const s: AppState = { app: 'ns/shop', phase: 'converged', version: '1.1.0', previousVersion: '1.0.0', change: 'minor', serving: { '1.1.0': 3 }, reason: null, epoch: 7, seq: 42, since: '2026-01-01T00:00:00.000Z', policy: 'patch' };
// The response serializer drops what its schema does not name: the optional field must come through.
const withRv: AppState = { ...s, app: 'ns/cart', resourceVersion: '48213' };

test('routes answer per their schemas', async () => {
  const metrics = createMetrics({ defaultMetrics: false });
  metrics.leader.set(1);
  let notReady: string | null = 'informer caches not synced';
  const app = await buildServer({
    logger: Fastify({ logger: { level: 'silent' } }).log,
    apps: () => [s, withRv],
    app: (k) => (k === 'ns/shop' ? s : k === 'ns/cart' ? withRv : undefined),
    keys: () => ({ installation: 'inst-1', keys: [{ kid: 'abc', alg: 'Ed25519', publicKey: 'AAAA', role: 'signing', pods: 2, retired: false }] }),
    notReady: () => notReady,
    registry: metrics.registry,
  });
  try {
    assert.deepEqual((await app.inject('/v1/apps')).json(), { apps: [s, withRv] });
    assert.deepEqual((await app.inject('/v1/apps/ns/shop')).json(), s);
    assert.equal((await app.inject('/v1/apps/ns/cart')).json().resourceVersion, '48213');
    const missing = await app.inject('/v1/apps/ns/nope');
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().code, 'VO_APP_NOT_FOUND');
    assert.equal((await app.inject('/v1/apps/BAD_NS/x')).json().code, 'VO_BAD_REQUEST');
    assert.deepEqual((await app.inject('/v1/keys')).json(), { installation: 'inst-1', keys: [{ kid: 'abc', alg: 'Ed25519', publicKey: 'AAAA', role: 'signing', pods: 2, retired: false }] });
    assert.equal((await app.inject('/healthz')).statusCode, 200);
    const r1 = await app.inject('/readyz');
    assert.equal(r1.statusCode, 503);
    assert.match(r1.json().message, /not synced/);
    notReady = null;
    assert.equal((await app.inject('/readyz')).statusCode, 200);
    const m = await app.inject('/metrics');
    assert.match(m.body, /^version_observer_leader 1$/m);
    for (const line of m.body.split('\n').filter((l) => l && !l.startsWith('#'))) assert.match(line, /^version_observer_/);
    assert.equal((await app.inject('/nope')).json().code, 'VO_NOT_FOUND');
  } finally {
    await app.close();
  }
});
