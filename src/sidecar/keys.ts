/**
 * What this sidecar trusts: the public keys and the installation id pinned in its env
 * (VERSION_OBSERVER_PUBLIC_KEY, VERSION_OBSERVER_INSTALLATION), put there by the admission
 * webhook or by the app team from the controller's trust ConfigMap (docs/security.md).
 *
 * Invariants:
 * - Nothing is ever fetched: no peer on the pod network can add a key (no trust on first use).
 *   The set is fixed for the life of the container, so the controller, which reads the same env
 *   from the pod spec, knows exactly which keys this sidecar accepts.
 * - A sidecar missing either keeps serving (state null) and refuses every push with
 *   VO_PUSH_NO_KEY; `missing` says why, logged once at start.
 */
import type { KeyObject } from 'node:crypto';
import { keyIdOf } from '../core/signature.ts';
import { INSTALLATION_ENV, PUBLIC_KEY_ENV } from '../core/trust.ts';

export class PinnedTrust {
  readonly keys: readonly KeyObject[];
  /** key id of each of `keys`, same order (for the log line of an applied push) */
  readonly kids: readonly string[];
  /** null when none is pinned */
  readonly installation: string | null;
  /** why pushes are refused (no key or no installation); null when both are pinned */
  readonly missing: string | null;

  constructor(keys: readonly KeyObject[], installation: string | null) {
    this.keys = keys;
    this.kids = keys.map(keyIdOf);
    this.installation = installation;
    const absent = [keys.length === 0 ? PUBLIC_KEY_ENV : null, installation === null ? INSTALLATION_ENV : null].filter((n) => n !== null);
    this.missing = absent.length === 0 ? null : `${absent.join(' and ')} not set`;
  }
}
