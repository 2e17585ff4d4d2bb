/**
 * The push envelope `{ installation, state, sig }` and the one decision on it, pure: the
 * sidecar's admin route and every stand-in receiver of tests and benchmarks ask `checkPush`, and
 * every sender builds its body with `pushBody`, so they cannot drift.
 *
 * Invariant (the order of the checks is part of the contract, docs/protocol.md):
 *   shape (400 VO_PUSH_MALFORMED) → a key and an installation are pinned (401 VO_PUSH_NO_KEY) →
 *   a signature is present and verifies over the canonical JSON of exactly
 *   `{ installation, state }` (401 VO_PUSH_BAD_SIGNATURE) → for this installation (403
 *   VO_PUSH_WRONG_INSTALLATION) → for this app (400 VO_PUSH_WRONG_APP) → an epoch not implausibly
 *   far ahead of `nowMs` (400 VO_PUSH_FUTURE_EPOCH) → newer in (epoch, seq) than what is held
 *   (409 VO_PUSH_STALE). Only a push that passes all of them is applied.
 */
import type { KeyObject } from 'node:crypto';
import { validateAppState, type AppState } from './app-state.ts';
import type { ErrorCode } from './errors.ts';
import { compareOrder, type Order } from './order.ts';
import { signPush, verifyPush, type SigningKey } from './signature.ts';
import { FUTURE_EPOCH_MARGIN_MS, epochTooFarAhead, isInstallationId } from './trust.ts';

export type PushVerdict =
  /** `keyIndex`: which of the context's keys verified the signature. */
  | { ok: true; state: AppState; keyIndex: number }
  /** `state` is the validated state when the refusal came after the shape check. */
  | { ok: false; code: ErrorCode; detail: string; state: AppState | null };

export interface PushContext {
  /** Trusted public keys. */
  keys: readonly KeyObject[];
  /**
   * The installation pushes must be signed for. `undefined` accepts any (test stand-ins only);
   * `null` means none is pinned: every push is refused with VO_PUSH_NO_KEY.
   */
  installation?: string | null;
  /** Why there is no key, for the VO_PUSH_NO_KEY detail. */
  noKeyReason?: string | null;
  /** The app this receiver serves ("namespace/name"); null accepts any app. */
  app: string | null;
  /** The order of the state held now; null when none. */
  held: Order | null;
  /** The receiver's clock (ms), for the far-future epoch check; undefined skips it (stand-ins). */
  nowMs?: number;
}

/** The JSON body of a push of `state` for `installation`, signed with `key`. */
export function pushBody(installation: string, state: AppState, key: SigningKey): string {
  return JSON.stringify({ installation, state, sig: signPush(installation, state, key) });
}

export function checkPush(body: unknown, ctx: PushContext): PushVerdict {
  const envelope = (typeof body === 'object' && body !== null ? body : {}) as { installation?: unknown; state?: unknown; sig?: unknown };
  const checked = validateAppState(envelope.state);
  if (!checked.ok) return { ok: false, code: 'VO_PUSH_MALFORMED', detail: checked.error, state: null };
  const state = checked.state;
  if (!isInstallationId(envelope.installation)) return { ok: false, code: 'VO_PUSH_MALFORMED', detail: 'the push carries no valid "installation"', state };
  if (ctx.keys.length === 0 || ctx.installation === null) {
    return { ok: false, code: 'VO_PUSH_NO_KEY', detail: ctx.noKeyReason ?? 'no key configured', state };
  }
  if (typeof envelope.sig !== 'string' || envelope.sig === '') return { ok: false, code: 'VO_PUSH_BAD_SIGNATURE', detail: 'the push carries no "sig"', state };
  const keyIndex = verifyPush(envelope.installation, envelope.state, envelope.sig, ctx.keys);
  if (keyIndex < 0) return { ok: false, code: 'VO_PUSH_BAD_SIGNATURE', detail: `checked against ${ctx.keys.length} key(s)`, state };
  if (ctx.installation !== undefined && envelope.installation !== ctx.installation) {
    return { ok: false, code: 'VO_PUSH_WRONG_INSTALLATION', detail: `got "${envelope.installation}", this sidecar belongs to "${ctx.installation}"`, state };
  }
  if (ctx.app !== null && state.app !== ctx.app) {
    return { ok: false, code: 'VO_PUSH_WRONG_APP', detail: `got "${state.app}", this sidecar serves "${ctx.app}"`, state };
  }
  if (ctx.nowMs !== undefined && epochTooFarAhead(state.epoch, ctx.nowMs)) {
    return { ok: false, code: 'VO_PUSH_FUTURE_EPOCH', detail: `epoch ${state.epoch} is more than ${FUTURE_EPOCH_MARGIN_MS / 1000} s ahead of this clock (${Math.floor(ctx.nowMs / 1000)})`, state };
  }
  if (compareOrder(state, ctx.held) <= 0) {
    return { ok: false, code: 'VO_PUSH_STALE', detail: `got (${state.epoch}, ${state.seq}), holding (${ctx.held?.epoch}, ${ctx.held?.seq})`, state };
  }
  return { ok: true, state, keyIndex };
}
