/**
 * Helpers shared by the packaging tests: the helm binary (built from its Go module by
 * scripts/build-binaries.sh, via ensureBinaries), the system kubectl as the oracle, rendering
 * the chart, and running commands with a timeout and their output kept for assertion messages.
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadAllYaml } from '@kubernetes/client-node';
import { ensureBinaries } from '../../../src/local/binaries.ts';
import { silentLogger } from '../../../src/platform/logger.ts';

export const repoRoot = new URL('../../../', import.meta.url).pathname;
export const chartDir = `${repoRoot}charts/version-observer`;
export const ciValues = `${chartDir}/ci/full-values.yaml`;
export const KUBECTL = '/usr/bin/kubectl';
/** The Kubernetes version the chart is rendered for offline (the local cluster's). */
export const KUBE_VERSION = '1.37.2';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

/** VO_HELM overrides (CI on kind uses a released helm instead of building one). */
export async function helmPath(): Promise<string> {
  if (process.env.VO_HELM) return process.env.VO_HELM;
  const bins = await ensureBinaries(silentLogger);
  return bins.helm;
}

export function kubectlPath(): string {
  if (!existsSync(KUBECTL)) throw new Error(`${KUBECTL} not found: the packaging tests use the system kubectl as the oracle`);
  return KUBECTL;
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; cwd?: string } = {}): RunResult {
  const r: SpawnSyncReturns<string> = spawnSync(cmd, args, {
    cwd: opts.cwd ?? repoRoot,
    env: { ...process.env, ...opts.env },
    input: opts.input,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs and requires exit 0; the error carries the command and its output. */
export function runOk(cmd: string, args: string[], opts: Parameters<typeof run>[2] = {}): RunResult {
  const r = run(cmd, args, opts);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  return r;
}

/**
 * Async run: use it whenever the local cluster runs in this process (its kubelet and service
 * proxy live on this event loop, so a spawnSync of `helm --wait` would stall the very pods it
 * waits for).
 */
export function runAsync(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: repoRoot, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}`));
    });
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

export async function runOkAsync(cmd: string, args: string[], opts: Parameters<typeof runAsync>[2] = {}): Promise<RunResult> {
  const r = await runAsync(cmd, args, opts);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  return r;
}

export interface RenderOptions {
  release?: string;
  namespace?: string;
  valuesFiles?: string[];
  set?: string[];
  skipTests?: boolean;
}

/** `helm template` as YAML text. */
export async function renderText(opts: RenderOptions = {}): Promise<string> {
  const helm = await helmPath();
  const args = ['template', opts.release ?? 'vo', chartDir, '--namespace', opts.namespace ?? 'version-observer', '--kube-version', KUBE_VERSION];
  for (const f of opts.valuesFiles ?? []) args.push('-f', f);
  for (const s of opts.set ?? []) args.push('--set', s);
  if (opts.skipTests) args.push('--skip-tests');
  return runOk(helm, args).stdout;
}

export async function render(opts: RenderOptions = {}): Promise<K8sObject[]> {
  // JSON round trip: plain objects, not client-node model instances, so deepEqual compares data.
  const docs = loadAllYaml(await renderText(opts)) as Array<K8sObject | null>;
  return docs.filter((o): o is K8sObject => o !== null).map((o) => JSON.parse(JSON.stringify(o)) as K8sObject);
}

export function find(objs: K8sObject[], kind: string, name?: string): K8sObject {
  const o = objs.find((x) => x.kind === kind && (name === undefined || x.metadata.name === name));
  if (!o) throw new Error(`no ${kind}${name ? ` ${name}` : ''} in the rendered chart (kinds: ${objs.map((x) => x.kind).join(', ')})`);
  return o;
}

export { sleep, waitFor } from '../../support/local-k8s.ts';
