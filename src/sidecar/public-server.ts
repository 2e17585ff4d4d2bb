/**
 * The public port (8787), the only one routed from outside the cluster:
 *   GET /version/ws         WebSocket: hello, then state on every applied change, pong to pings
 *   GET /version            { app, podVersion, state }, Cache-Control: no-store, ETag / 304
 *   GET /version/client.js  the browser client, ETag / 304, gzip, immutable when ?h=<hash> matches
 * Invariants: no per-request work beyond header checks (every body is pre-serialized); WebSocket
 * frames from clients are capped at 1 KiB by ws itself (close 1009) and compression is off; the
 * upgraded socket keeps no reference to its HTTP request.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import websocket from '@fastify/websocket';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ERRORS } from '../core/errors.ts';
import type { SidecarConfig } from './config.ts';
import type { Hub } from './hub.ts';
import type { StateStore } from './state-store.ts';
import type { ClientBundle } from './client-bundle.ts';
import type { SidecarMetrics } from './metrics.ts';

export const MAX_CLIENT_FRAME_BYTES = 1024;

export interface PublicServerDeps {
  config: SidecarConfig;
  hub: Hub;
  store: StateStore;
  bundle: ClientBundle | null;
  metrics: SidecarMetrics;
  log: FastifyBaseLogger;
}

const errorBody = {
  type: 'object',
  properties: { code: { type: 'string' }, message: { type: 'string' } },
} as const;

/** True when an If-None-Match header names `etag` (or is `*`). Weak comparison, as RFC 9110 says for GET. */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const bare = etag.replace(/^W\//, '');
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === bare);
}

export async function buildPublicServer(deps: PublicServerDeps): Promise<FastifyInstance> {
  const { config, hub, store, metrics } = deps;
  const app = Fastify({
    loggerInstance: deps.log,
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    // browsers keep one HTTP connection per upgrade; nothing here needs long idle keep-alive
    keepAliveTimeout: 5000,
  });

  await app.register(websocket, {
    options: { maxPayload: MAX_CLIENT_FRAME_BYTES, perMessageDeflate: false, clientTracking: false },
    // the hub closes sockets itself (1001) on shutdown; see sidecar.ts
    preClose: (done) => done(),
  });

  const allowed = config.allowedOrigins;
  const checkOrigin = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (allowed === null) return;
    const origin = req.headers.origin;
    if (origin !== undefined && allowed.includes(origin)) return;
    metrics.connectionsRefused.inc({ reason: 'VO_WS_ORIGIN_FORBIDDEN' });
    req.log.info({ origin: origin ?? null }, 'refused a WebSocket from an Origin not in the allowlist');
    await reply.code(ERRORS.VO_WS_ORIGIN_FORBIDDEN.status).send({ code: 'VO_WS_ORIGIN_FORBIDDEN', message: ERRORS.VO_WS_ORIGIN_FORBIDDEN.message });
  };

  app.get('/version/ws', { websocket: true, onRequest: checkOrigin }, (socket, req) => {
    // @fastify/websocket leaves the ServerResponse it made attached to the raw socket; detach it
    // so the upgraded socket does not keep the request alive for its whole life.
    const raw = req.raw.socket as Socket & { _httpMessage?: ServerResponse | null };
    raw._httpMessage?.detachSocket(raw);
    const clientVersion = (req.query as Record<string, unknown>).v;
    hub.accept(socket, typeof clientVersion === 'string' ? clientVersion : undefined, store.hello);
  });

  app.get(
    '/version',
    {
      schema: {
        response: {
          304: { type: 'null' },
          200: {
            type: 'object',
            required: ['app', 'podVersion', 'state'],
            properties: { app: { type: 'string' }, podVersion: { type: 'string' }, state: { type: ['object', 'null'], additionalProperties: true } },
          },
        },
      },
    },
    (req, reply) => {
      reply.header('cache-control', 'no-store').header('etag', store.etag);
      if (etagMatches(req.headers['if-none-match'], store.etag)) return reply.code(304).send();
      return reply.type('application/json; charset=utf-8').send(store.versionBody);
    },
  );

  app.get(
    '/version/client.js',
    { schema: { querystring: { type: 'object', properties: { h: { type: 'string' } } }, response: { 304: { type: 'null' }, 503: errorBody } } },
    (req, reply) => {
      const bundle = deps.bundle;
      if (bundle === null) {
        return reply.code(503).send({ code: 'VO_CLIENT_BUNDLE_MISSING', message: ERRORS.VO_CLIENT_BUNDLE_MISSING.message });
      }
      const pinned = (req.query as { h?: string }).h === bundle.hash;
      reply
        .header('etag', bundle.etag)
        .header('cache-control', pinned ? 'public, max-age=31536000, immutable' : 'public, max-age=300, stale-while-revalidate=86400')
        .header('vary', 'accept-encoding')
        .header('access-control-allow-origin', '*')
        .header('x-content-type-options', 'nosniff')
        .type('text/javascript; charset=utf-8');
      if (etagMatches(req.headers['if-none-match'], bundle.etag)) return reply.code(304).send();
      if (/\bgzip\b/.test(req.headers['accept-encoding'] ?? '')) return reply.header('content-encoding', 'gzip').send(bundle.gzip);
      return reply.send(bundle.body);
    },
  );

  return app;
}
