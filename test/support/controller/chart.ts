/**
 * The chart's own description of the controller, rendered offline by helm from
 * charts/version-observer: its ServiceAccount, RBAC and container args. The controller tests
 * apply exactly this RBAC and start the controller with exactly these args, so every
 * controller test also proves the chart's RBAC and flags suffice.
 */
import { loadAllYaml, type V1Deployment } from '@kubernetes/client-node';
import { ensureBinaries } from '../../../src/local/binaries.ts';
import { helmOk } from '../kubectl.ts';
import { repoRoot } from '../repo-root.ts';
import { silentLogger } from '../../../src/platform/logger.ts';
export const RELEASE = 'vo';
export const SYSTEM_NS = 'vo-system';
/** The Kubernetes version the chart is rendered for (the local cluster's). */
const KUBE_VERSION = '1.37.2';

export interface RenderedChart {
  /** The controller args the chart renders (the image's `controller` entry dropped). */
  chartArgs: string[];
  serviceAccount: string;
  /** The ServiceAccount and (Cluster)Role(Binding) documents, as YAML for kubectl apply. */
  rbacYaml: string;
}

export async function renderControllerChart(): Promise<RenderedChart> {
  const { helm } = await ensureBinaries(silentLogger);
  const only = ['templates/serviceaccount.yaml', 'templates/rbac.yaml', 'templates/deployment.yaml'].flatMap((t) => ['--show-only', t]);
  const yaml = await helmOk(helm, ['template', RELEASE, `${repoRoot}charts/version-observer`, '--namespace', SYSTEM_NS, '--kube-version', KUBE_VERSION, ...only]);
  const docs = (loadAllYaml(yaml) as Array<{ kind: string; metadata: { name: string } } | null>).filter((d) => d !== null);
  const deployment = docs.find((d) => d.kind === 'Deployment') as unknown as V1Deployment;
  const container = deployment.spec!.template.spec!.containers[0]!;
  return {
    chartArgs: (container.args ?? []).filter((a) => a !== 'controller'),
    serviceAccount: docs.find((d) => d.kind === 'ServiceAccount')!.metadata.name,
    rbacYaml: yaml
      .split(/^---$/m)
      .filter((doc) => /kind: (ServiceAccount|ClusterRole|ClusterRoleBinding|Role|RoleBinding)\b/.test(doc))
      .join('\n---\n'),
  };
}
