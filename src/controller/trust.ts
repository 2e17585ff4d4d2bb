/**
 * The controller's side of key trust: which key signs each pod's push, the signed bodies, which
 * keys the watched pods still need, foreign orders (docs/security.md). Decisions are
 * src/core/trust.ts; this file keeps the counts, the bodies and the metrics.
 *
 * Invariants:
 * - A pod's trusted keys are what its sidecar's env pins (read from the pod spec by slim.ts), so
 *   they never change for a pod; each pod is signed for with the newest key it trusts.
 * - Each (state, key) is signed once: bodies are cached per state object (a state is replaced,
 *   never mutated), and a WeakMap lets them go with the state.
 * - Per pod event O(keys): the pod's choice is recomputed and the per-key count adjusted.
 * - Pinned lists are parsed once per distinct value (pods of one Deployment share one array).
 */
import type { Registry } from 'prom-client';
import { Counter, Gauge } from 'prom-client';
import type { AppState } from '../core/app-state.ts';
import type { PodView } from '../core/evaluate.ts';
import { pushBody } from '../core/push-envelope.ts';
import type { SigningKey } from '../core/signature.ts';
import { keyForPod, keyStatus, parseKeyList, type KeyChoice, type TrustKey } from '../core/trust.ts';
import type { KeySet } from './keys.ts';

/** Distinct pinned-list values parsed and kept; beyond it the cache starts over (values are few). */
const PARSED_LISTS_MAX = 256;

export interface TrustMetrics {
  keyPods: Gauge<'kid' | 'role'>;
  keyRetired: Gauge<'kid' | 'role'>;
  podsByChoice: Gauge<'choice'>;
  foreignOrders: Counter<never>;
}

export function createTrustMetrics(registry: Registry): TrustMetrics {
  const registers = [registry];
  return {
    keyPods: new Gauge({ name: 'version_observer_trust_key_pods', help: 'Watched pods whose pushes this key signs (the newest of our keys each pod pins)', labelNames: ['kid', 'role'], registers }),
    keyRetired: new Gauge({ name: 'version_observer_trust_key_retired', help: '1 when no watched pod needs this key any more (a staged next key replaces it), else 0', labelNames: ['kid', 'role'], registers }),
    podsByChoice: new Gauge({
      name: 'version_observer_trust_pods',
      help: 'Watched pods by how their signing key is chosen (pinned: from the sidecar env; unknown: no literal env, signing key; untrusted: pins none of our keys)',
      labelNames: ['choice'],
      registers,
    }),
    foreignOrders: new Counter({ name: 'version_observer_foreign_orders_total', help: 'Pushes answered 409 by a sidecar holding an (epoch, seq) this controller never issued', registers }),
  };
}

export interface PublishedKey {
  kid: string;
  alg: 'Ed25519';
  publicKey: string;
  role: 'signing' | 'next';
  pods: number;
  retired: boolean;
}

export class Trust {
  readonly installation: string;
  readonly #keys: readonly TrustKey[];
  readonly #signers: ReadonlyMap<string, SigningKey>;
  readonly #metrics: TrustMetrics | null;
  readonly #bodies = new WeakMap<AppState, Map<string, string>>();
  readonly #parsed = new Map<string, readonly string[]>();
  /** "namespace/name" → the kid that signs for it, and how it was chosen */
  readonly #pods = new Map<string, { kid: string; why: KeyChoice }>();
  readonly #podsByKid = new Map<string, number>();
  readonly #podsByChoice = new Map<KeyChoice, number>();

  constructor(keys: KeySet, metrics: TrustMetrics | null = null) {
    this.installation = keys.installation;
    const all: Array<[SigningKey, TrustKey['role']]> = [[keys.signing, 'signing']];
    if (keys.next) all.push([keys.next, 'next']);
    this.#keys = all.map(([k, role]) => ({ kid: k.kid, publicKey: k.publicKeyBase64, role }));
    this.#signers = new Map(all.map(([k]) => [k.kid, k]));
    this.#metrics = metrics;
    this.#report();
  }

  /** Oldest first: the signing key, then the next key when one is staged. */
  get keys(): readonly TrustKey[] {
    return this.#keys;
  }

  /** The push body for `pod`: `state` signed with the newest key the pod trusts. */
  body(state: AppState, pod: Pick<PodView, 'trustedKeys'>): string {
    const { key } = keyForPod(this.#pinned(pod.trustedKeys), this.#keys);
    let byKid = this.#bodies.get(state);
    if (!byKid) this.#bodies.set(state, (byKid = new Map()));
    let body = byKid.get(key.kid);
    if (body === undefined) byKid.set(key.kid, (body = pushBody(this.installation, state, this.#signers.get(key.kid) as SigningKey)));
    return body;
  }

  /** A watched pod was added or changed. */
  podSeen(pod: Pick<PodView, 'namespace' | 'name' | 'trustedKeys'>): void {
    const id = `${pod.namespace}/${pod.name}`;
    const { key, why } = keyForPod(this.#pinned(pod.trustedKeys), this.#keys);
    const before = this.#pods.get(id);
    if (before?.kid === key.kid && before.why === why) return;
    if (before) this.#count(before, -1);
    this.#pods.set(id, { kid: key.kid, why });
    this.#count({ kid: key.kid, why }, 1);
    this.#report();
  }

  podGone(pod: Pick<PodView, 'namespace' | 'name'>): void {
    const id = `${pod.namespace}/${pod.name}`;
    const before = this.#pods.get(id);
    if (!before) return;
    this.#pods.delete(id);
    this.#count(before, -1);
    this.#report();
  }

  /** The keys as GET /v1/keys answers them. */
  published(): PublishedKey[] {
    return keyStatus(this.#keys, this.#podsByKid).map((k) => ({ kid: k.kid, alg: 'Ed25519', publicKey: k.publicKey, role: k.role, pods: k.pods, retired: k.retired }));
  }

  /** What the trust ConfigMap publishes: the keys a new sidecar should pin, and the installation. */
  configMapData(): { publicKeys: string; installation: string } {
    return { publicKeys: this.#keys.map((k) => k.publicKey).join(','), installation: this.installation };
  }

  /** Counts one foreign order (the caller logs it and records the Event). */
  foreignOrder(): void {
    this.#metrics?.foreignOrders.inc();
  }

  #pinned(raw: string | undefined): readonly string[] | undefined {
    if (raw === undefined) return undefined;
    let list = this.#parsed.get(raw);
    if (list === undefined) {
      if (this.#parsed.size >= PARSED_LISTS_MAX) this.#parsed.clear();
      this.#parsed.set(raw, (list = Object.freeze(parseKeyList(raw))));
    }
    return list;
  }

  #count(entry: { kid: string; why: KeyChoice }, delta: 1 | -1): void {
    this.#podsByKid.set(entry.kid, (this.#podsByKid.get(entry.kid) ?? 0) + delta);
    this.#podsByChoice.set(entry.why, (this.#podsByChoice.get(entry.why) ?? 0) + delta);
  }

  #report(): void {
    const m = this.#metrics;
    if (!m) return;
    for (const k of keyStatus(this.#keys, this.#podsByKid)) {
      m.keyPods.set({ kid: k.kid, role: k.role }, k.pods);
      m.keyRetired.set({ kid: k.kid, role: k.role }, k.retired ? 1 : 0);
    }
    for (const choice of ['pinned', 'unknown', 'untrusted'] as const) m.podsByChoice.set({ choice }, this.#podsByChoice.get(choice) ?? 0);
  }
}
