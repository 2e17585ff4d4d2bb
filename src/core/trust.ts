/**
 * Key trust without trust on first use (docs/security.md, docs/protocol.md "Keys"), the pure
 * decisions: which of the controller's keys signs for a pod, which order a sidecar holds that
 * the controller never issued, when an epoch is implausibly far ahead, which keys are retired.
 *
 * Invariants:
 * - A sidecar's trusted keys and installation are pinned in its env (PUBLIC_KEY_ENV,
 *   INSTALLATION_ENV) and never change for the life of the container: the controller reads them
 *   from the pod spec it already watches, so it knows exactly what each sidecar will accept.
 * - Keys are listed oldest first: the signing key, then the next key (when one is staged). A pod
 *   is signed for with the newest key it trusts; a pod whose trust cannot be read from its spec
 *   (no literal env value) gets the signing key, which every sidecar pinned so far trusts.
 * - A held order is foreign when it is newer than the app's current state: the controller
 *   stamps states of one app with increasing (epoch, seq), so nothing it issued for that app is
 *   newer than what it holds now.
 * - Nothing here reads a clock, the network or the environment.
 */
import { compareOrder, type Order } from './order.ts';

/** The sidecar's env holding its trusted keys: base64 raw Ed25519, comma-separated. */
export const PUBLIC_KEY_ENV = 'VERSION_OBSERVER_PUBLIC_KEY';
/** The sidecar's env holding the installation id its pushes must be signed for. */
export const INSTALLATION_ENV = 'VERSION_OBSERVER_INSTALLATION';

/**
 * A state whose epoch (Unix seconds at the leader's acquisition) is more than this ahead of the
 * receiver's clock is refused: legitimate epochs are at most the acquiring node's clock plus one
 * per failover, so only a clock skew above an hour or a forged state goes beyond it.
 */
export const FUTURE_EPOCH_MARGIN_MS = 3_600_000;

/** Installation ids: 1–64 of [A-Za-z0-9._-], starting alphanumeric (a UUID fits). */
const INSTALLATION_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function isInstallationId(value: unknown): value is string {
  return typeof value === 'string' && INSTALLATION_RE.test(value);
}

/** The entries of a comma-separated key list, trimmed, empty ones dropped. */
export function parseKeyList(value: string | undefined | null): string[] {
  if (!value) return [];
  return value
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k !== '');
}

/** True when `epoch` (seconds) is more than `marginMs` ahead of `nowMs`. */
export function epochTooFarAhead(epoch: number, nowMs: number, marginMs: number = FUTURE_EPOCH_MARGIN_MS): boolean {
  return epoch * 1000 > nowMs + marginMs;
}

/** One of the controller's keys as the trust decisions see it. */
export interface TrustKey {
  kid: string;
  /** base64 of the raw 32-byte public key (the form pinned in PUBLIC_KEY_ENV). */
  publicKey: string;
  role: 'signing' | 'next';
}

/** Why a key was chosen for a pod. */
export type KeyChoice =
  /** the newest of our keys the pod's pinned list holds */
  | 'pinned'
  /** the pod's spec shows no literal key list: the signing key */
  | 'unknown'
  /** the pod pins none of our keys: the signing key (its sidecar will refuse; counted) */
  | 'untrusted';

/**
 * The key that signs pushes to a pod: the newest of `keys` (oldest first) found in the pod's
 * pinned list; `pinned` undefined means the spec does not show it. `keys` is never empty.
 */
export function keyForPod(pinned: readonly string[] | undefined, keys: readonly TrustKey[]): { key: TrustKey; why: KeyChoice } {
  const signing = keys[0] as TrustKey;
  if (pinned === undefined) return { key: signing, why: 'unknown' };
  for (let i = keys.length - 1; i >= 0; i--) {
    const k = keys[i] as TrustKey;
    if (pinned.includes(k.publicKey)) return { key: k, why: 'pinned' };
  }
  return { key: signing, why: 'untrusted' };
}

/**
 * Each key with the number of pods it signs for (`podsByKid`, counted with keyForPod) and
 * whether it is retired: no watched pod needs it, so it can leave the Secret. Only a signing
 * key that a staged next key replaces can retire; the next key is the future, never retired.
 */
export function keyStatus(keys: readonly TrustKey[], podsByKid: ReadonlyMap<string, number>): Array<TrustKey & { pods: number; retired: boolean }> {
  return keys.map((k) => {
    const pods = podsByKid.get(k.kid) ?? 0;
    return { ...k, pods, retired: pods === 0 && k.role === 'signing' && keys.length > 1 };
  });
}

/**
 * The order a sidecar says it holds, from its 409 body `{ code, message, held: { epoch, seq } }`
 * (parsed, or the raw text); null when the body carries none (an older sidecar or a stand-in).
 */
export function heldOrderOf(body: unknown): Order | null {
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      return null;
    }
  }
  const held = (typeof body === 'object' && body !== null ? (body as { held?: unknown }).held : undefined) as { epoch?: unknown; seq?: unknown } | undefined;
  if (typeof held !== 'object' || held === null) return null;
  const { epoch, seq } = held;
  if (!Number.isSafeInteger(epoch) || !Number.isSafeInteger(seq) || (epoch as number) < 0 || (seq as number) < 0) return null;
  return { epoch: epoch as number, seq: seq as number };
}

/**
 * True when a sidecar holds an order the controller never issued for its app: newer than the
 * app's current state (`current`), i.e. a later epoch than the controller's, or the same epoch
 * and a higher seq than it stamped.
 */
export function isForeignOrder(held: Order | null, current: Order | null): boolean {
  return held !== null && current !== null && compareOrder(held, current) > 0;
}
