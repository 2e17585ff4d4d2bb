/**
 * The pusher's HTTP transport: one `PUT http://<podIP>:<port>/internal/v1/state` of a signed
 * `{ installation, state, sig }` body (built by core's pushBody) to a pod's sidecar admin port.
 * The pusher (pusher.ts) decides what to send and when; this file only moves bytes.
 *
 * Invariants:
 * - `done` runs exactly once per put, with a PutResult: the HTTP status and the response body
 *   (at most `maxResponseBytes`), or status null and a short bounded reason (a metrics label:
 *   timeout, refused, reset, unreachable, too_large, network), and the duration.
 * - Absolute deadline: connect, request and the whole response must finish within `deadlineMs`
 *   of the put's start, however the peer trickles its bytes; then the request is destroyed and
 *   the put ends as `timeout`. A slow or hostile sidecar holds a pusher slot at most that long.
 * - Bounded response: at most `maxResponseBytes` of a body are kept; one byte more (or a
 *   content-length that announces more) destroys the socket and ends the put as `too_large`.
 *   Our sidecar's answers are a few hundred bytes; anything bigger is not our sidecar.
 * - `refused` (ECONNREFUSED) happens only at connect, before any byte of the body is sent: the
 *   pusher reads it as "the sidecar is not listening", not as a failed push.
 * - `cancel` ends a put at once (the socket is destroyed; `done` still runs, with a network reason).
 * - Keep-alive, one socket per pod IP (maxSockets 1, LIFO): a push per state change to each pod
 *   costs no handshake, and a slow pod cannot take more than one socket.
 */
import http from 'node:http';

/** Response bytes kept at most (a 409 body with what the sidecar holds fits many times over). */
export const MAX_RESPONSE_BYTES = 4096;

export interface PushTransportOptions {
  /** The sidecar's admin port on every pod. */
  port: number;
  /** Absolute deadline of one put (connect + request + response), ms. */
  deadlineMs: number;
  /** Response body bytes kept at most; default MAX_RESPONSE_BYTES. */
  maxResponseBytes?: number;
}

export interface PutResult {
  /** HTTP status; null = no (complete) answer, `error` says why. */
  status: number | null;
  /** The response body as text (≤ maxResponseBytes bytes), '' when none; null when there was no answer. */
  body: string | null;
  error: string | null;
  /** Wall duration of the put. */
  seconds: number;
}

export type PutDone = (result: PutResult) => void;

export interface PutHandle {
  cancel(reason: string): void;
}

export class PushTransport {
  readonly #port: number;
  readonly #deadlineMs: number;
  readonly #maxResponseBytes: number;
  readonly #agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 10_000, maxSockets: 1, maxFreeSockets: 1, timeout: 60_000, scheduling: 'lifo' });

  constructor(options: PushTransportOptions) {
    this.#port = options.port;
    this.#deadlineMs = options.deadlineMs;
    this.#maxResponseBytes = options.maxResponseBytes ?? MAX_RESPONSE_BYTES;
  }

  put(ip: string, body: string, done: PutDone): PutHandle {
    const startedAt = performance.now();
    let settled = false;
    // Not req.setTimeout: that is an idle timeout, which a peer trickling one byte at a time resets for ever.
    const deadline = setTimeout(() => fail('timeout', 'push deadline exceeded'), this.#deadlineMs);
    const finish = (status: number | null, responseBody: string | null, error: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      done({ status, body: responseBody, error, seconds: (performance.now() - startedAt) / 1000 });
    };
    const fail = (reason: string, message: string) => {
      finish(null, null, reason);
      req.destroy(new Error(message));
    };
    const req = http.request(
      {
        host: ip,
        port: this.#port,
        method: 'PUT',
        path: '/internal/v1/state',
        agent: this.#agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const announced = Number(res.headers['content-length']);
        if (Number.isFinite(announced) && announced > this.#maxResponseBytes) return fail('too_large', 'push response too large');
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > this.#maxResponseBytes) return fail('too_large', 'push response too large');
          chunks.push(chunk);
        });
        res.on('end', () => finish(res.statusCode ?? null, Buffer.concat(chunks).toString('utf8'), null));
        res.on('error', (err) => finish(null, null, errorReason(err)));
      },
    );
    req.on('error', (err) => finish(null, null, errorReason(err)));
    req.end(body);
    return { cancel: (reason) => fail('network', reason) };
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
