/**
 * TEST RECEIVER: a stand-in for the sidecar's admin port in controller tests (image
 * `version-observer/test-receiver`), a real HTTP server on $POD_IP:${RECEIVER_PORT:-8788}.
 *
 *   PUT /internal/v1/state  { installation, state, sig } → 204 applied | 409 not newer (epoch, seq)
 *                           | 401 bad signature | 400 malformed
 *   GET /received           { held, received: [{ atMs, status, state }] } (every push, in order)
 *   GET /healthz            200, or 503 when FAIL_READINESS=1 (readiness probe target)
 *
 * Keys: RECEIVER_PUBLIC_KEY (base64 raw Ed25519, comma-separated), pinned for the receiver's life.
 * Every push is judged by core's checkPush, exactly as the sidecar judges it (any app accepted).
 *
 * Also usable in-process: `startReceiver({ host, port, publicKeys })`.
 */
import http from 'node:http';
import type { KeyObject } from 'node:crypto';
import type { AppState } from '../../src/core/app-state.ts';
import { ERRORS } from '../../src/core/errors.ts';
import { checkPush } from '../../src/core/push-envelope.ts';
import { publicKeyFromBase64 } from '../../src/core/signature.ts';

/** The port on the pod IP when RECEIVER_PORT is not set. */
export const RECEIVER_PORT = 8788;

export interface Received {
  atMs: number;
  status: number;
  state: AppState | null;
}

export interface ReceiverOptions {
  host: string;
  port: number;
  publicKeys?: string[];
}

export interface Receiver {
  server: http.Server;
  received: Received[];
  held(): AppState | null;
  close(): Promise<void>;
}

export async function startReceiver(o: ReceiverOptions): Promise<Receiver> {
  const keys: KeyObject[] = (o.publicKeys ?? []).filter(Boolean).map(publicKeyFromBase64);
  let held: AppState | null = null;
  const received: Received[] = [];

  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/received') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ held, received }));
      return;
    }
    if (req.method === 'GET' && req.url === '/healthz') {
      const fail = process.env.FAIL_READINESS === '1';
      res.writeHead(fail ? 503 : 200).end(fail ? 'failing on purpose' : 'ok');
      return;
    }
    if (req.method !== 'PUT' || req.url !== '/internal/v1/state') {
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = (status: number, state: AppState | null) => {
        received.push({ atMs: Date.now(), status, state });
        res.writeHead(status).end();
      };
      let body: { state?: unknown; sig?: unknown };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return answer(400, null);
      }
      const verdict = checkPush(body, { keys, app: null, held });
      if (!verdict.ok) return answer((ERRORS[verdict.code] as { status?: number }).status ?? 400, verdict.state);
      held = verdict.state;
      answer(204, verdict.state);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  return {
    server,
    received,
    held: () => held,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

if (import.meta.main) {
  const host = process.env.POD_IP || '127.0.0.1';
  const port = Number(process.env.RECEIVER_PORT || RECEIVER_PORT);
  const r = await startReceiver({
    host,
    port,
    publicKeys: (process.env.RECEIVER_PUBLIC_KEY ?? '').split(',').map((s) => s.trim()).filter(Boolean),
  });
  console.log(`test-receiver listening on ${host}:${port}`);
  process.on('SIGTERM', () => void r.close().then(() => process.exit(0)));
}
