/**
 * `version-observer sidecar [flags]`: parse the config once (env + flags), start, and on
 * SIGTERM/SIGINT shut down gracefully: every browser socket gets close 1001, the process exits 0
 * within the grace period (or 1 when the grace period ran out). Invalid configuration throws
 * one readable line, which src/cli/main.ts prints before exiting non-zero.
 */
import { asksForHelp } from '../platform/config.ts';
import { parseConfig, helpText } from './config.ts';
import { startSidecar } from './sidecar.ts';

export async function run(argv: string[]): Promise<void> {
  if (asksForHelp(argv)) {
    console.log(helpText());
    return;
  }
  const config = parseConfig(argv, process.env);
  const sidecar = await startSidecar(config);

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    sidecar.log.info({ signal, graceMs: config.shutdownGraceMs }, `${signal}: draining ${config.drainMs} ms, then closing sockets with 1001`);
    const hardStop = setTimeout(() => {
      sidecar.log.error({}, `grace period of ${config.shutdownGraceMs} ms ran out; exiting`);
      process.exit(1);
    }, config.shutdownGraceMs);
    hardStop.unref();
    sidecar.close(Math.max(0, config.shutdownGraceMs - 500)).then(
      () => process.exit(0),
      (err: unknown) => {
        sidecar.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
