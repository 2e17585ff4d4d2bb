/**
 * Canonical JSON (RFC 8785 style) for signing: object keys sorted by UTF-16 code unit order
 * at every level, no insignificant whitespace, numbers and strings as JSON.stringify writes
 * them (which matches RFC 8785 for the integers and strings AppState holds).
 * Invariant: canonicalJson(JSON.parse(canonicalJson(x))) === canonicalJson(x).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('canonicalJson: non-finite number');
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') {
      throw new TypeError(`canonicalJson: cannot encode ${typeof value}`);
    }
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}
