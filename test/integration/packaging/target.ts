/**
 * Where the e2e packaging suite runs: the embedded local cluster (default), or any cluster given
 * by VO_E2E_KUBECONFIG (test/e2e/kind.sh sets it for kind). An explicit variable, not KUBECONFIG,
 * so a developer's own cluster is never used by accident. Services are reached through the
 * local service proxy, or through `kubectl port-forward` on an external cluster.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { startCluster } from '../../../src/local/cluster.ts';
import { KUBECTL } from './support.ts';
import { silentLogger } from '../../../src/platform/logger.ts';

export interface Target {
  external: boolean;
  kubeconfigPath: string;
  kubeConfig: KubeConfig;
  /** scratch dir (helm's cache/config homes) */
  dir: string;
  helm: string;
  serviceUrl(namespace: string, service: string, port: number | string): Promise<string>;
  stop(): Promise<void>;
}

export async function startTarget(helm: string): Promise<Target> {
  const external = process.env.VO_E2E_KUBECONFIG;
  if (!external) {
    const c = await startCluster({ logger: silentLogger });
    return { external: false, kubeconfigPath: c.kubeconfigPath, kubeConfig: c.kubeConfig, dir: c.dir, helm, serviceUrl: (ns, s, p) => c.serviceUrl(ns, s, p), stop: () => c.stop() };
  }
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(external);
  const dir = mkdtempSync(join(tmpdir(), 'vo-e2e-'));
  const forwards: ChildProcess[] = [];
  const serviceUrl = (ns: string, svc: string, port: number | string) =>
    new Promise<string>((resolve, reject) => {
      const child = spawn(KUBECTL, ['--kubeconfig', external, 'port-forward', '-n', ns, `svc/${svc}`, `:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
      forwards.push(child);
      let out = '';
      const onData = (d: Buffer) => {
        out += d.toString();
        const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out);
        if (m) resolve(`http://127.0.0.1:${m[1]}`);
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code) => reject(new Error(`kubectl port-forward svc/${svc} exited ${code}: ${out}`)));
    });
  return {
    external: true,
    kubeconfigPath: external,
    kubeConfig,
    dir,
    helm,
    serviceUrl,
    stop: async () => {
      for (const f of forwards) f.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
