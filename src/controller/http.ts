/**
 * The controller's HTTP API (fastify; every route declares its schemas, compiled at
 * registration so a bad route fails at start):
 *
 *   GET /v1/apps                      { apps: AppState[] } sorted by app
 *   GET /v1/apps/:namespace/:name     AppState | 404 { code: VO_APP_NOT_FOUND, message }
 *   GET /v1/keys                      { installation, keys: [{ kid, alg: "Ed25519", publicKey, role,
 *                                     pods, retired }] } (for operators: sidecars never fetch it)
 *   GET /healthz                      200 { status: "ok" } while the process runs
 *   GET /livez                        200 { status: "ok" } whenever the event loop gets to answer;
 *                                     never asks the Kubernetes API or the election (a liveness
 *                                     probe must not restart a replica for a control-plane outage)
 *   GET /readyz                       200 once caches synced and, when leading, the Lease was
 *                                     renewed within leaseDuration + tolerance; else 503
 *   GET /metrics                      Prometheus text
 *
 * Errors answer `{ code, message }` from the error table (src/core/errors.ts).
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { AppState } from '../core/app-state.ts';
import { ERRORS } from '../core/errors.ts';
import type { Registry } from 'prom-client';
import type { Logger } from '../platform/logger.ts';
import type { PublishedKey } from './trust.ts';

export interface HttpDeps {
  /** pino-backed (fastify's own logger or createLogger's): fastify writes through it. */
  logger: Logger;
  apps(): AppState[];
  app(key: string): AppState | undefined;
  keys(): { installation: string; keys: PublishedKey[] };
  /** null = ready, else the reason it is not. */
  notReady(): string | null;
  registry: Registry;
}

const nullableString = { type: ['string', 'null'] } as const;

export const appStateSchema = {
  $id: 'AppState',
  type: 'object',
  required: ['app', 'phase', 'version', 'previousVersion', 'change', 'serving', 'reason', 'epoch', 'seq', 'since'],
  properties: {
    app: { type: 'string' },
    phase: { type: 'string', enum: ['converged', 'progressing', 'degraded'] },
    version: nullableString,
    previousVersion: nullableString,
    change: { type: 'string', enum: ['major', 'minor', 'patch', 'prerelease', 'rollback', 'none'] },
    serving: { type: 'object', additionalProperties: { type: 'integer' } },
    policy: { type: 'string', enum: ['major', 'minor', 'patch', 'any'] },
    reason: nullableString,
    epoch: { type: 'integer' },
    seq: { type: 'integer' },
    since: { type: 'string' },
    resourceVersion: { type: 'string' },
  },
} as const;

const errorSchema = {
  type: 'object',
  required: ['code', 'message'],
  properties: { code: { type: 'string' }, message: { type: 'string' } },
} as const;

const nameParam = { type: 'string', pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$', maxLength: 253 } as const;

/**
 * fastify needs pino's whole API (fatal, trace, level…), more than the project's Logger; every
 * Logger the project creates is pino, so it is handed over as is, checked rather than assumed.
 */
function pinoOf(log: Logger): FastifyBaseLogger {
  const l = log as Partial<FastifyBaseLogger>;
  if (typeof l.fatal !== 'function' || typeof l.trace !== 'function' || typeof l.level !== 'string') {
    throw new TypeError('buildServer: the logger must be pino-backed (fastify needs fatal, trace and level)');
  }
  return log as FastifyBaseLogger;
}

export async function buildServer(deps: HttpDeps): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: pinoOf(deps.logger), logController: new LogController({ disableRequestLogging: true }) });
  app.addSchema(appStateSchema);

  app.get('/v1/apps', {
    schema: {
      response: { 200: { type: 'object', required: ['apps'], properties: { apps: { type: 'array', items: { $ref: 'AppState#' } } } } },
    },
    handler: async () => ({ apps: deps.apps() }),
  });

  app.get<{ Params: { namespace: string; name: string } }>('/v1/apps/:namespace/:name', {
    schema: {
      params: { type: 'object', required: ['namespace', 'name'], properties: { namespace: nameParam, name: { type: 'string', minLength: 1, maxLength: 63 } } },
      response: { 200: { $ref: 'AppState#' }, 404: errorSchema },
    },
    handler: async (req, reply) => {
      const state = deps.app(`${req.params.namespace}/${req.params.name}`);
      if (!state) return reply.code(404).send({ code: 'VO_APP_NOT_FOUND', message: ERRORS.VO_APP_NOT_FOUND.message });
      return state;
    },
  });

  app.get('/v1/keys', {
    schema: {
      response: {
        200: {
          type: 'object',
          required: ['installation', 'keys'],
          properties: {
            installation: { type: 'string' },
            keys: {
              type: 'array',
              items: {
                type: 'object',
                required: ['kid', 'alg', 'publicKey', 'role', 'pods', 'retired'],
                properties: {
                  kid: { type: 'string' },
                  alg: { type: 'string', enum: ['Ed25519'] },
                  publicKey: { type: 'string' },
                  role: { type: 'string', enum: ['signing', 'next'] },
                  pods: { type: 'integer' },
                  retired: { type: 'boolean' },
                },
              },
            },
          },
        },
      },
    },
    handler: async () => deps.keys(),
  });

  const statusSchema = { type: 'object', required: ['status'], properties: { status: { type: 'string' }, reason: { type: 'string' } } } as const;
  app.get('/healthz', { schema: { response: { 200: statusSchema } }, handler: async () => ({ status: 'ok' }) });
  app.get('/livez', { schema: { response: { 200: statusSchema } }, handler: async () => ({ status: 'ok' }) });
  app.get('/readyz', {
    schema: { response: { 200: statusSchema, 503: errorSchema } },
    handler: async (_req, reply) => {
      const reason = deps.notReady();
      if (reason !== null) return reply.code(503).send({ code: 'VO_NOT_READY', message: `${ERRORS.VO_NOT_READY.message}: ${reason}` });
      return { status: 'ok' };
    },
  });

  app.get('/metrics', {
    schema: { response: { 200: { type: 'string' } } },
    handler: async (_req, reply) => {
      reply.header('content-type', deps.registry.contentType);
      return deps.registry.metrics();
    },
  });

  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ code: 'VO_NOT_FOUND', message: `${ERRORS.VO_NOT_FOUND.message}: ${req.method} ${req.url.split('?')[0]}` });
  });
  app.setErrorHandler((err: { statusCode?: number; validation?: unknown; message: string }, _req, reply) => {
    if (err.validation) return reply.code(400).send({ code: 'VO_BAD_REQUEST', message: `${ERRORS.VO_BAD_REQUEST.message}: ${err.message}` });
    deps.logger.error({ err }, 'request failed');
    return reply.code(500).send({ code: 'VO_INTERNAL', message: ERRORS.VO_INTERNAL.message });
  });
  await app.ready();
  return app;
}
