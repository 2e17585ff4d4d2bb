/**
 * The public keys a push must be signed with. Either pinned by configuration (never change),
 * or fetched from the controller's `GET /v1/keys`: retried with full-jitter backoff
 * (0.5 s → 30 s) until the first success, then refreshed every `refreshMs` so a rotated key is
 * picked up. Until a key is loaded `keys` is empty and every push is refused (401).
 */
import type { KeyObject } from 'node:crypto';
import { backoffStep, type BackoffPolicy } from '../core/backoff.ts';
import { publicKeyFromBase64 } from '../core/signature.ts';
import type { Logger } from '../platform/logger.ts';

/** Retries until the first key is loaded: full jitter, ceiling 0.5 s doubling to 30 s. */
export const KEY_FETCH_BACKOFF: BackoffPolicy = { baseMs: 500, maxMs: 30_000, jitter: 'full' };

export interface KeySourceOptions {
  pinned: readonly KeyObject[];
  controllerUrl: string | null;
  log: Logger;
  /** refresh period once loaded; default 60000 */
  refreshMs?: number;
  /** per-request timeout; default 5000 */
  timeoutMs?: number;
  /** injected for tests; default Math.random */
  random?: () => number;
  onChange?: (count: number) => void;
}

export class KeySource {
  keys: readonly KeyObject[];
  /** why `keys` is empty, for the 401 log line */
  lastError: string | null = null;
  readonly #options: KeySourceOptions;
  #timer: NodeJS.Timeout | null = null;
  #abort = new AbortController();
  /** failed fetches since the last success (0 while none failed) */
  #failures = 0;

  constructor(options: KeySourceOptions) {
    this.#options = options;
    this.keys = options.pinned;
    if (this.keys.length === 0) this.lastError = `not fetched yet from ${options.controllerUrl}/v1/keys`;
  }

  /** Starts fetching when no key is pinned. Never rejects. */
  start(): void {
    if (this.#options.pinned.length > 0 || !this.#options.controllerUrl) return;
    void this.#fetchOnce();
  }

  stop(): void {
    this.#abort.abort();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  async #fetchOnce(): Promise<void> {
    const url = `${this.#options.controllerUrl}/v1/keys`;
    const log = this.#options.log;
    try {
      const res = await fetch(url, { signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#options.timeoutMs ?? 5000)]) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const body = (await res.json()) as { keys?: Array<{ alg?: unknown; publicKey?: unknown }> };
      if (!Array.isArray(body.keys)) throw new Error('response has no "keys" array');
      const keys = body.keys.filter((k) => k.alg === 'Ed25519' && typeof k.publicKey === 'string').map((k) => publicKeyFromBase64(k.publicKey as string));
      if (keys.length === 0) throw new Error('response holds no Ed25519 key');
      const changed = keys.length !== this.keys.length || keys.some((k, i) => !k.equals(this.keys[i] as KeyObject));
      this.keys = keys;
      this.lastError = null;
      this.#failures = 0;
      if (changed) {
        log.info({ keys: keys.length, url }, 'loaded trusted public keys from the controller');
        this.#options.onChange?.(keys.length);
      }
      this.#schedule(this.#options.refreshMs ?? 60_000);
    } catch (err) {
      if (this.#abort.signal.aborted) return;
      const reason = `fetching ${url} failed: ${(err as Error).message}`;
      if (this.keys.length === 0) {
        this.lastError = reason;
        log.warn({ attempt: this.#failures }, `${reason}; pushes are refused until a key is loaded`);
        this.#failures++;
        this.#schedule(backoffStep(this.#failures, KEY_FETCH_BACKOFF, (this.#options.random ?? Math.random)()));
      } else {
        log.warn({}, `${reason}; keeping the ${this.keys.length} key(s) already loaded`);
        this.#schedule(this.#options.refreshMs ?? 60_000);
      }
    }
  }

  #schedule(ms: number): void {
    if (this.#abort.signal.aborted) return;
    this.#timer = setTimeout(() => void this.#fetchOnce(), ms);
    this.#timer.unref();
  }
}
