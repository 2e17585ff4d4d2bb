/**
 * `version-observer sidecar [flags]`: the container's main process is a small supervisor
 * (src/sidecar/supervisor.ts) that runs the server (src/sidecar/sidecar.ts, `runServer`) as a
 * child process of the same command with VERSION_OBSERVER_SIDECAR_ROLE=server. Each side is a
 * dynamic import, so the supervisor never loads fastify, ws, prom-client or the settings table (the build splits the
 * bundle at these imports). Invalid configuration throws one readable line in the server, which
 * src/cli/main.ts prints before exiting non-zero.
 */
import { asksForHelp } from '../platform/config.ts';
import { ROLE_ENV } from './supervisor-protocol.ts';

export async function run(argv: string[]): Promise<void> {
  if (asksForHelp(argv)) {
    const { helpText } = await import('./config.ts');
    console.log(helpText());
    return;
  }
  if (process.env[ROLE_ENV] === 'server') {
    const { runServer } = await import('./sidecar.ts');
    await runServer(argv);
    return;
  }
  const { runSupervisor } = await import('./supervisor.ts');
  await runSupervisor(argv);
}
