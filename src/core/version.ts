/**
 * Version labels (docs/protocol.md "Labels and annotations"): a pod's `app.kubernetes.io/version`
 * value, parsed as strict SemVer 2.0.0.
 *
 * Invariants:
 * - Accepted: `MAJOR.MINOR.PATCH` with an optional `-PRERELEASE`, optionally preceded by one
 *   lowercase `v`. Numeric parts have no leading zeros and are safe integers.
 * - Build metadata (`+…`) is rejected: Kubernetes label values cannot hold `+`, so a version that
 *   has it can never come from a label, and accepting it elsewhere would make two spellings of
 *   one version compare equal.
 * - Anything longer than a label value (63 characters) is rejected, as is any surrounding
 *   whitespace, `=` prefix, `V` prefix, or range syntax. No guessing: a label we cannot read is
 *   reported, never repaired.
 * - The normalized form drops the `v`; `parseVersion(normalized)` returns the same value.
 * - Pure: no I/O, no dependencies (semver is only the test oracle).
 */

/** A parsed version. `prerelease` holds numbers for numeric identifiers, strings otherwise. */
export interface Version {
  major: number;
  minor: number;
  patch: number;
  prerelease: ReadonlyArray<string | number>;
  /** Normalized text: no `v`, e.g. "1.4.0-rc.1". */
  text: string;
}

export type ParseResult = { ok: true; version: Version } | { ok: false; reason: string };

/** The longest Kubernetes label value. */
export const MAX_LABEL_LENGTH = 63;

const NUM = '0|[1-9][0-9]*';
const PRE_ID = '0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*';
const VERSION_RE = new RegExp(`^v?(${NUM})\\.(${NUM})\\.(${NUM})(?:-((?:${PRE_ID})(?:\\.(?:${PRE_ID}))*))?$`);

/** Parses a version label. Never throws; on failure the reason is one readable sentence fragment. */
export function parseVersion(label: unknown): ParseResult {
  if (typeof label !== 'string') return { ok: false, reason: 'version label is missing' };
  if (label.length === 0) return { ok: false, reason: 'version label is empty' };
  if (label.length > MAX_LABEL_LENGTH) return { ok: false, reason: `version label is longer than ${MAX_LABEL_LENGTH} characters` };
  if (label.includes('+')) return { ok: false, reason: `"${label}" has build metadata ("+…"), which a label cannot hold` };
  const m = VERSION_RE.exec(label);
  if (!m) return { ok: false, reason: `"${label}" is not a semantic version (expected MAJOR.MINOR.PATCH[-PRERELEASE], optional leading "v")` };
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (![major, minor, patch].every(Number.isSafeInteger)) return { ok: false, reason: `"${label}" has a number too large` };
  const prerelease: Array<string | number> = [];
  if (m[4] !== undefined) {
    for (const id of m[4].split('.')) {
      if (/^[0-9]+$/.test(id)) {
        const n = Number(id);
        if (!Number.isSafeInteger(n)) return { ok: false, reason: `"${label}" has a number too large` };
        prerelease.push(n);
      } else {
        prerelease.push(id);
      }
    }
  }
  const text = label.startsWith('v') ? label.slice(1) : label;
  return { ok: true, version: { major, minor, patch, prerelease, text } };
}

/** The normalized version string, or null when the label is not a valid version. */
export function normalizeVersion(label: unknown): string | null {
  const r = parseVersion(label);
  return r.ok ? r.version.text : null;
}

/** Parses or throws (for values already known to be valid, e.g. normalized strings). */
export function mustParseVersion(label: string): Version {
  const r = parseVersion(label);
  if (!r.ok) throw new TypeError(r.reason);
  return r.version;
}

/** SemVer precedence of the major.minor.patch part only: < 0, 0, > 0. */
export function compareMain(a: Version, b: Version): number {
  return Math.sign(a.major - b.major) || Math.sign(a.minor - b.minor) || Math.sign(a.patch - b.patch);
}

/**
 * SemVer 2.0.0 precedence: -1, 0 or 1. A release is higher than its prereleases; numeric
 * identifiers compare numerically and are lower than alphanumeric ones, which compare in ASCII
 * order; a shorter identifier list that is a prefix of a longer one is lower.
 */
export function compareVersions(a: Version, b: Version): number {
  const main = compareMain(a, b);
  if (main !== 0) return main;
  const pa = a.prerelease;
  const pb = b.prerelease;
  if (pa.length === 0 || pb.length === 0) return Math.sign(pb.length - pa.length);
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const c = compareIdentifiers(pa[i] as string | number, pb[i] as string | number);
    if (c !== 0) return c;
  }
  return Math.sign(pa.length - pb.length);
}

function compareIdentifiers(x: string | number, y: string | number): number {
  if (typeof x === 'number' && typeof y === 'number') return Math.sign(x - y);
  if (typeof x === 'number') return -1;
  if (typeof y === 'number') return 1;
  return x < y ? -1 : x > y ? 1 : 0;
}
