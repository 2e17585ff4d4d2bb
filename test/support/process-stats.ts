/**
 * CPU time and resident memory of a process, read from Linux /proc (benchmarks and leak checks).
 * Invariants: cpuSeconds counts user + system time in clock ticks of 10 ms (USER_HZ is 100 on
 * Linux); rssBytes is 0 once the process is gone, so a late reading never throws.
 */
import { readFileSync } from 'node:fs';

export const MiB = 2 ** 20;

/** utime + stime of a process, in seconds. */
export function cpuSeconds(pid: number): number {
  // Fields after the command name (which may hold spaces, hence the split at ") "): utime is the 12th, stime the 13th.
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** Resident set size (VmRSS) in bytes; 0 when the process is gone. */
export function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export const rssMiB = (pid: number): number => rssBytes(pid) / MiB;
