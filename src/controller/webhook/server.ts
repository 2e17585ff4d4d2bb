/**
 * The webhook's HTTPS listener (fastify over node:https), apart from the controller's plain HTTP
 * API: the API server must reach it over TLS, and its availability must not depend on the API
 * port's settings.
 *
 *   POST /mutate-v1-pod   admission.k8s.io/v1 AdmissionReview → AdmissionReview (admission.ts)
 *   GET  /healthz         200 { status: "ok" }
 *
 * Invariants:
 * - The body is checked by a schema (an AdmissionReview with a request uid) before the handler
 *   runs; anything else answers 400 and is counted as malformed.
 * - The certificate is swapped in place (`setCertificate`), never by a restart.
 * - Body limit 8 MiB: the API server's own request limit is 3 MiB, plus the review's envelope.
 */
import type { Server as HttpsServer } from 'node:https';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from '../../platform/logger.ts';
import { answer, type AdmissionDeps, type AdmissionReview } from './admission.ts';
import type { ControllerMetrics } from '../metrics.ts';

export const MUTATE_PATH = '/mutate-v1-pod';

export interface WebhookServerDeps extends AdmissionDeps {
  logger: Logger;
  certPem: string;
  keyPem: string;
  metrics: AdmissionDeps['metrics'] & Pick<ControllerMetrics, 'webhookDuration'>;
}

const reviewSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'request'],
  properties: {
    apiVersion: { type: 'string' },
    kind: { type: 'string', const: 'AdmissionReview' },
    request: { type: 'object', required: ['uid'], properties: { uid: { type: 'string' } } },
  },
} as const;

export type WebhookServer = FastifyInstance<HttpsServer> & { setCertificate(certPem: string, keyPem: string): void };

export async function buildWebhookServer(deps: WebhookServerDeps): Promise<WebhookServer> {
  const app = Fastify({
    https: { cert: deps.certPem, key: deps.keyPem },
    loggerInstance: deps.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 8 * 1024 * 1024,
  }) as unknown as FastifyInstance<HttpsServer>;

  app.post<{ Body: AdmissionReview }>(MUTATE_PATH, {
    schema: { body: reviewSchema },
    handler: async (req) => {
      const started = performance.now();
      const out = answer(req.body, deps);
      deps.metrics.webhookDuration.observe((performance.now() - started) / 1000);
      return out;
    },
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.setErrorHandler((err: { validation?: unknown; message: string }, _req, reply) => {
    if (err.validation) {
      deps.metrics.webhookAdmissions.inc({ outcome: 'malformed' });
      return reply.code(400).send({ code: 'VO_BAD_REQUEST', message: err.message });
    }
    deps.logger.error({ err }, 'admission review failed');
    return reply.code(500).send({ code: 'VO_INTERNAL', message: 'internal error' });
  });
  await app.ready();
  const server = app as WebhookServer;
  server.setCertificate = (certPem, keyPem) => app.server.setSecureContext({ cert: certPem, key: keyPem });
  return server;
}
