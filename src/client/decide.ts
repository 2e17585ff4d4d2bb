/**
 * Pure decisions of the browser client: no DOM, no clock, no randomness of its own (callers
 * pass `random`). The (epoch, seq) order and the backoff step are core's (src/core/order.ts,
 * src/core/backoff.ts): small pure modules the bundle may hold.
 *
 * Why the version and policy logic here is a second copy of src/core/version.ts + change.ts
 * (both are pure and dependency-free, so bundle size is not the reason):
 * - it answers another question: "is the served version news for a page at `pageVersion`?",
 *   not "what kind of step did the app take?" (core's `classify`, which feeds `state.change`).
 *   The two disagree from a pre-release page to its release: here 1.4.0-rc.1 → 1.4.0 is
 *   `prerelease` (announced only under policy `any`), in core it is `minor`. Using core's
 *   would change what pages are told;
 * - a page version is whatever the app passes to the client, read leniently (surrounding
 *   whitespace, build metadata, leading zeros); core reads label values strictly and refuses
 *   those. A page version that is not semver is `unknown` and counts as a major change;
 * - parseVersion/compareVersions/changeBetween/policyAllows are exported by the bundle
 *   (src/client/index.ts) with these shapes.
 * test/unit/client/decide.test.ts holds both copies to the same precedence on every valid label
 * and to the same classification wherever they are meant to agree.
 */

// Types only: erased from the bundle.
import type { AppState, Change, Phase, Policy } from '../core/app-state.ts';
import { backoffStep, type BackoffPolicy } from '../core/backoff.ts';
import { GOING_AWAY, GOING_AWAY_WINDOW_MS, MAX_HINT_MS, OVERLOADED, OVERLOAD_HINT_MS } from './constants.ts';
export type { AppState, Change, Phase, Policy };

/** What a state means for a page running `pageVersion`. */
export type Decision =
  | { kind: 'update' | 'rollback'; version: string; change: Change | 'unknown' }
  | { kind: 'progress' }
  | { kind: 'current' | 'none' };

type Parsed = [number, number, number, string[]];

const SEMVER = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

/** Parses "1.2.3", "v1.2.3-rc.1" (build metadata ignored); null when not semver. */
export function parseVersion(v: string): Parsed | null {
  const match = SEMVER.exec(v.trim());
  return match ? [+match[1]!, +match[2]!, +match[3]!, match[4] ? match[4].split('.') : []] : null;
}

/** semver precedence: < 0 when a is lower than b, 0 when equal (ignoring build metadata). */
export function compareVersions(a: Parsed, b: Parsed): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  const pa = a[3];
  const pb = b[3];
  if (!pa.length || !pb.length) return pb.length - pa.length; // a release ranks above its pre-releases
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === y) continue;
    const xIsNumber = /^\d+$/.test(x);
    const yIsNumber = /^\d+$/.test(y);
    if (xIsNumber && yIsNumber) return +x - +y;
    if (xIsNumber !== yIsNumber) return xIsNumber ? -1 : 1; // numeric identifiers rank lower
    return x < y ? -1 : 1;
  }
  return 0;
}

/** The largest component that differs between two versions. */
export function changeBetween(a: Parsed, b: Parsed): 'major' | 'minor' | 'patch' | 'prerelease' | 'none' {
  if (a[0] !== b[0]) return 'major';
  if (a[1] !== b[1]) return 'minor';
  if (a[2] !== b[2]) return 'patch';
  return compareVersions(a, b) === 0 ? 'none' : 'prerelease';
}

const RANK: Record<string, number> = { major: 3, minor: 2, patch: 1, prerelease: 0, any: 0, unknown: 3 };

/** True when a change of this kind is at least as large as the policy's smallest announced change. */
export function policyAllows(change: string, policy: Policy): boolean {
  return (RANK[change] ?? 0) >= (RANK[policy] ?? 1);
}

/**
 * Does `state` warrant telling a page at `pageVersion` anything?
 * - not converged → progress (never an update while pods are mixed);
 * - converged at the page's own version → current;
 * - converged lower than the page's version (or a rollback of an unparseable one) → rollback, always;
 * - converged higher → update when the change is at least `policy` (client option, else the
 *   state's policy, else "patch"); a version that is not semver counts as a major change.
 */
export function decide(state: AppState, pageVersion: string, policy?: Policy): Decision {
  if (state.phase !== 'converged') return { kind: 'progress' };
  const target = state.version;
  if (target === null) return { kind: 'none' };
  const page = parseVersion(pageVersion);
  const next = parseVersion(target);
  const semver = page && next;
  // without semver on both sides: equal text is current, a state's own "rollback" is one
  const order = semver ? compareVersions(next!, page!) : target.trim() === pageVersion.trim() ? 0 : state.change === 'rollback' ? -1 : 1;
  if (order === 0) return { kind: 'current' };
  if (order < 0) return { kind: 'rollback', version: target, change: 'rollback' };
  const change = semver ? changeBetween(page!, next!) : 'unknown';
  return policyAllows(change, policy ?? state.policy ?? 'patch') ? { kind: 'update', version: target, change } : { kind: 'none' };
}

/** The browser's reconnect backoff: full jitter, ceiling 0.5 s doubling to 30 s. */
export const RECONNECT_BACKOFF: BackoffPolicy = { baseMs: 500, maxMs: 30_000, jitter: 'full' };
/**
 * After a failure (the last connection closed before its hello): the same ceilings, equal jitter.
 * Its floor (half the ceiling) bounds how often a refused tab can try, whatever the draws.
 */
export const FAILURE_BACKOFF: BackoffPolicy = { ...RECONNECT_BACKOFF, jitter: 'equal' };

/** Full-jitter exponential backoff: uniform in [0, min(30 s, 0.5 s · 2^attempt)), whole ms; `attempt` 0 is the first retry. */
export function backoffMs(attempt: number, random: number): number {
  return backoffStep(attempt + 1, RECONNECT_BACKOFF, random);
}

export { GOING_AWAY, GOING_AWAY_WINDOW_MS, OVERLOADED, OVERLOAD_HINT_MS, MAX_HINT_MS };

/**
 * The server's "not before" hint of a close, in ms: the reason's `retry-after=<seconds>` (any
 * close code), else OVERLOAD_HINT_MS for a 1013, else 0 (no hint).
 */
export function overloadHintMs(closeCode?: number, reason = ''): number {
  const seconds = /retry-after=(\d+)/i.exec(reason)?.[1];
  return seconds ? Math.min(+seconds * 1000, MAX_HINT_MS) : closeCode === OVERLOADED ? OVERLOAD_HINT_MS : 0;
}

/**
 * Delay before reconnect number `attempt`: 0 is the first after a connection that was healthy
 * (got its hello), or after the page's first socket; each connection that closes before its
 * hello is one more. The count grows from the last failure, not from the last open:
 * - attempt 0: full jitter over [0, 0.5 s); a draining pod's 1001 is not a failure, so that
 *   retry is spread over 100 ms only: its clients land on a live pod and get the news in its
 *   hello at once;
 * - attempt n ≥ 1: equal jitter, uniform in [c/2, c) with c = min(30 s, 0.5 s · 2^n);
 * - a server hint h (overloadHintMs) adds a wait uniform in [h, 2h) on top of that.
 */
export function reconnectDelayMs(attempt: number, random: number, closeCode?: number, reason?: string): number {
  const hint = overloadHintMs(closeCode, reason);
  if (attempt === 0 && closeCode === GOING_AWAY && !hint) return random * GOING_AWAY_WINDOW_MS;
  return hint * (1 + random) + backoffStep(attempt + 1, attempt ? FAILURE_BACKOFF : RECONNECT_BACKOFF, random);
}

/** The WebSocket URL for a page: explicit `url` (http(s) or ws(s)), else `/version/ws` on the page's origin. */
export function socketUrl(base: string, url: string | undefined, pageVersion: string): string {
  const socket = new URL(url ?? '/version/ws', base);
  socket.protocol = socket.protocol === 'https:' || socket.protocol === 'wss:' ? 'wss:' : 'ws:';
  socket.searchParams.set('v', pageVersion);
  return socket.href;
}
