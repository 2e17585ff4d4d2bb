/**
 * The controller's key set, kept in one Secret in its own namespace:
 *   private.pem    the signing key (Ed25519, PKCS#8 PEM)
 *   next.pem       optional: the next key, staged for an additive rotation (docs/install.md)
 *   installation   this installation's id, bound into every signature (docs/protocol.md)
 *
 * Invariants:
 * - Race-safe first start: get → absent → create with a fresh key and id → if the create answers
 *   409 (another replica created it first) get again and use theirs. Every replica therefore
 *   signs with the same keys for the same installation, so a failover changes neither.
 * - A Secret without `installation` (made before installations existed, or by hand) gets one
 *   generated and written back with an update conditioned on its resourceVersion; a conflict
 *   re-reads, so concurrent replicas agree on one id. The id is never changed once written.
 * - Needs `get` and `update` on that one Secret (by resourceName) and, with
 *   signingKey.source=controller, `create` on secrets in the namespace.
 * - A Secret whose keys or id are not valid is a configuration error: we never overwrite a key
 *   someone put there.
 */
import { randomUUID } from 'node:crypto';
import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import { generateSigningKey, privateKeyToPem, signingKeyFromPem, type SigningKey } from '../core/signature.ts';
import { VoError } from '../core/errors.ts';
import { isInstallationId } from '../core/trust.ts';

export const KEY_DATA = 'private.pem';
export const NEXT_KEY_DATA = 'next.pem';
export const INSTALLATION_DATA = 'installation';

export interface KeySet {
  signing: SigningKey;
  next: SigningKey | null;
  installation: string;
}

export function apiStatus(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

function keyFrom(secret: V1Secret, where: string, data: string): SigningKey | null {
  const b64 = secret.data?.[data];
  if (!b64) return null;
  try {
    return signingKeyFromPem(Buffer.from(b64, 'base64').toString('utf8'));
  } catch (err) {
    throw new VoError('VO_SIGNING_KEY_INVALID', `Secret ${where} data key "${data}": ${(err as Error).message}`);
  }
}

/** The key set a Secret holds; `installation` null when it holds none yet. */
export function keySetOf(secret: V1Secret, where: string): Omit<KeySet, 'installation'> & { installation: string | null } {
  const signing = keyFrom(secret, where, KEY_DATA);
  if (!signing) throw new VoError('VO_SIGNING_KEY_INVALID', `Secret ${where} has no data key "${KEY_DATA}"`);
  const next = keyFrom(secret, where, NEXT_KEY_DATA);
  if (next && next.kid === signing.kid) throw new VoError('VO_SIGNING_KEY_INVALID', `Secret ${where}: "${NEXT_KEY_DATA}" is the signing key itself`);
  const raw = secret.data?.[INSTALLATION_DATA];
  const installation = raw ? Buffer.from(raw, 'base64').toString('utf8').trim() : null;
  if (installation !== null && !isInstallationId(installation)) {
    throw new VoError('VO_TRUST_INSTALLATION_INVALID', `Secret ${where} data key "${INSTALLATION_DATA}" is "${installation}"; expected 1-64 of A-Z a-z 0-9 . _ -`);
  }
  return { signing, next, installation };
}

async function read(core: CoreV1Api, namespace: string, name: string): Promise<V1Secret | null> {
  try {
    return await core.readNamespacedSecret({ namespace, name });
  } catch (err) {
    if (apiStatus(err) === 404) return null;
    throw err;
  }
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

export async function loadOrCreateKeySet(core: CoreV1Api, namespace: string, name: string): Promise<{ keys: KeySet; created: boolean }> {
  const where = `${namespace}/${name}`;
  let created = false;
  for (let attempt = 0; attempt < 5; attempt++) {
    const secret = await read(core, namespace, name);
    if (secret === null) {
      const signing = generateSigningKey();
      try {
        await core.createNamespacedSecret({
          namespace,
          body: {
            apiVersion: 'v1',
            kind: 'Secret',
            type: 'Opaque',
            metadata: { name, namespace, labels: { 'app.kubernetes.io/name': 'version-observer', 'app.kubernetes.io/component': 'controller' } },
            data: { [KEY_DATA]: b64(privateKeyToPem(signing)), [INSTALLATION_DATA]: b64(randomUUID()) },
          },
        });
        created = true;
      } catch (err) {
        if (apiStatus(err) !== 409) throw err;
      }
      continue; // read back what is stored (ours or the replica's that won)
    }
    const set = keySetOf(secret, where);
    if (set.installation !== null) return { keys: { ...set, installation: set.installation }, created };
    try {
      // resourceVersion in the body makes the update conditional: a replica that raced us gets 409.
      await core.replaceNamespacedSecret({ namespace, name, body: { ...secret, data: { ...secret.data, [INSTALLATION_DATA]: b64(randomUUID()) } } });
    } catch (err) {
      if (apiStatus(err) !== 409) throw err;
    }
  }
  throw new Error(`Secret ${where}: could not settle its installation id after 5 attempts`);
}
