/**
 * Whether a WebSocket handshake may be upgraded, and the per-connection message budget, pure.
 * The public server asks `admitConnection` before it writes `101`, so a refusal is a plain
 * HTTP answer and no socket is ever accepted only to be closed.
 *
 * Invariants:
 * - Checks run in a fixed order and the first failure is the answer: the total cap, then the
 *   per-address cap. (The Origin is checked before, in origin-policy.ts.) Draining is not a
 *   refusal here: a draining sidecar still upgrades and closes with 1001, the one close the
 *   browser client answers with an immediate reconnect (to another pod).
 * - `retryAfterSeconds` is a whole number in [base, 2 × base], base = ceil(baseMs / 1000) ≥ 1:
 *   refused clients spread over a window instead of all returning in the same second.
 * - The token bucket holds at most `burst` tokens, refills `perMinute` tokens per minute from
 *   the last time it was looked at, and a message is allowed only when a whole token is left.
 *   A clock that goes backwards refills nothing.
 */

export type AdmissionVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly code: 'VO_WS_AT_CAPACITY' | 'VO_WS_IP_AT_CAPACITY' };

export interface AdmissionInput {
  /** open sockets */
  readonly connections: number;
  readonly maxConnections: number;
  /** open sockets counted under this client's address */
  readonly fromAddress: number;
  readonly maxPerAddress: number;
}

export function admitConnection(input: AdmissionInput): AdmissionVerdict {
  if (input.connections >= input.maxConnections) return { ok: false, code: 'VO_WS_AT_CAPACITY' };
  if (input.fromAddress >= input.maxPerAddress) return { ok: false, code: 'VO_WS_IP_AT_CAPACITY' };
  return { ok: true };
}

/** The `Retry-After` value (s) for a refusal, from a uniform draw in [0, 1). */
export function retryAfterSeconds(baseMs: number, random: number): number {
  const base = Math.max(1, Math.ceil(baseMs / 1000));
  const r = Number.isFinite(random) ? Math.min(Math.max(random, 0), 1) : 0;
  return base + Math.min(base, Math.floor(r * (base + 1)));
}

export interface MessageRate {
  /** tokens the bucket holds when full (messages allowed back to back) */
  readonly burst: number;
  /** sustained messages per minute */
  readonly perMinute: number;
}

export interface TokenBucket {
  readonly tokens: number;
  /** ms, when `tokens` was last computed */
  readonly at: number;
}

export function fullBucket(rate: MessageRate, now: number): TokenBucket {
  return { tokens: rate.burst, at: now };
}

/** Spends one token if there is one. `allowed` false means the message is over the rate. */
export function takeToken(bucket: TokenBucket, now: number, rate: MessageRate): { allowed: boolean; bucket: TokenBucket } {
  const elapsed = Math.max(0, now - bucket.at);
  const tokens = Math.min(rate.burst, bucket.tokens + (elapsed * rate.perMinute) / 60_000);
  if (tokens < 1) return { allowed: false, bucket: { tokens, at: Math.max(now, bucket.at) } };
  return { allowed: true, bucket: { tokens: tokens - 1, at: Math.max(now, bucket.at) } };
}
