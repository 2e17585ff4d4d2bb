/**
 * The one error table (CONTRIBUTING.md "Habits": one error table). Each entry has a stable code, a message, and the HTTP
 * status or WebSocket close code it maps to. docs/errors.md lists every code; a unit test keeps
 * the two in step and checks no code is reused. Codes are never renamed or recycled.
 * Components add their entries in their own section, in alphabetical order within it.
 */
export interface ErrorSpec {
  readonly message: string;
  /** HTTP status the error answers with, when it is an HTTP error. */
  readonly status?: number;
  /** WebSocket close code, when it closes a socket. */
  readonly close?: number;
}

export const ERRORS = {
  // --- sidecar admin port: PUT /internal/v1/state
  VO_PUSH_MALFORMED: { message: 'push body is not a valid { installation, state, sig } envelope', status: 400 },
  VO_PUSH_BAD_SIGNATURE: { message: 'push signature does not verify with any trusted key', status: 401 },
  VO_PUSH_FUTURE_EPOCH: { message: 'pushed state has an epoch implausibly far ahead of this clock', status: 400 },
  VO_PUSH_NO_KEY: { message: 'no trusted public key or installation pinned; every push is refused', status: 401 },
  VO_PUSH_STALE: { message: 'pushed state is not newer (epoch, seq) than the one held', status: 409 },
  VO_PUSH_TOO_LARGE: { message: 'push body exceeds the size limit', status: 413 },
  VO_PUSH_WRONG_APP: { message: 'pushed state is for another app', status: 400 },
  VO_PUSH_WRONG_INSTALLATION: { message: 'pushed state is signed for another installation', status: 403 },
  // --- sidecar, both ports: HTTP limits
  VO_ADMIN_AT_CAPACITY: { message: 'admin port connection cap reached; the connection was dropped without an answer' },
  VO_HTTP_TIMEOUT: { message: 'request headers or body did not arrive in time', status: 408 },
  // --- sidecar public port: /version/ws, /version/client.js
  VO_CLIENT_BUNDLE_MISSING: { message: 'browser client bundle not built; run `node scripts/build.ts`', status: 503 },
  // At capacity is answered before the upgrade (HTTP 503 + Retry-After); close 1013 remains only
  // as a backstop in the hub (admission and accept run in one turn of the event loop).
  VO_WS_AT_CAPACITY: { message: 'connection cap reached; try again after Retry-After', status: 503, close: 1013 },
  VO_WS_BAD_MESSAGE: { message: 'only {"type":"ping"} may be sent', close: 1008 },
  VO_WS_FRAME_TOO_LARGE: { message: 'client frame exceeds 1 KiB', close: 1009 },
  VO_WS_GOING_AWAY: { message: 'server is shutting down; reconnect elsewhere', close: 1001 },
  VO_WS_IP_AT_CAPACITY: { message: 'too many connections from this address; try again after Retry-After', status: 429 },
  VO_WS_ORIGIN_FORBIDDEN: { message: 'Origin is neither this host nor in the allowlist', status: 403 },
  VO_WS_RATE_LIMITED: { message: 'client sent messages faster than the rate limit', close: 1008 },
  VO_WS_WRONG_PATH: { message: 'WebSocket upgrades are served only on /version/ws', status: 404 },
  VO_WS_SLOW_CONSUMER: { message: 'client is not reading; its send buffer overflowed (socket terminated)' },
  // --- controller
  VO_APP_NOT_FOUND: { message: 'no such app', status: 404 },
  VO_BAD_REQUEST: { message: 'request does not match the route schema', status: 400 },
  VO_INTERNAL: { message: 'internal error; see the controller log', status: 500 },
  VO_NOT_FOUND: { message: 'no such route', status: 404 },
  VO_NOT_READY: { message: 'not ready', status: 503 },
  VO_SIGNING_KEY_INVALID: { message: 'the signing-key Secret does not hold a valid Ed25519 private key' },
  VO_TRUST_INSTALLATION_INVALID: { message: 'the signing-key Secret holds an invalid installation id' },
  // --- configuration (process exits non-zero with this line)
  VO_CONFIG_INVALID: { message: 'invalid configuration' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** An error that carries its table code, so edges can map it to a status or close code. */
export class VoError extends Error {
  readonly code: ErrorCode;
  readonly status: number | undefined;
  readonly close: number | undefined;
  constructor(code: ErrorCode, detail?: string) {
    const spec: ErrorSpec = ERRORS[code];
    super(detail ? `${spec.message}: ${detail}` : spec.message);
    this.name = 'VoError';
    this.code = code;
    this.status = spec.status;
    this.close = spec.close;
  }
}
