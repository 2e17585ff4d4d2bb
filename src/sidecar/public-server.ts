/**
 * The public port (8787), the only one routed from outside the cluster:
 *   GET /version/ws         WebSocket: hello, then state on every applied change, pong to pings
 *   GET /version            { app, podVersion, state }, Cache-Control: no-store, ETag / 304
 *   GET /version/client.js  the browser client, ETag / 304, gzip, immutable when ?h=<hash> matches
 * Invariants: no per-request work beyond header checks (every body is pre-serialized); WebSocket
 * frames from clients are capped at 1 KiB by ws itself (close 1009, from the frame header, before
 * the payload is buffered) and compression is off; the upgraded socket keeps no reference to its
 * HTTP request.
 * Admission happens before the upgrade, in one synchronous onRequest hook, in this order: Origin
 * (403), total cap (503), per-address cap (429); a refusal is a plain HTTP answer with a VO_*
 * body (and Retry-After for the caps), so no WebSocket is accepted only to be closed. The hook
 * and the upgrade run in the same turn of the event loop (ws upgrades synchronously when it has
 * no verifyClient), so the counts it reads cannot change before hub.accept registers the socket.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import websocket from '@fastify/websocket';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ERRORS, type ErrorCode } from '../core/errors.ts';
import { clientAddress } from '../core/client-address.ts';
import { originAllowed } from '../core/origin-policy.ts';
import { admitConnection, retryAfterSeconds } from '../core/connection-admission.ts';
import type { SidecarConfig } from './config.ts';
import { clientErrorHandler, timeoutOptions } from './http-limits.ts';
import { throttledRefusalLog } from './log-throttle.ts';
import type { Hub } from './hub.ts';
import type { StateStore } from './state-store.ts';
import type { ClientBundle } from './client-bundle.ts';
import type { SidecarMetrics } from './metrics.ts';

export const MAX_CLIENT_FRAME_BYTES = 1024;

/** The accounting address of an admitted handshake, kept on the raw request until hub.accept. */
const kClientAddress = Symbol('clientAddress');

export interface PublicServerDeps {
  config: SidecarConfig;
  hub: Hub;
  store: StateStore;
  bundle: ClientBundle | null;
  metrics: SidecarMetrics;
  log: FastifyBaseLogger;
  /** uniform draw in [0, 1) for Retry-After jitter; default Math.random (tests pass a fixed one) */
  random?: () => number;
}

const errorBody = {
  type: 'object',
  properties: { code: { type: 'string' }, message: { type: 'string' } },
} as const;

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

/** True when an If-None-Match header names `etag` (or is `*`). Weak comparison, as RFC 9110 says for GET. */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const bare = etag.replace(/^W\//, '');
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === bare);
}

export async function buildPublicServer(deps: PublicServerDeps): Promise<FastifyInstance> {
  const { config, hub, store, metrics } = deps;
  const random = deps.random ?? Math.random;
  const app = Fastify({
    loggerInstance: deps.log,
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    ...timeoutOptions(config),
    clientErrorHandler: clientErrorHandler('public', metrics, deps.log),
  });

  await app.register(websocket, {
    // autoPong off: ws would answer ping control frames itself, past the hub's send-buffer
    // check and message rate; the hub answers them (Hub.onControlPing).
    options: { maxPayload: MAX_CLIENT_FRAME_BYTES, perMessageDeflate: false, clientTracking: false, autoPong: false },
    // the hub closes sockets itself (1001) on shutdown; see sidecar.ts
    preClose: (done) => done(),
  });

  const reportRefusal = throttledRefusalLog(deps.log, { server: 'public' });
  const refuse = (req: FastifyRequest, reply: FastifyReply, code: ErrorCode & ('VO_WS_ORIGIN_FORBIDDEN' | 'VO_WS_AT_CAPACITY' | 'VO_WS_IP_AT_CAPACITY'), peer: string): void => {
    const spec = ERRORS[code];
    metrics.connectionsRefused.inc({ reason: code });
    const origin = req.headers.origin ?? null;
    reportRefusal(code, peer, `refused a WebSocket handshake from ${peer}${origin ? ` (Origin ${origin})` : ''}: ${spec.message}`);
    if (code !== 'VO_WS_ORIGIN_FORBIDDEN') reply.header('retry-after', String(retryAfterSeconds(config.retryAfterMs, random())));
    // Answering ends the hook chain (no `done()`): the route never runs, nothing is upgraded.
    reply.code(spec.status).header('connection', 'close').send({ code, message: spec.message });
  };
  // Synchronous on purpose: see the module comment (no await between this check and the upgrade).
  const admit = (req: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    const peer = clientAddress(req.raw.socket.remoteAddress ?? 'unknown', headerValue(req.headers[config.proxyTrust.header]), config.proxyTrust);
    if (!originAllowed(req.headers.origin, req.headers.host, config.originPolicy)) return refuse(req, reply, 'VO_WS_ORIGIN_FORBIDDEN', peer);
    const verdict = admitConnection({
      connections: hub.connections(),
      maxConnections: config.maxConnections,
      fromAddress: hub.connectionsFrom(peer),
      maxPerAddress: config.maxConnectionsPerAddress,
    });
    if (!verdict.ok) return refuse(req, reply, verdict.code, peer);
    (req.raw as { [kClientAddress]?: string })[kClientAddress] = peer;
    done();
  };

  // @fastify/websocket upgrades a handshake on ANY of its routes (and closes it at once where
  // there is no WebSocket handler): refuse those before the upgrade, like every other refusal.
  app.addHook('onRequest', (req, reply, done) => {
    if (!req.ws || req.routeOptions.url === '/version/ws') return done();
    const peer = req.raw.socket.remoteAddress ?? 'unknown';
    metrics.connectionsRefused.inc({ reason: 'VO_WS_WRONG_PATH' });
    reportRefusal('VO_WS_WRONG_PATH', peer, `refused a WebSocket handshake from ${peer} on ${req.url}: ${ERRORS.VO_WS_WRONG_PATH.message}`);
    reply.code(ERRORS.VO_WS_WRONG_PATH.status).header('connection', 'close').send({ code: 'VO_WS_WRONG_PATH', message: ERRORS.VO_WS_WRONG_PATH.message });
  });

  app.get('/version/ws', { websocket: true, onRequest: admit }, (socket, req) => {
    // @fastify/websocket leaves the ServerResponse it made attached to the raw socket; detach it
    // so the upgraded socket does not keep the request alive for its whole life.
    const raw = req.raw.socket as Socket & { _httpMessage?: ServerResponse | null };
    raw._httpMessage?.detachSocket(raw);
    const clientVersion = (req.query as Record<string, unknown>).v;
    const address = (req.raw as { [kClientAddress]?: string })[kClientAddress];
    hub.accept(socket, typeof clientVersion === 'string' ? clientVersion : undefined, store.hello, address);
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
