/**
 * The command-line tools tests and benchmarks drive a cluster with: the system kubectl (the
 * oracle: not our client library) and the helm binary `ensureBinaries` provides.
 * Invariant: every run is asynchronous — the process kubelet and the service proxy of the local
 * cluster live on this process's event loop, so a blocking spawnSync would stall the very pods
 * a command waits for.
 */
import { spawn } from 'node:child_process';
import type { Cluster } from '../../src/local/cluster.ts';

export const KUBECTL = '/usr/bin/kubectl';

export interface ToolResult {
  status: number | null;
  stdout: string;
  stderr: string;
  /** wall time of the run */
  ms: number;
}

export interface RunOptions {
  /** written to stdin (stdin is closed either way) */
  input?: string;
  /** killed (SIGTERM) after this long; none when absent */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** Runs a tool to completion; resolves with its exit status and output, rejects only when it cannot start. */
export function runTool(cmd: string, args: readonly string[], o: RunOptions = {}): Promise<ToolResult> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...(o.timeoutMs ? { timeout: o.timeoutMs } : {}), ...(o.env ? { env: o.env } : {}) });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    p.once('error', reject);
    p.once('close', (status) => resolve({ status, stdout, stderr, ms: Date.now() - t0 }));
    p.stdin.end(o.input ?? '');
  });
}

/** kubectl against the cluster's admin kubeconfig; the caller judges the status (default timeout 120 s). */
export function kubectl(cluster: Cluster, args: readonly string[], input?: string, timeoutMs = 120_000): Promise<ToolResult> {
  return runTool(KUBECTL, ['--kubeconfig', cluster.kubeconfigPath, ...args], { ...(input !== undefined ? { input } : {}), timeoutMs });
}

/** kubectl that must succeed: resolves with its stdout, rejects with its stderr. No timeout. */
export async function kubectlOk(cluster: Cluster, args: readonly string[], input?: string): Promise<string> {
  const r = await runTool(KUBECTL, ['--kubeconfig', cluster.kubeconfigPath, ...args], input !== undefined ? { input } : {});
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr || `exit ${r.status}`}`);
  return r.stdout;
}

/** helm (the binary `ensureBinaries` found); it must succeed: resolves with its stdout. */
export async function helmOk(helm: string, args: readonly string[], o: RunOptions = {}): Promise<string> {
  const r = await runTool(helm, args, o);
  if (r.status !== 0) throw new Error(`helm ${args.join(' ')}: ${r.stderr || `exit ${r.status}`}`);
  return r.stdout;
}
