/**
 * `version-observer controller [flags]`: parse the config once, load the signing key, start the
 * informers, the HTTP server and the leader election; on SIGTERM/SIGINT shut down gracefully:
 * stop pushing at once, release the Lease (a peer takes over within its retry period), close
 * HTTP, stop the watches, exit 0. Invalid configuration throws one readable line, which
 * src/cli/main.ts prints before exiting non-zero.
 */
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { loadConfig, usage, type ControllerConfig } from './config.ts';
import { Controller } from './controller.ts';
import { buildServer } from './http.ts';
import { loadOrCreateKeySet, type KeySet } from './keys.ts';
import { createTrustMetrics, Trust } from './trust.ts';
import { publishTrust, TRUST_CONFIGMAP } from './trust-configmap.ts';
import { createElector, LeaderElectionHealthz } from './leaderelection/index.ts';
import { createMetrics } from './metrics.ts';
import { instrumentKubeConfig } from './api-metrics.ts';
import { packageVersion } from '../platform/version.ts';
import { startInjector, type Injector } from './webhook/index.ts';
import { publishedTrust } from './webhook/trust.ts';
import { backoffStep } from '../core/backoff.ts';
import { createLogger, type Logger } from '../platform/logger.ts';
import { realClock } from '../platform/clock.ts';

/** Shutdown must finish within this, else exit 1. */
const SHUTDOWN_GRACE_MS = 10_000;

export function loadKubeConfig(c: ControllerConfig): KubeConfig {
  const kc = new KubeConfig();
  if (c.kubeconfig) kc.loadFromFile(c.kubeconfig);
  else if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
  else kc.loadFromDefault();
  if (!kc.getCurrentCluster()) throw new Error('kubeconfig has no current cluster');
  return kc;
}

export async function run(argv: string[]): Promise<void> {
  const config = loadConfig(argv);
  if (config === null) {
    console.log(usage());
    return;
  }
  const log: Logger = createLogger({ level: config.logLevel, base: { component: 'controller', identity: config.identity } });
  log.info({ version: packageVersion(), node: process.version }, `version-observer ${packageVersion()} controller starting`);
  const kubeConfig = loadKubeConfig(config);
  const metrics = createMetrics();
  instrumentKubeConfig(kubeConfig, metrics.runtime.apiRequest);

  // The key set: retried until the API answers (the Secret is needed before any push).
  const core = kubeConfig.makeApiClient(CoreV1Api);
  let keys: KeySet | undefined;
  for (let attempt = 1; keys === undefined; attempt++) {
    try {
      const r = await loadOrCreateKeySet(core, config.namespace, config.keySecretName);
      keys = r.keys;
      log.info({ secret: `${config.namespace}/${config.keySecretName}`, kid: keys.signing.kid, nextKid: keys.next?.kid ?? null, installation: keys.installation, created: r.created }, 'signing key loaded');
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === 'VO_SIGNING_KEY_INVALID' || code === 'VO_TRUST_INSTALLATION_INVALID') throw err;
      const delayMs = backoffStep(attempt, { baseMs: 500, maxMs: 10_000, jitter: 'equal' }, Math.random());
      log.warn({ err: (err as Error).message, delayMs }, 'cannot load the signing key yet; retrying');
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
  const trust = new Trust(keys, createTrustMetrics(metrics.registry));
  void publishTrustUntilDone(core, config.namespace, trust, log);

  const controller = new Controller({ config, kubeConfig, trust, metrics, log: log });
  metrics.runtime.bindStates(() => controller.apps());
  const healthz = new LeaderElectionHealthz();
  let injector: Injector | undefined;
  const server = await buildServer({
    logger: log,
    apps: () => controller.apps(),
    app: (k) => controller.app(k),
    keys: () => ({ installation: trust.installation, keys: trust.published() }),
    notReady: () => {
      if (!controller.hasSynced()) return 'informer caches not synced';
      // a replica the Service routes admissions to must answer them (else: a pod without sidecar)
      if (config.webhookPort > 0 && injector === undefined) return 'injection webhook not listening yet';
      return healthz.check();
    },
    registry: metrics.registry,
  });
  const address = await server.listen({ host: config.listenHost, port: config.port });
  log.info({ address, namespaces: config.namespaces.length ? config.namespaces : 'all' }, 'controller listening');
  controller.start();
  // The injection webhook (every replica, leader or not): TLS first, then its own HTTPS port.
  // In the background: pushes and leadership never wait on certificates; /readyz does.
  if (config.webhookPort > 0) {
    startInjector({
      config,
      kubeConfig,
      trust: publishedTrust(trust),
      metrics,
      log,
      clock: realClock,
      leading: () => controller.leading,
    }).then(
      (started) => (injector = started),
      (err: unknown) => log.error({ err }, 'injection webhook failed to start; this replica stays unready'),
    );
  }

  const elector = createElector(
    {
      kubeConfig,
      namespace: config.leaseNamespace,
      name: config.leaseName,
      identity: config.identity,
      leaseDurationMs: config.leaseDurationMs,
      renewDeadlineMs: config.renewDeadlineMs,
      retryPeriodMs: config.retryPeriodMs,
      healthToleranceMs: config.healthToleranceMs,
      log,
    },
    {
      onStartedLeading(leading, epoch) {
        leading.addEventListener('abort', () => controller.stopLeading(), { once: true });
        // Push only from a complete cache: a leader that pushed from a half-listed cache could
        // send a state the cluster does not support.
        void controller.synced().then(() => {
          if (!leading.aborted) controller.startLeading(epoch);
        });
      },
      onStoppedLeading() {
        controller.stopLeading();
      },
      onNewLeader(identity) {
        log.info({ leader: identity }, 'leader observed');
      },
    },
  );
  healthz.setElector(elector);
  const electing = elector.run(new AbortController().signal);

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, `${signal}: stopping pushes, releasing the Lease, closing`);
    const hard = setTimeout(() => {
      log.error({}, `shutdown took longer than ${SHUTDOWN_GRACE_MS} ms; exiting`);
      process.exit(1);
    }, SHUTDOWN_GRACE_MS);
    hard.unref();
    controller.stopLeading();
    (async () => {
      // the webhook keeps answering while endpoints drop this pod (index.ts), in parallel
      const injectorStopped = injector?.stop();
      await elector.release();
      await electing;
      await server.close();
      await controller.stop();
      await injectorStopped;
    })().then(
      () => {
        log.info({}, 'stopped');
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/**
 * Publishes the trust ConfigMap (src/controller/trust-configmap.ts), retried with backoff until
 * it succeeds; pushes do not wait for it (sidecars are pinned at admission, not from here).
 */
async function publishTrustUntilDone(core: CoreV1Api, namespace: string, trust: Trust, log: Logger): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      const outcome = await publishTrust(core, namespace, trust.configMapData());
      log.info({ configMap: `${namespace}/${TRUST_CONFIGMAP}`, outcome, keys: trust.keys.map((k) => k.kid) }, 'trust ConfigMap published');
      return;
    } catch (err) {
      const delayMs = backoffStep(attempt, { baseMs: 1000, maxMs: 60_000, jitter: 'equal' }, Math.random());
      log.warn({ err: (err as Error).message, delayMs }, 'cannot publish the trust ConfigMap yet; retrying');
      await new Promise((r) => setTimeout(r, delayMs).unref());
    }
  }
}
