/**
 * A kubeconfig that authenticates with one bearer token only (no admin client certificate), for
 * the cluster the admin kubeconfig points at: a process given it has exactly the token's rights.
 */
import { writeFileSync } from 'node:fs';
import type { Cluster } from '../../../src/local/cluster.ts';

/** Writes the kubeconfig to `path` and returns the path. */
export function writeTokenKubeconfig(cluster: Cluster, token: string, path: string): string {
  const c = cluster.kubeConfig.getCurrentCluster()!;
  const caLine = c.caData ? `certificate-authority-data: ${c.caData}` : c.caFile ? `certificate-authority: ${c.caFile}` : 'insecure-skip-tls-verify: true';
  writeFileSync(
    path,
    `apiVersion: v1\nkind: Config\nclusters:\n- name: local\n  cluster:\n    server: ${c.server}\n    ${caLine}\nusers:\n- name: sa\n  user:\n    token: ${token}\ncontexts:\n- name: sa\n  context:\n    cluster: local\n    user: sa\ncurrent-context: sa\n`,
  );
  return path;
}
