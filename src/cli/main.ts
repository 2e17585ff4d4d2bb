#!/usr/bin/env node
/**
 * The one CLI: `version-observer <command> [flags]`. Each command lives with its component
 * and is loaded lazily, so the sidecar never loads the controller's Kubernetes client.
 */
import { packageVersion } from '../platform/version.ts';

/** Commands that need the development tree, by the folder they live in: not in the image. */
const DEV_COMMANDS: Record<string, string> = { cluster: '/local/', demo: '/demo/' };

const commands: Record<string, { describe: string; load: () => Promise<{ run(argv: string[]): Promise<void> }> }> = {
  controller: { describe: 'watch labelled apps, hold the Lease, push signed state to sidecars', load: () => import('../controller/cli.ts') },
  sidecar: { describe: 'serve /version/ws to browsers and accept signed state pushes', load: () => import('../sidecar/cli.ts') },
  cluster: { describe: 'start the embedded local control plane and keep it running', load: () => import('../local/cli.ts') },
  demo: { describe: 'walk the rollout story on the embedded local control plane', load: () => import('../demo/cli.ts') },
  probe: { describe: 'GET a URL until it answers 2xx (the helm test of the chart uses it)', load: () => import('./probe.ts') },
  version: { describe: 'print the version (also --version)', load: async () => ({ run: async () => console.log(packageVersion()) }) },
};


function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(12)}${c.describe}`);
  return `usage: version-observer <command> [flags]\n\ncommands:\n${lines.join('\n')}\n\nRun 'version-observer <command> --help' for its flags.`;
}

const [given, ...rest] = process.argv.slice(2);
const name = given === '--version' || given === '-v' ? 'version' : given;
if (!name || name === '--help' || name === '-h') {
  console.log(usage());
  process.exit(name ? 0 : 2);
}
const command = commands[name];
if (!command) {
  console.error(`version-observer: unknown command '${name}'\n\n${usage()}`);
  process.exit(2);
}
try {
  const mod = await command.load();
  await mod.run(rest);
} catch (err) {
  const devFolder = DEV_COMMANDS[name];
  const ownModuleMissing = (err as { code?: unknown })?.code === 'ERR_MODULE_NOT_FOUND' && devFolder !== undefined && String((err as Error).message).includes(devFolder);
  if (ownModuleMissing) {
    console.error(`version-observer ${name}: not in this build (a development command: run it from a clone with 'npm run ${name}')`);
    process.exit(1);
  }
  console.error(`version-observer ${name}: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
