/**
 * Ed25519 signatures over the canonical JSON of `{ installation, state }` (docs/protocol.md
 * "The push envelope and its signature"): the installation id is inside the signed bytes, so a
 * state signed for one installation never verifies for another, even under a shared key.
 * Keys travel as base64 of the raw 32-byte public key. These helpers only compute; they hold
 * no state and read no clock.
 */
import { createPrivateKey, createPublicKey, createHash, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** base64 of the raw 32-byte public key */
  publicKeyBase64: string;
  /** key id: first 16 hex chars of sha256(raw public key) */
  kid: string;
}

export function generateSigningKey(): SigningKey {
  const { privateKey } = generateKeyPairSync('ed25519');
  return signingKeyFromPrivate(privateKey);
}

/** From a PKCS#8 PEM (as stored in the controller's Secret). */
export function signingKeyFromPem(pem: string): SigningKey {
  const privateKey = createPrivateKey(pem);
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`signing key must be Ed25519, got ${privateKey.asymmetricKeyType}`);
  return signingKeyFromPrivate(privateKey);
}

export function privateKeyToPem(key: SigningKey): string {
  return key.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

function signingKeyFromPrivate(privateKey: KeyObject): SigningKey {
  const publicKey = createPublicKey(privateKey);
  const raw = rawPublicKey(publicKey);
  return { privateKey, publicKey, publicKeyBase64: raw.toString('base64'), kid: keyId(raw) };
}

function rawPublicKey(publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: 'jwk' });
  return Buffer.from(jwk.x as string, 'base64url');
}

export function keyId(rawPublicKey: Buffer): string {
  return createHash('sha256').update(rawPublicKey).digest('hex').slice(0, 16);
}

/**
 * Parses base64 of a raw 32-byte Ed25519 public key. Throws with a readable message on
 * anything else, so configuration errors name the problem.
 */
export function publicKeyFromBase64(b64: string): KeyObject {
  const trimmed = b64.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) throw new Error('public key is not base64');
  const raw = Buffer.from(trimmed, 'base64');
  if (raw.length !== 32) throw new Error(`public key must be 32 raw bytes (Ed25519), got ${raw.length}`);
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}

/** The signed bytes: UTF-8 of canonicalJson({ installation, state }). */
function signedBytes(installation: unknown, state: unknown): Buffer {
  return Buffer.from(canonicalJson({ installation, state }), 'utf8');
}

/** base64 Ed25519 signature over the signed bytes of (installation, state). */
export function signPush(installation: string, state: unknown, key: SigningKey): string {
  return sign(null, signedBytes(installation, state), key.privateKey).toString('base64');
}

/**
 * The index in `keys` of the key whose signature `sig` is over (installation, state), or -1 when
 * none verifies. Never throws on bad input.
 */
export function verifyPush(installation: unknown, state: unknown, sig: unknown, keys: readonly KeyObject[]): number {
  if (typeof sig !== 'string' || sig.length === 0 || sig.length > 200) return -1;
  const signature = Buffer.from(sig, 'base64');
  if (signature.length !== 64) return -1;
  let data: Buffer;
  try {
    data = signedBytes(installation, state);
  } catch {
    return -1;
  }
  return keys.findIndex((k) => {
    try {
      return verify(null, data, k, signature);
    } catch {
      return false;
    }
  });
}

/** The key id of a public key object (as SigningKey.kid). */
export function keyIdOf(publicKey: KeyObject): string {
  return keyId(rawPublicKey(publicKey));
}
