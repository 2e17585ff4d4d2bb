/**
 * What the injector pins into every sidecar's env: the trusted public keys and the installation
 * id. The controller holds the current trust set in memory; the injector only asks this provider
 * at each admission, so a key rotation reaches new pods without a restart.
 *
 * Today's provider (`signingKeyTrust`) is fed from the controller's one signing key
 * (src/controller/keys.ts) and an installation id placeholder: the key's kid, the same on every
 * replica because every replica reads the same key Secret. The key-trust work replaces the
 * provider with its published trust set (ConfigMap in the controller's namespace) and its
 * installation id; nothing else in the webhook changes.
 */
import type { SigningKey } from '../../core/signature.ts';

export interface Trust {
  /** base64 raw Ed25519 public keys (VERSION_OBSERVER_PUBLIC_KEY, joined by commas). */
  publicKeys: string[];
  /** VERSION_OBSERVER_INSTALLATION. */
  installation: string;
}

export interface TrustProvider {
  currentTrust(): Trust;
}

export function signingKeyTrust(key: SigningKey, installation?: string): TrustProvider {
  const trust: Trust = { publicKeys: [key.publicKeyBase64], installation: installation || key.kid };
  return { currentTrust: () => trust };
}
