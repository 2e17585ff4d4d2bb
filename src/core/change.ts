/**
 * Change classification between two converged versions, and the per-app policy that says which
 * changes are announced as updates (docs/protocol.md "Changes and policy").
 *
 * classify(from, to):
 * - `none` when there is no previous version (first convergence) or both are equal by SemVer
 *   precedence (e.g. "v1.2.3" and "1.2.3").
 * - `rollback` whenever `to` is lower than `from`, whatever the size of the step back.
 * - otherwise the upward step, following semver's `diff()` exactly (the oracle in the tests),
 *   with its `pre*` results folded into the main kind:
 *   - premajor/preminor/prepatch → major/minor/patch (1.3.2 → 1.4.0-rc.1 is `minor`: the new
 *     version starts a new minor line, pre-release or not);
 *   - prerelease → `prerelease` (only the pre-release part moved: 1.4.0-rc.1 → 1.4.0-rc.2);
 *   - from a pre-release to its release: `patch`/`minor`/`major` by the release's own shape
 *     (1.4.1-rc.1 → 1.4.1 `patch`, 1.4.0-rc.1 → 1.4.0 `minor`, 2.0.0-rc.1 → 2.0.0 `major`);
 *   - semver's quirk kept on purpose: from an X.0.0 pre-release to any later release is `major`
 *     (1.0.0-1 → 1.1.1 is `major`), because X.0.0-pre precedes the whole X line.
 *
 * matters(change, policy): a policy names the smallest change announced as an update. Sizes, from
 * large to small: major > minor > patch > prerelease. `major` announces major only; `minor`
 * major+minor; `patch` (the default) major+minor+patch; `any` every change including
 * prerelease-only ones. `rollback` always matters (tabs must leave a version that was pulled);
 * `none` never does. An unknown or missing policy is treated as `patch`.
 */
import type { Change, Policy } from './app-state.ts';
import { POLICIES } from './app-state.ts';
import { compareMain, compareVersions, parseVersion, type Version } from './version.ts';

export const DEFAULT_POLICY: Policy = 'patch';

/**
 * Classifies the move from `from` to `to`. Both are version labels (a leading `v` is fine);
 * `from` may be null (no previous version → `none`). Throws a TypeError on an invalid version:
 * callers only classify versions they have already validated.
 */
export function classify(from: string | null, to: string): Change {
  const b = parseOrThrow(to);
  if (from === null) return 'none';
  return classifyParsed(parseOrThrow(from), b);
}

/** classify() on already parsed versions. */
export function classifyParsed(a: Version, b: Version): Change {
  const cmp = compareVersions(a, b);
  if (cmp === 0) return 'none';
  if (cmp > 0) return 'rollback';
  // a < b: `b` is the high version, `a` the low one.
  const lowHasPre = a.prerelease.length > 0;
  const highHasPre = b.prerelease.length > 0;
  if (lowHasPre && !highHasPre) {
    if (a.minor === 0 && a.patch === 0) return 'major';
    if (compareMain(a, b) === 0) return a.minor !== 0 && a.patch === 0 ? 'minor' : 'patch';
  }
  if (a.major !== b.major) return 'major';
  if (a.minor !== b.minor) return 'minor';
  if (a.patch !== b.patch) return 'patch';
  return 'prerelease';
}

const SIZE: Record<Change, number> = { none: -1, prerelease: 0, patch: 1, minor: 2, major: 3, rollback: Infinity };
const THRESHOLD: Record<Policy, number> = { any: 0, patch: 1, minor: 2, major: 3 };

/** True when `change` is announced as an update under `policy` (default `patch`). */
export function matters(change: Change, policy?: Policy | string | null): boolean {
  if (change === 'none') return false;
  if (change === 'rollback') return true;
  return SIZE[change] >= THRESHOLD[parsePolicy(policy) ?? DEFAULT_POLICY];
}

/** The policy named by an annotation value, or null when it is missing or not one we know. */
export function parsePolicy(value: unknown): Policy | null {
  if (typeof value !== 'string') return null;
  const v = value.trim();
  return (POLICIES as readonly string[]).includes(v) ? (v as Policy) : null;
}

/** How many kinds of change a policy announces; larger = more permissive (`any` is largest). */
export function policyBreadth(policy: Policy): number {
  return 3 - THRESHOLD[policy];
}

function parseOrThrow(label: string): Version {
  const r = parseVersion(label);
  if (!r.ok) throw new TypeError(r.reason);
  return r.version;
}
