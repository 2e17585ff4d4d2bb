/**
 * The controller tests' environment: a real local cluster whose kubelet runs the test-receiver
 * image (test/support/receiver.ts as a process per pod), the chart's RBAC applied in the release
 * namespace, and a kubeconfig holding only the chart ServiceAccount's token.
 * Invariant: startEnv either returns a ready environment or stops the cluster it started.
 */
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { startCluster } from '../../../src/local/cluster.ts';
import { silentLogger } from '../../../src/platform/logger.ts';
import { repoRoot } from '../repo-root.ts';
import { renderControllerChart, SYSTEM_NS } from './chart.ts';
import type { FixtureEnv } from './fixtures.ts';
import { writeTokenKubeconfig } from './kubeconfig.ts';
import type { ControllerLaunch } from './process.ts';
import { applyRbac, serviceAccountToken } from './rbac.ts';

export interface Env extends FixtureEnv, ControllerLaunch {}

/** nodeLifecycle: the cluster runs kcm's node controller (the chaos suite's node loss; src/local/cluster.ts). */
export async function startEnv(opts: { nodeLifecycle?: boolean } = {}): Promise<Env> {
  const cluster = await startCluster({
    logger: silentLogger,
    nodeLifecycle: opts.nodeLifecycle,
    images: { 'version-observer/test-receiver': () => ({ command: process.execPath, args: [join(repoRoot, 'test/support/receiver.ts')], cwd: repoRoot }) },
  });
  try {
    const apps = cluster.kubeConfig.makeApiClient(AppsV1Api);
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    const chart = await renderControllerChart();
    await applyRbac(cluster, SYSTEM_NS, chart.rbacYaml);
    const token = await serviceAccountToken(cluster, SYSTEM_NS, chart.serviceAccount);
    const saKubeconfig = writeTokenKubeconfig(cluster, token, join(cluster.dir, 'controller-sa.kubeconfig'));
    return { cluster, apps, core, saKubeconfig, chartArgs: chart.chartArgs };
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}
