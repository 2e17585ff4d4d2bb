/**
 * The sidecar's default connection cap and its server's V8 heap limit, derived from the
 * container's memory limit. Pure: every input is a plain number the shell measured or read
 * (src/sidecar/memory.ts reads cgroup v2 `memory.max`, smaps_rollup and the open-file limit).
 *
 * Invariants:
 * - No limit (`memoryMaxBytes` null: no cgroup v2 file, or "max") → FIXED_DEFAULT_CAP, the cap
 *   that fits the documented 128Mi limit; a limit always gives a cap in [MIN_CAP, ∞) that also
 *   leaves FD_RESERVE descriptors of the open-file limit free.
 * - budget = memory.max − idle − margin, margin = max(MARGIN_MIN_BYTES, MARGIN_FRACTION ×
 *   memory.max); cap = floor(budget / per-socket bytes). A budget at or below zero gives MIN_CAP
 *   (the sidecar still serves a few browsers rather than none; the supervisor restarts it if even
 *   that is too much).
 * - Heap limit = half of memory.max, at least MIN_HEAP_MIB: the server's heap runs out (and the
 *   supervisor restarts it) while the container still has room for the binary's pages, the
 *   supervisor and the server's off-heap memory, so the kernel's OOM killer is not the one to act.
 * The constants come from bench/sidecar.bench.ts (docs/benchmarks.md, sidecar section).
 */

const MiB = 2 ** 20;

/**
 * Bytes one idle browser socket costs the container: the server's resident growth per socket at
 * 10k sockets after broadcasts (≈ 4.5 KiB, bench) plus the kernel's per-socket objects charged to
 * the cgroup (TCP socket, file, inode, epoll entry: ≈ 3 KiB), rounded up.
 */
export const PER_SOCKET_BYTES = 8 * 1024;
/**
 * What the server's RSS still grows between the moment the cap is derived (modules loaded) and
 * idle (routes compiled, ports bound, first scrapes): ~14 MiB measured, mostly more of the
 * binary's pages; rounded up.
 */
export const STARTUP_ALLOWANCE_BYTES = 16 * MiB;
export const MARGIN_FRACTION = 0.1;
export const MARGIN_MIN_BYTES = 8 * MiB;
/** Descriptors kept free for the admin port, the push connection, logs and files. */
export const FD_RESERVE = 64;
export const MIN_CAP = 100;
export const MIN_HEAP_MIB = 16;
/**
 * Cap when no memory limit is visible: what the derivation gives for a 128Mi limit with the
 * idle cost measured by the benchmark (server RSS + supervisor's private memory + allowance),
 * rounded down; an explicit VERSION_OBSERVER_MAX_CONNECTIONS replaces it.
 */
export const FIXED_DEFAULT_CAP = 2900;

export interface CapInputs {
  /** cgroup v2 memory.max in bytes; null = no limit */
  memoryMaxBytes: number | null;
  /** resident bytes already used by the container's processes (measured at start) */
  idleBytes: number;
  perSocketBytes?: number;
  /** the server process's open-file limit (RLIMIT_NOFILE); null = unknown */
  openFileLimit?: number | null;
}

export interface CapDerivation {
  cap: number;
  /** 'memory' = derived from memory.max; 'default' = FIXED_DEFAULT_CAP (no limit visible) */
  source: 'memory' | 'default';
  budgetBytes: number | null;
  marginBytes: number | null;
  perSocketBytes: number;
  /** true when the open-file limit, not memory, set the cap */
  limitedByFiles: boolean;
}

export function deriveConnectionCap(inputs: CapInputs): CapDerivation {
  const perSocketBytes = inputs.perSocketBytes ?? PER_SOCKET_BYTES;
  const fileCap = inputs.openFileLimit != null && Number.isFinite(inputs.openFileLimit) ? Math.max(MIN_CAP, inputs.openFileLimit - FD_RESERVE) : Infinity;
  const withFiles = (cap: number) => ({ cap: Math.min(cap, fileCap), limitedByFiles: fileCap < cap });
  if (inputs.memoryMaxBytes === null || !Number.isFinite(inputs.memoryMaxBytes)) {
    return { ...withFiles(FIXED_DEFAULT_CAP), source: 'default', budgetBytes: null, marginBytes: null, perSocketBytes };
  }
  const marginBytes = Math.max(MARGIN_MIN_BYTES, Math.floor(MARGIN_FRACTION * inputs.memoryMaxBytes));
  const budgetBytes = inputs.memoryMaxBytes - Math.max(0, inputs.idleBytes) - marginBytes;
  const cap = Math.max(MIN_CAP, Math.floor(budgetBytes / perSocketBytes));
  return { ...withFiles(cap), source: 'memory', budgetBytes, marginBytes, perSocketBytes };
}

/** The server's --max-old-space-size in MiB for a memory limit; null (no flag) without a limit. */
export function serverHeapLimitMiB(memoryMaxBytes: number | null): number | null {
  if (memoryMaxBytes === null || !Number.isFinite(memoryMaxBytes)) return null;
  return Math.max(MIN_HEAP_MIB, Math.floor(memoryMaxBytes / 2 / MiB));
}
