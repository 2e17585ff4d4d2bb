/**
 * The chart's RBAC in a test cluster: the release namespace, the rendered ServiceAccount and
 * roles applied by the system kubectl (the oracle), and a token for that ServiceAccount.
 * Invariant: nothing beyond what the chart renders is granted.
 */
import type { Cluster } from '../../../src/local/cluster.ts';
import { kubectlOk } from '../kubectl.ts';

/** Creates `namespace` and applies `rbacYaml` in it. */
export async function applyRbac(cluster: Cluster, namespace: string, rbacYaml: string): Promise<void> {
  await kubectlOk(cluster, ['create', 'namespace', namespace]);
  await kubectlOk(cluster, ['apply', '-n', namespace, '-f', '-'], rbacYaml);
}

/** A bound token of the ServiceAccount (2 h: longer than any test file). */
export async function serviceAccountToken(cluster: Cluster, namespace: string, serviceAccount: string): Promise<string> {
  return (await kubectlOk(cluster, ['create', 'token', serviceAccount, '-n', namespace, '--duration=2h'])).trim();
}
