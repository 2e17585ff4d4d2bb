/**
 * Finds the control-plane binaries: KUBEBUILDER_ASSETS when set (envtest layout: etcd,
 * kube-apiserver; kube-controller-manager and helm fall back to our cache), else the cache that
 * scripts/build-binaries.sh fills from the official Go modules (building on first use; the
 * script's progress lines are logged as they come, by default on stderr).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../platform/logger.ts';
import { lineLogger } from './log.ts';

export interface Binaries {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  helm: string;
}

const repoRoot = new URL('../../', import.meta.url).pathname;

let cached: Promise<Binaries> | undefined;

const stderrLines: Logger = lineLogger((line) => process.stderr.write(`${line}\n`));

/**
 * Resolves (building once if needed) the binaries. Concurrent callers share one build.
 * `logger` gets the build's progress (default: readable lines on stderr); a line callback is
 * still accepted (deprecated).
 */
export function ensureBinaries(logger: Logger = stderrLines): Promise<Binaries> {
  const log = logger.child({ component: 'binaries' });
  cached ??= resolve(log).catch((err: unknown) => {
    cached = undefined;
    throw err;
  });
  return cached;
}

async function resolve(log: Logger): Promise<Binaries> {
  const built = await buildDir(log);
  const assets = process.env.KUBEBUILDER_ASSETS;
  const pick = (name: string): string => {
    if (assets && existsSync(join(assets, name))) return join(assets, name);
    return join(built, name);
  };
  const bins: Binaries = {
    etcd: pick('etcd'),
    kubeApiserver: pick('kube-apiserver'),
    kubeControllerManager: pick('kube-controller-manager'),
    helm: pick('helm'),
  };
  for (const [name, path] of Object.entries(bins)) {
    if (!existsSync(path)) throw new Error(`binary ${name} not found at ${path}`);
  }
  return bins;
}

function buildDir(log: Logger): Promise<string> {
  return new Promise((resolvePath, reject) => {
    const child = spawn('bash', [join(repoRoot, 'scripts/build-binaries.sh')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let errTail = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      const text = d.toString();
      errTail = (errTail + text).slice(-4000);
      for (const line of text.split('\n')) if (line.startsWith('[build-binaries')) log.info({}, line);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const dir = out.trim().split('\n').pop() ?? '';
      if (code === 0 && dir) resolvePath(dir);
      else reject(new Error(`scripts/build-binaries.sh failed (exit ${code}):\n${errTail}`));
    });
  });
}
