/**
 * Service-account credentials for container processes. A real kubelet mounts a projected
 * token at /var/run/secrets/kubernetes.io/serviceaccount; a local process cannot have that
 * path, so each pod gets a kubeconfig holding a TokenRequest token for its ServiceAccount
 * (bound to the pod) and its containers get KUBECONFIG pointing at it. So a controller pod
 * runs with exactly its ServiceAccount's RBAC, as in a real cluster.
 * Pods with automountServiceAccountToken: false get no credentials at all.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import type { KubeHttp } from '../kube-http.ts';

interface TokenRequestStatus {
  status?: { token?: string };
}

export type CredentialsFor = (pod: V1Pod) => Promise<string | undefined>;

export function serviceAccountCredentials(api: KubeHttp, kubeConfig: KubeConfig, dir: string): CredentialsFor {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('kubelet: kubeconfig has no current cluster');
  return async (pod) => {
    if (pod.spec?.automountServiceAccountToken === false) return undefined;
    const namespace = pod.metadata?.namespace ?? 'default';
    const name = pod.metadata?.name ?? '';
    const sa = pod.spec?.serviceAccountName ?? 'default';
    const res = await api.request<TokenRequestStatus>('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${sa}/token`, {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds: 86_400, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name, uid: pod.metadata?.uid } },
    });
    const token = res.status?.token;
    if (!token) throw new Error(`no token issued for serviceaccount ${namespace}/${sa}`);
    const file = join(dir, `${namespace}_${name}.kubeconfig`);
    const ca = cluster.caData ? `    certificate-authority-data: ${cluster.caData}\n` : cluster.skipTLSVerify ? '    insecure-skip-tls-verify: true\n' : '';
    writeFileSync(
      file,
      `apiVersion: v1\nkind: Config\nclusters:\n- name: local\n  cluster:\n    server: ${cluster.server}\n${ca}users:\n- name: ${sa}\n  user:\n    token: ${token}\n` +
        `contexts:\n- name: local\n  context:\n    cluster: local\n    user: ${sa}\n    namespace: ${namespace}\ncurrent-context: local\n`,
      { mode: 0o600 },
    );
    return file;
  };
}
