/** The controller's key trust: per-pod key choice, signing once per (state, key), retirement, the pod spec reader, the key Secret reader. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AppState } from '../../../src/core/app-state.ts';
import { checkPush } from '../../../src/core/push-envelope.ts';
import { generateSigningKey, privateKeyToPem } from '../../../src/core/signature.ts';
import { keySetOf } from '../../../src/controller/keys.ts';
import { slimPod } from '../../../src/controller/slim.ts';
import { Trust } from '../../../src/controller/trust.ts';

const signing = generateSigningKey();
const next = generateSigningKey();
const state: AppState = { app: 'ns/web', phase: 'converged', version: '1.0.0', previousVersion: null, change: 'none', serving: { '1.0.0': 1 }, reason: null, epoch: 5, seq: 1, since: '2026-01-01T00:00:00.000Z' };
const pod = (name: string, trustedKeys?: string) => ({ namespace: 'ns', name, ...(trustedKeys !== undefined && { trustedKeys }) });
const signer = (body: string, keys = [signing, next]): number => {
  const v = checkPush(JSON.parse(body), { keys: keys.map((k) => k.publicKey), installation: 'inst', app: null, held: null });
  assert.ok(v.ok, JSON.stringify(v));
  return v.keyIndex;
};

test('each pod is signed for with the newest key it pins; each (state, key) is signed once', () => {
  const trust = new Trust({ signing, next, installation: 'inst' });
  const oldOnly = trust.body(state, pod('a', signing.publicKeyBase64));
  const both = trust.body(state, pod('b', `${signing.publicKeyBase64}, ${next.publicKeyBase64}`));
  const unknown = trust.body(state, pod('c'));
  assert.equal(signer(oldOnly), 0);
  assert.equal(signer(both), 1);
  assert.equal(signer(unknown), 0, 'trust not visible in the spec: the signing key');
  assert.equal(trust.body(state, pod('d', signing.publicKeyBase64)), oldOnly, 'the same body, not signed again');
  assert.notEqual(trust.body({ ...state, seq: 2 }, pod('a', signing.publicKeyBase64)), oldOnly, 'a new state is signed anew');
  assert.equal(JSON.parse(oldOnly).installation, 'inst');
});

test('the signing key is retired once no watched pod needs it; /v1/keys and the ConfigMap list both keys', () => {
  const trust = new Trust({ signing, next, installation: 'inst' });
  trust.podSeen(pod('a', signing.publicKeyBase64));
  trust.podSeen(pod('b', `${signing.publicKeyBase64},${next.publicKeyBase64}`));
  assert.deepEqual(trust.published().map((k) => [k.role, k.pods, k.retired]), [['signing', 1, false], ['next', 1, false]]);
  trust.podSeen(pod('a', signing.publicKeyBase64)); // a repeat changes nothing
  assert.deepEqual(trust.published().map((k) => k.pods), [1, 1]);
  trust.podGone(pod('a'));
  assert.deepEqual(trust.published().map((k) => [k.role, k.pods, k.retired]), [['signing', 0, true], ['next', 1, false]]);
  trust.podSeen(pod('c'));
  assert.equal(trust.published()[0]!.retired, false, 'a pod whose trust is unknown still needs the signing key');
  assert.deepEqual(trust.configMapData(), { publicKeys: `${signing.publicKeyBase64},${next.publicKeyBase64}`, installation: 'inst' });
  assert.equal(new Trust({ signing, next: null, installation: 'inst' }).published()[0]!.retired, false);
});

test('slimPod keeps the literal key env of a native or classic sidecar, and nothing when it is not literal', () => {
  const raw = (spec: object) => ({ metadata: { name: 'p', namespace: 'ns', labels: {} }, spec, status: {} });
  const env = [{ name: 'VERSION_OBSERVER_PUBLIC_KEY', value: 'K1=,K2=' }];
  assert.equal(slimPod(raw({ initContainers: [{ name: 'version-observer', env }], containers: [{ name: 'app' }] }), 'v').view.trustedKeys, 'K1=,K2=');
  assert.equal(slimPod(raw({ containers: [{ name: 'app' }, { name: 'version-observer', env }] }), 'v').view.trustedKeys, 'K1=,K2=');
  const fromConfigMap = [{ name: 'VERSION_OBSERVER_PUBLIC_KEY', valueFrom: { configMapKeyRef: { name: 'x', key: 'publicKeys' } } }];
  assert.equal(slimPod(raw({ containers: [{ name: 'version-observer', env: fromConfigMap }] }), 'v').view.trustedKeys, undefined);
  assert.equal(slimPod(raw({}), 'v').view.trustedKeys, undefined);
});

test('keySetOf: the signing key, an optional next key and the installation id; anything invalid is a configuration error', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const secret = (data: Record<string, string>) => ({ data });
  const full = keySetOf(secret({ 'private.pem': b64(privateKeyToPem(signing)), 'next.pem': b64(privateKeyToPem(next)), installation: b64('inst') }), 'ns/s');
  assert.deepEqual([full.signing.kid, full.next?.kid, full.installation], [signing.kid, next.kid, 'inst']);
  const bare = keySetOf(secret({ 'private.pem': b64(privateKeyToPem(signing)) }), 'ns/s');
  assert.deepEqual([bare.next, bare.installation], [null, null]);
  assert.throws(() => keySetOf(secret({}), 'ns/s'), { code: 'VO_SIGNING_KEY_INVALID' });
  assert.throws(() => keySetOf(secret({ 'private.pem': b64(privateKeyToPem(signing)), 'next.pem': b64('junk') }), 'ns/s'), { code: 'VO_SIGNING_KEY_INVALID' });
  assert.throws(() => keySetOf(secret({ 'private.pem': b64(privateKeyToPem(signing)), 'next.pem': b64(privateKeyToPem(signing)) }), 'ns/s'), { code: 'VO_SIGNING_KEY_INVALID' });
  assert.throws(() => keySetOf(secret({ 'private.pem': b64(privateKeyToPem(signing)), installation: b64('no spaces') }), 'ns/s'), { code: 'VO_TRUST_INSTALLATION_INVALID' });
});
