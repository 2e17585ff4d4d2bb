/**
 * Image → local process map for the process kubelet. A container whose image has a runner is
 * started as that process; an image with no runner is a "virtual" container (reported Running
 * and Ready, no process), which lets benchmarks create thousands of pods.
 *
 * Lookup: the digest is ignored, then "repo/name:tag" is tried, then "repo/name".
 * Runners use process.execPath, so children run under the same Node as the harness.
 */
import { readdirSync, statSync } from 'node:fs';
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

/**
 * The project image's entrypoint: the built `dist/cli/main.js` (what the Docker image runs: the
 * sidecar bundled, loading in ~60 ms instead of ~220 ms for the ~430 source modules, which on a
 * busy node decides whether a sidecar listens before its pod turns Ready) when it is built and
 * newer than every file under src/; otherwise the sources, so an edit is never run stale.
 */
export function imageCli(root: string = repoRoot): string {
  const built = join(root, 'dist/cli/main.js');
  let builtAt: number;
  try {
    builtAt = statSync(built).mtimeMs;
  } catch {
    return join(root, 'src/cli/main.ts');
  }
  const src = join(root, 'src');
  const newer = readdirSync(src, { recursive: true, withFileTypes: true }).some((f) => f.isFile() && statSync(join(f.parentPath, f.name)).mtimeMs > builtAt);
  return newer ? join(root, 'src/cli/main.ts') : built;
}

export function defaultImages(): ImageMap {
  const testServer = join(repoRoot, 'src/local/fixtures/test-server.ts');
  const testWebhook = join(repoRoot, 'src/local/fixtures/test-webhook.ts');
  const cli = imageCli();
  const spa = join(repoRoot, 'examples/spa/server.ts');
  return {
    'version-observer/test-server': () => ({ command: process.execPath, args: [testServer], cwd: repoRoot }),
    'version-observer/test-webhook': () => ({ command: process.execPath, args: [testWebhook], cwd: repoRoot }),
    'ghcr.io/version-observer/version-observer': (c) => ({ command: process.execPath, args: [cli, ...cliArgs(c)], cwd: repoRoot }),
    'version-observer/example-spa': (c) => ({ command: process.execPath, args: [spa, ...(c.args ?? [])], cwd: repoRoot }),
  };
}
