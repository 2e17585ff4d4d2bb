/**
 * The admin port (8788), never routed from outside the cluster:
 *   PUT /internal/v1/state   { installation, state, sig } → 204 applied | 409 stale (body names
 *                            the held order) | 401 unsigned, bad signature or nothing pinned |
 *                            403 other installation | 400 malformed, other app or far-future
 *                            epoch | 413 too large
 *   GET /healthz, /livez (answers whenever the event loop does; no other dependency), /readyz, /metrics
 * Invariant: a push changes nothing unless it is well-formed, signed by a pinned key over the
 * canonical JSON of exactly `{ installation, state }`, for this installation and app, not
 * implausibly far in the future, and newer in (epoch, seq) (core checkPush).
 * Checks run in that order; every refusal is counted by code and logged with its reason.
 * The port has its own small caps (http-limits.ts): at most `adminMaxConnections` sockets, the
 * same header/request/keep-alive/idle timeouts as the public port, bodies up to 64 KiB.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import { checkPush } from '../core/push-envelope.ts';
import { ERRORS, type ErrorCode, type ErrorSpec } from '../core/errors.ts';
import type { SidecarConfig } from './config.ts';
import type { Hub } from './hub.ts';
import type { StateStore } from './state-store.ts';
import type { PinnedTrust } from './keys.ts';
import type { SidecarMetrics } from './metrics.ts';
import { capConnections, clientErrorHandler, timeoutOptions } from './http-limits.ts';

export interface AdminServerDeps {
  config: SidecarConfig;
  hub: Hub;
  store: StateStore;
  keys: PinnedTrust;
  metrics: SidecarMetrics;
  log: FastifyBaseLogger;
  /** false while starting and once shutdown began */
  isReady: () => boolean;
}

const errorBody = {
  type: 'object',
  required: ['code', 'message'],
  properties: {
    code: { type: 'string' },
    message: { type: 'string' },
    // on 409: the order this sidecar holds, so the controller can tell an order it never issued
    held: { type: 'object', required: ['epoch', 'seq'], properties: { epoch: { type: 'integer' }, seq: { type: 'integer' } } },
  },
} as const;

export async function buildAdminServer(deps: AdminServerDeps): Promise<FastifyInstance> {
  const { config, hub, store, keys, metrics } = deps;
  const app = Fastify({
    loggerInstance: deps.log,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.pushBodyLimitBytes,
    ...timeoutOptions(config),
    clientErrorHandler: clientErrorHandler('admin', metrics, deps.log),
  });
  capConnections(app.server, config.adminMaxConnections, metrics, deps.log);

  const refuse = (reply: FastifyReply, code: ErrorCode, detail: string, level: 'warn' | 'info' = 'warn'): FastifyReply => {
    const spec: ErrorSpec = ERRORS[code];
    metrics.pushesRejected.inc({ reason: code });
    reply.log[level]({ code, status: spec.status, peer: reply.request.ip }, `push refused: ${spec.message}: ${detail}`);
    const held = code === 'VO_PUSH_STALE' && store.state ? { epoch: store.state.epoch, seq: store.state.seq } : undefined;
    return reply.code(spec.status ?? 400).send({ code, message: `${spec.message}: ${detail}`, ...(held && { held }) });
  };

  // Framework errors on the push route (body too large, bad JSON, wrong media type, schema) map to the table.
  app.setErrorHandler((err: Error & { code?: string; statusCode?: number; validation?: unknown }, _req, reply) => {
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || err.statusCode === 413) {
      return refuse(reply, 'VO_PUSH_TOO_LARGE', `limit is ${config.pushBodyLimitBytes} bytes`);
    }
    if (err.validation || (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500)) {
      return refuse(reply, 'VO_PUSH_MALFORMED', err.message);
    }
    reply.log.error({ err }, 'admin request failed');
    return reply.code(500).send({ code: 'VO_INTERNAL', message: 'internal error' });
  });

  app.put(
    '/internal/v1/state',
    {
      schema: {
        body: {
          type: 'object',
          required: ['state'],
          properties: { installation: {}, state: { type: 'object' }, sig: {} },
        },
        response: { 204: { type: 'null' }, '4xx': errorBody },
      },
    },
    (req, reply) => {
      const verdict = checkPush(req.body, { keys: keys.keys, installation: keys.installation, noKeyReason: keys.missing, app: store.app, held: store.state, nowMs: Date.now() });
      if (!verdict.ok) return refuse(reply, verdict.code, verdict.detail, verdict.code === 'VO_PUSH_STALE' ? 'info' : 'warn');
      const state = verdict.state;
      store.apply(state); // newer: checkPush compared it with the held state in this same tick
      const sent = hub.broadcast(store.stateFrame as Buffer);
      metrics.pushesApplied.inc();
      req.log.info(
        { phase: state.phase, version: state.version, change: state.change, epoch: state.epoch, seq: state.seq, clients: sent, kid: keys.kids[verdict.keyIndex] },
        `applied state ${state.phase} ${state.version ?? '-'} (${state.epoch}, ${state.seq}) and sent it to ${sent} client(s)`,
      );
      return reply.code(204).send();
    },
  );

  app.get('/healthz', () => ({ status: 'ok' }));
  app.get('/livez', () => ({ status: 'ok' }));
  app.get('/readyz', (_req, reply) => {
    const ready = deps.isReady();
    return reply.code(ready ? 200 : 503).send({
      status: ready ? 'ok' : 'not ready',
      trustedKeys: keys.keys.length,
      connections: hub.connections(),
      state: store.state ? { phase: store.state.phase, version: store.state.version, epoch: store.state.epoch, seq: store.state.seq } : null,
    });
  });
  app.get('/metrics', async (_req, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });

  return app;
}
