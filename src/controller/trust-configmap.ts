/**
 * Publishes the trust set — the public keys a sidecar should pin and the installation id — in a
 * ConfigMap in the controller's own namespace (`version-observer-trust`, data keys `publicKeys`
 * and `installation`), where the admission webhook or an app team reads it through the API
 * (docs/install.md shows the kubectl command). It holds nothing secret: public keys and an id.
 *
 * Invariants:
 * - Written only through the Kubernetes API, which the pod network cannot answer: this is the
 *   channel that replaces fetching keys from the controller over HTTP.
 * - Idempotent: get → create when absent, replace (conditioned on resourceVersion) when the data
 *   differs, nothing when equal; every replica may run it, they write the same data.
 * - Needs `get`/`update` on that one ConfigMap (by resourceName) and `create` on configmaps in
 *   the namespace.
 */
import type { CoreV1Api, V1ConfigMap } from '@kubernetes/client-node';
import { apiStatus } from './keys.ts';

export const TRUST_CONFIGMAP = 'version-observer-trust';

export type TrustData = { publicKeys: string; installation: string };

/** Creates or updates the ConfigMap; returns what it did. */
export async function publishTrust(core: CoreV1Api, namespace: string, data: TrustData): Promise<'created' | 'updated' | 'unchanged'> {
  const metadata = { name: TRUST_CONFIGMAP, namespace, labels: { 'app.kubernetes.io/name': 'version-observer', 'app.kubernetes.io/component': 'trust' } };
  for (let attempt = 0; attempt < 5; attempt++) {
    let existing: V1ConfigMap | null = null;
    try {
      existing = await core.readNamespacedConfigMap({ namespace, name: TRUST_CONFIGMAP });
    } catch (err) {
      if (apiStatus(err) !== 404) throw err;
    }
    try {
      if (existing === null) {
        await core.createNamespacedConfigMap({ namespace, body: { apiVersion: 'v1', kind: 'ConfigMap', metadata, data } });
        return 'created';
      }
      if (existing.data?.publicKeys === data.publicKeys && existing.data?.installation === data.installation) return 'unchanged';
      await core.replaceNamespacedConfigMap({ namespace, name: TRUST_CONFIGMAP, body: { ...existing, data: { ...existing.data, ...data } } });
      return 'updated';
    } catch (err) {
      if (apiStatus(err) !== 409) throw err; // a replica wrote first: read again
    }
  }
  throw new Error(`ConfigMap ${namespace}/${TRUST_CONFIGMAP}: kept conflicting after 5 attempts`);
}
