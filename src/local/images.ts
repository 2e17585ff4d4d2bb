/**
 * Image → local process map for the process kubelet. A container whose image has a runner is
 * started as that process; an image with no runner is a "virtual" container (reported Running
 * and Ready, no process), which lets benchmarks create thousands of pods.
 *
 * Lookup: the digest is ignored, then "repo/name:tag" is tried, then "repo/name".
 * Runners use process.execPath, so children run under the same Node as the harness.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ContainerLaunch {
  image: string;
  command?: string[];
  args?: string[];
  env: Record<string, string>;
  podIP: string;
  podName: string;
  namespace: string;
}
export interface ProcessSpec {
  command: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
}
export type ImageRunner = (c: ContainerLaunch) => ProcessSpec;
/** key "repo/name:tag" or "repo/name"; the exact tag is tried first. */
export type ImageMap = Record<string, ImageRunner>;

/** The repository root (where package.json is). */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Splits "host:5000/repo/name:tag@sha256:…" into repo "host:5000/repo/name" and tag "tag" ('' when absent). */
export function parseImage(image: string): { repo: string; tag: string } {
  const noDigest = image.split('@')[0]!;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  if (colon > slash) return { repo: noDigest.slice(0, colon), tag: noDigest.slice(colon + 1) };
  return { repo: noDigest, tag: '' };
}

export function findRunner(images: ImageMap, image: string): ImageRunner | undefined {
  const { repo, tag } = parseImage(image);
  return (tag ? images[`${repo}:${tag}`] : undefined) ?? images[repo];
}

/** The container's command line without the image's own entrypoint (node / version-observer / main.js). */
function cliArgs(c: ContainerLaunch): string[] {
  const cmd = [...(c.command ?? [])];
  while (cmd.length > 0 && /(^|\/)(node|version-observer|main\.[jt]s)$/.test(cmd[0]!)) cmd.shift();
  return [...cmd, ...(c.args ?? [])];
}

export function defaultImages(): ImageMap {
  const testServer = join(repoRoot, 'src/local/fixtures/test-server.ts');
  const testWebhook = join(repoRoot, 'src/local/fixtures/test-webhook.ts');
  const cli = join(repoRoot, 'src/cli/main.ts');
  const spa = join(repoRoot, 'examples/spa/server.ts');
  return {
    'version-observer/test-server': () => ({ command: process.execPath, args: [testServer], cwd: repoRoot }),
    'version-observer/test-webhook': () => ({ command: process.execPath, args: [testWebhook], cwd: repoRoot }),
    'ghcr.io/version-observer/version-observer': (c) => ({ command: process.execPath, args: [cli, ...cliArgs(c)], cwd: repoRoot }),
    'version-observer/example-spa': (c) => ({ command: process.execPath, args: [spa, ...(c.args ?? [])], cwd: repoRoot }),
  };
}
