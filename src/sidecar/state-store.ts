/**
 * The one AppState this sidecar holds, and every byte form of it the servers send.
 * Invariants: the held state only moves forward in (epoch, seq); each form is serialized once
 * per applied state (never per client or per request); `etag` changes exactly when the
 * `GET /version` body does.
 */
import { createHash } from 'node:crypto';
import type { AppState } from '../core/app-state.ts';
import { compareOrder } from '../core/order.ts';

export type ApplyResult = 'applied' | 'stale';

export class StateStore {
  readonly app: string;
  readonly podVersion: string;
  #state: AppState | null = null;
  /** `{"type":"hello",...}` as UTF-8, sent to every new socket */
  hello: Buffer;
  /** `{"type":"state",...}` of the held state as UTF-8; null before the first push */
  stateFrame: Buffer | null = null;
  /** `GET /version` body */
  versionBody: string;
  /** strong ETag of versionBody */
  etag: string;

  constructor(app: string, podVersion: string) {
    this.app = app;
    this.podVersion = podVersion;
    this.hello = Buffer.alloc(0);
    this.versionBody = '';
    this.etag = '';
    this.#render();
  }

  get state(): AppState | null {
    return this.#state;
  }

  /** Applies `state` (already validated and verified) when it is newer than the held one. */
  apply(state: AppState): ApplyResult {
    if (compareOrder(state, this.#state) <= 0) return 'stale';
    this.#state = state;
    this.#render();
    return 'applied';
  }

  #render(): void {
    const stateJson = this.#state === null ? 'null' : JSON.stringify(this.#state);
    const pod = JSON.stringify(this.podVersion);
    this.hello = Buffer.from(`{"type":"hello","podVersion":${pod},"state":${stateJson}}`);
    this.stateFrame = this.#state === null ? null : Buffer.from(`{"type":"state","state":${stateJson}}`);
    this.versionBody = `{"app":${JSON.stringify(this.app)},"podVersion":${pod},"state":${stateJson}}`;
    this.etag = `"${createHash('sha256').update(this.versionBody).digest('base64url').slice(0, 22)}"`;
  }
}
