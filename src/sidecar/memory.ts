/**
 * What the sidecar reads about its memory from Linux: the container's limit (cgroup v2
 * `memory.max`), a process's resident memory split by kind (/proc/<pid>/smaps_rollup) and the
 * open-file limit (/proc/<pid>/limits). Plain file reads, no dependencies, so the supervisor can
 * load this without growing.
 *
 * Invariants: every reader returns null (never throws) when the file is absent or unreadable
 * (cgroup v1 hosts, macOS, a process that is gone); sizes are bytes.
 * VERSION_OBSERVER_CGROUP_DIR replaces /sys/fs/cgroup (benchmarks and tests simulate a limit with
 * a directory holding a `memory.max` file); it is not a user setting.
 */
import { readFileSync } from 'node:fs';

export const CGROUP_DIR_ENV = 'VERSION_OBSERVER_CGROUP_DIR';

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** memory.max of the cgroup in `dir`, bytes; null when the file is absent or says "max". */
export function readMemoryMax(env: NodeJS.ProcessEnv = process.env): number | null {
  const dir = env[CGROUP_DIR_ENV] || '/sys/fs/cgroup';
  const text = read(`${dir}/memory.max`)?.trim();
  if (text === undefined || text === 'max' || !/^\d+$/.test(text)) return null;
  return Number(text);
}

export interface MemoryRollup {
  rss: number;
  pss: number;
  sharedClean: number;
  privateClean: number;
  privateDirty: number;
  anonymous: number;
}

/** /proc/<pid>/smaps_rollup in bytes. */
export function readSmapsRollup(pid: number | 'self' = 'self'): MemoryRollup | null {
  const text = read(`/proc/${pid}/smaps_rollup`);
  if (text === null) return null;
  const kib = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : 0;
  };
  return {
    rss: kib('Rss'), pss: kib('Pss'), sharedClean: kib('Shared_Clean'),
    privateClean: kib('Private_Clean'), privateDirty: kib('Private_Dirty'), anonymous: kib('Anonymous'),
  };
}

/** The soft RLIMIT_NOFILE of a process; null when unknown or unlimited. */
export function readOpenFileLimit(pid: number | 'self' = 'self'): number | null {
  const m = /^Max open files\s+(\d+)/m.exec(read(`/proc/${pid}/limits`) ?? '');
  return m ? Number(m[1]) : null;
}
