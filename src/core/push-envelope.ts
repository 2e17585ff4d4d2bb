/**
 * The decision on one push envelope `{ state, sig }`, pure: the sidecar's admin route and every
 * stand-in receiver of tests and benchmarks ask this one function, so they cannot drift.
 *
 * Invariant (the order of the checks is part of the contract, docs/protocol.md):
 *   shape (400 VO_PUSH_MALFORMED) → a key is loaded (401 VO_PUSH_NO_KEY) → a signature is
 *   present and verifies over the canonical JSON of exactly `state` (401 VO_PUSH_BAD_SIGNATURE)
 *   → for this app (400 VO_PUSH_WRONG_APP) → newer in (epoch, seq) than what is held
 *   (409 VO_PUSH_STALE). Only a push that passes all of them is applied.
 */
import type { KeyObject } from 'node:crypto';
import { validateAppState, type AppState } from './app-state.ts';
import type { ErrorCode } from './errors.ts';
import { compareOrder, type Order } from './order.ts';
import { verifyState } from './signature.ts';

export type PushVerdict =
  | { ok: true; state: AppState }
  /** `state` is the validated state when the refusal came after the shape check. */
  | { ok: false; code: ErrorCode; detail: string; state: AppState | null };

export interface PushContext {
  /** Trusted public keys. */
  keys: readonly KeyObject[];
  /** Why there is no key, for the VO_PUSH_NO_KEY detail. */
  noKeyReason?: string | null;
  /** The app this receiver serves ("namespace/name"); null accepts any app. */
  app: string | null;
  /** The order of the state held now; null when none. */
  held: Order | null;
}

export function checkPush(body: unknown, ctx: PushContext): PushVerdict {
  const envelope = (typeof body === 'object' && body !== null ? body : {}) as { state?: unknown; sig?: unknown };
  const checked = validateAppState(envelope.state);
  if (!checked.ok) return { ok: false, code: 'VO_PUSH_MALFORMED', detail: checked.error, state: null };
  const state = checked.state;
  if (ctx.keys.length === 0) return { ok: false, code: 'VO_PUSH_NO_KEY', detail: ctx.noKeyReason ?? 'no key configured', state };
  if (typeof envelope.sig !== 'string' || envelope.sig === '') return { ok: false, code: 'VO_PUSH_BAD_SIGNATURE', detail: 'the push carries no "sig"', state };
  if (!verifyState(envelope.state, envelope.sig, ctx.keys)) {
    return { ok: false, code: 'VO_PUSH_BAD_SIGNATURE', detail: `checked against ${ctx.keys.length} key(s)`, state };
  }
  if (ctx.app !== null && state.app !== ctx.app) {
    return { ok: false, code: 'VO_PUSH_WRONG_APP', detail: `got "${state.app}", this sidecar serves "${ctx.app}"`, state };
  }
  if (compareOrder(state, ctx.held) <= 0) {
    return { ok: false, code: 'VO_PUSH_STALE', detail: `got (${state.epoch}, ${state.seq}), holding (${ctx.held?.epoch}, ${ctx.held?.seq})`, state };
  }
  return { ok: true, state };
}
