/**
 * The pusher's HTTP transport: one `PUT http://<podIP>:<port>/internal/v1/state` of a signed
 * `{ state, sig }` body to a pod's sidecar admin port. The pusher (pusher.ts) decides what to
 * send and when; this file only moves bytes.
 *
 * Invariants:
 * - `done` runs exactly once per put: with the HTTP status, or with null and a short bounded
 *   reason (a metrics label: timeout, refused, reset, unreachable, network), and the duration.
 * - A put that gets no answer within `timeoutMs` ends as `timeout`; `cancel` ends it at once
 *   (the socket is destroyed; `done` still runs, with a network reason).
 * - A 409's body (the order the sidecar holds) is kept, at most STALE_BODY_MAX_BYTES of it;
 *   every other body is discarded unread.
 * - Keep-alive, one socket per pod IP (maxSockets 1, LIFO): a push per state change to each pod
 *   costs no handshake, and a slow pod cannot take more than one socket.
 */
import http from 'node:http';

export interface PushTransportOptions {
  /** The sidecar's admin port on every pod. */
  port: number;
  /** Per-push timeout, ms. */
  timeoutMs: number;
}

/** A 409 body beyond this is cut (it is `{ code, message, held }`, well under it). */
export const STALE_BODY_MAX_BYTES = 1024;

/**
 * status null = no HTTP answer (error says why); seconds = wall duration of the put; body = the
 * text of a 409 answer (cut at STALE_BODY_MAX_BYTES), else undefined.
 */
export type PutDone = (status: number | null, error: string | null, seconds: number, body?: string) => void;

export interface PutHandle {
  cancel(reason: string): void;
}

export class PushTransport {
  readonly #options: PushTransportOptions;
  readonly #agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 10_000, maxSockets: 1, maxFreeSockets: 1, timeout: 60_000, scheduling: 'lifo' });

  constructor(options: PushTransportOptions) {
    this.#options = options;
  }

  put(ip: string, body: string, done: PutDone): PutHandle {
    const startedAt = performance.now();
    let settled = false;
    const finish = (status: number | null, error: string | null, text?: string) => {
      if (settled) return;
      settled = true;
      done(status, error, (performance.now() - startedAt) / 1000, text);
    };
    const req = http.request(
      {
        host: ip,
        port: this.#options.port,
        method: 'PUT',
        path: '/internal/v1/state',
        agent: this.#agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: this.#options.timeoutMs,
      },
      (res) => {
        let text: string | undefined;
        if (res.statusCode === 409) {
          text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            if ((text as string).length < STALE_BODY_MAX_BYTES) text = (text + chunk).slice(0, STALE_BODY_MAX_BYTES);
          });
        } else res.resume();
        res.on('end', () => finish(res.statusCode ?? null, null, text));
        res.on('error', (err) => finish(null, errorReason(err)));
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('push timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', (err) => finish(null, errorReason(err)));
    req.end(body);
    return { cancel: (reason) => req.destroy(new Error(reason)) };
  }

  /** Closes idle sockets (shutdown). */
  close(): void {
    this.#agent.destroy();
  }
}

/** A short, bounded reason for a network failure (metrics label). */
export function errorReason(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  switch (code) {
    case 'ETIMEDOUT':
      return 'timeout';
    case 'ECONNREFUSED':
      return 'refused';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'reset';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      return 'unreachable';
    default:
      return 'network';
  }
}
