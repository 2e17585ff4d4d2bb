/**
 * What the injector pins into every sidecar's env: the trusted public keys and the installation
 * id (VERSION_OBSERVER_PUBLIC_KEY, VERSION_OBSERVER_INSTALLATION; docs/security.md).
 *
 * Invariants:
 * - The injector pins exactly what the controller publishes in the trust ConfigMap
 *   (src/controller/trust.ts `configMapData`): the same keys, oldest first, and the same
 *   installation id, read from the key Secret. So the controller can sign for every injected pod
 *   (it reads the pinned list back from the pod spec) and a staged next key is pinned before it
 *   ever signs (additive rotation).
 * - The injector asks the provider at each admission; the set is fixed for the life of the
 *   process (a rotation restarts the controller), so it is computed once.
 */
import { parseKeyList } from '../../core/trust.ts';
import type { Trust } from '../trust.ts';

export interface PinnedTrust {
  /** base64 raw Ed25519 public keys (VERSION_OBSERVER_PUBLIC_KEY, joined by commas). */
  publicKeys: string[];
  /** VERSION_OBSERVER_INSTALLATION. */
  installation: string;
}

export interface TrustProvider {
  currentTrust(): PinnedTrust;
}

/** The controller's published trust set, as the injector pins it. */
export function publishedTrust(trust: Pick<Trust, 'configMapData'>): TrustProvider {
  const data = trust.configMapData();
  const pinned: PinnedTrust = { publicKeys: parseKeyList(data.publicKeys), installation: data.installation };
  return { currentTrust: () => pinned };
}
