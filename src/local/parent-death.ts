/**
 * Children that die with the harness. Where util-linux `setpriv` is present, every process the
 * local cluster starts (control plane and containers) runs through it with a parent-death
 * signal, so even a SIGKILLed harness leaves no process behind; without it the command runs as
 * given and the exit hooks are the only cleanup.
 */
import { existsSync } from 'node:fs';

const SETPRIV = '/usr/bin/setpriv';
const HAS_SETPRIV = existsSync(SETPRIV);

/** The command line that runs `executable args…` and SIGKILLs it when this process dies. */
export function withParentDeathSignal(executable: string, args: string[]): [string, string[]] {
  return HAS_SETPRIV ? [SETPRIV, ['--pdeathsig', 'KILL', '--', executable, ...args]] : [executable, args];
}
