/**
 * The controller's Ed25519 signing key, kept in a Secret in its own namespace
 * (data key `private.pem`, PKCS#8 PEM).
 *
 * Invariants:
 * - Race-safe first start: get → absent → create with a fresh key → if the create answers 409
 *   (another replica created it first) get again and use theirs. Every replica therefore signs
 *   with the same key, so a failover never changes the public key.
 * - Needs only `get` on that one Secret (by resourceName) and `create` on secrets in the namespace.
 * - A Secret that exists but holds no valid Ed25519 key is a configuration error: we never
 *   overwrite a key someone put there.
 */
import type { CoreV1Api } from '@kubernetes/client-node';
import { generateSigningKey, privateKeyToPem, signingKeyFromPem, type SigningKey } from '../core/signature.ts';
import { VoError } from '../core/errors.ts';

export const KEY_DATA = 'private.pem';

export function apiStatus(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

async function read(core: CoreV1Api, namespace: string, name: string): Promise<SigningKey | null> {
  try {
    const secret = await core.readNamespacedSecret({ namespace, name });
    const b64 = secret.data?.[KEY_DATA];
    if (!b64) throw new VoError('VO_SIGNING_KEY_INVALID', `Secret ${namespace}/${name} has no data key "${KEY_DATA}"`);
    try {
      return signingKeyFromPem(Buffer.from(b64, 'base64').toString('utf8'));
    } catch (err) {
      throw new VoError('VO_SIGNING_KEY_INVALID', `Secret ${namespace}/${name}: ${(err as Error).message}`);
    }
  } catch (err) {
    if (apiStatus(err) === 404) return null;
    throw err;
  }
}

export async function loadOrCreateSigningKey(core: CoreV1Api, namespace: string, name: string): Promise<{ key: SigningKey; created: boolean }> {
  const existing = await read(core, namespace, name);
  if (existing) return { key: existing, created: false };
  const key = generateSigningKey();
  try {
    await core.createNamespacedSecret({
      namespace,
      body: {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'Opaque',
        metadata: { name, namespace, labels: { 'app.kubernetes.io/name': 'version-observer', 'app.kubernetes.io/component': 'controller' } },
        data: { [KEY_DATA]: Buffer.from(privateKeyToPem(key), 'utf8').toString('base64') },
      },
    });
    return { key, created: true };
  } catch (err) {
    if (apiStatus(err) !== 409) throw err;
  }
  const theirs = await read(core, namespace, name);
  if (!theirs) throw new Error(`Secret ${namespace}/${name} was created concurrently but cannot be read`);
  return { key: theirs, created: false };
}
