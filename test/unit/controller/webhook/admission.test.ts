/**
 * The webhook's review handling: real certificates (issued, chained, SANs), and AdmissionReviews
 * answered by admission.ts (allowed always; patch for opted-in pods; excluded namespaces;
 * warnings; counters) — and one real HTTPS round trip through buildWebhookServer, verifying the
 * server's certificate against the CA.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { request } from 'node:https';
import { test } from 'node:test';
import { answer, type AdmissionReview } from '../../../../src/controller/webhook/admission.ts';
import { issueCa, issuedBy, issueServing, serviceDnsNames } from '../../../../src/controller/webhook/certificates.ts';
import { buildWebhookServer, MUTATE_PATH } from '../../../../src/controller/webhook/server.ts';
import { createMetrics } from '../../../../src/controller/metrics.ts';
import { APP_LABEL } from '../../../../src/core/labels.ts';
import { createLogger } from '../../../../src/platform/logger.ts';

const settings = () => ({ image: 'img:1', publicKeys: ['k'], installation: 'i' });
const review = (namespace: string, labels: Record<string, string>): AdmissionReview => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: { uid: 'u-1', kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE', namespace, object: { metadata: { labels }, spec: { containers: [{ name: 'app' }] } } },
});

test('certificates: the serving certificate chains to the CA and names the Service', () => {
  const now = Date.now();
  const ca = issueCa(now, 3_600_000);
  const serving = issueServing(ca, serviceDnsNames('vo-webhook', 'vo'), now, 600_000);
  assert.ok(issuedBy(serving.certPem, ca.certPem));
  const x = new X509Certificate(serving.certPem);
  assert.ok(x.checkHost('vo-webhook.vo.svc'));
  assert.ok(Date.parse(x.validTo) <= now + 600_000 + 1000);
  assert.ok(!issuedBy(serving.certPem, issueCa(now, 3_600_000).certPem), 'another CA did not sign it');
});

test('answer: allowed always; patch only for opted-in pods outside excluded namespaces; counted', async () => {
  const metrics = createMetrics({ defaultMetrics: false });
  const deps = { settings, excludedNamespaces: new Set(['vo', 'kube-system']), metrics };
  const injected = answer(review('shop', { [APP_LABEL]: 'shop', 'app.kubernetes.io/version': 'latest' }), deps);
  assert.equal(injected.response.uid, 'u-1');
  assert.equal(injected.response.allowed, true);
  assert.equal(injected.response.patchType, 'JSONPatch');
  const patch = JSON.parse(Buffer.from(injected.response.patch!, 'base64').toString()) as Array<{ path: string }>;
  assert.equal(patch[0]!.path, '/spec/initContainers');
  assert.match(injected.response.warnings![0]!, /"latest" is not a semantic version/);
  const excluded = answer(review('vo', { [APP_LABEL]: 'x' }), deps);
  assert.deepEqual(excluded.response, { uid: 'u-1', allowed: true });
  const text = await metrics.registry.metrics();
  assert.match(text, /version_observer_webhook_admissions_total\{outcome="injected"\} 1/);
  assert.match(text, /version_observer_webhook_admissions_total\{outcome="excluded_namespace"\} 1/);
  assert.match(text, /version_observer_webhook_version_label_problems_total 1/);
});

test('HTTPS round trip: the server answers a review with the certificate the CA vouches for', async () => {
  const now = Date.now();
  const ca = issueCa(now, 3_600_000);
  const serving = issueServing(ca, serviceDnsNames('hook', 'ns'), now, 600_000);
  const metrics = createMetrics({ defaultMetrics: false });
  const server = await buildWebhookServer({ logger: createLogger({ level: 'silent' }), certPem: serving.certPem, keyPem: serving.keyPem, metrics, settings, excludedNamespaces: new Set() });
  await server.listen({ host: '127.0.0.1', port: 0 });
  try {
    const { port } = server.server.address() as { port: number };
    const post = (body: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: MUTATE_PATH, method: 'POST', agent: false, ca: ca.certPem, servername: 'hook.ns.svc', headers: { 'content-type': 'application/json' } }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode!, body: text }));
        });
        req.on('error', reject);
        req.end(body);
      });
    const ok = await post(JSON.stringify(review('shop', { [APP_LABEL]: 'shop', 'app.kubernetes.io/version': '1.0.0' })));
    assert.equal(ok.status, 200);
    const out = JSON.parse(ok.body) as { response: { allowed: boolean; patch?: string; warnings?: string[] } };
    assert.equal(out.response.allowed, true);
    assert.ok(out.response.patch);
    assert.equal(out.response.warnings, undefined);
    assert.equal((await post('{"kind":"Nope"}')).status, 400);
    // a new certificate is served without a restart
    const ca2 = issueCa(now, 3_600_000);
    const next = issueServing(ca2, serviceDnsNames('hook', 'ns'), now, 600_000);
    server.setCertificate(next.certPem, next.keyPem);
    await assert.rejects(post('{}'), /certificate/);
  } finally {
    await server.close();
  }
});
