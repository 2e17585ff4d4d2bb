/**
 * The sidecar injector inside the controller process: TLS (tls-manager.ts), the HTTPS listener
 * (server.ts) answering with core's patch (admission.ts), and the missing-sidecar report
 * (missing-sidecar.ts). Every replica serves admissions, leader or not: the trust set the
 * injector pins lives in the controller's memory, and admissions need no leadership (they are
 * pure on the pod), so any Ready replica answers and a failover never stops injection.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Clock } from '../../platform/clock.ts';
import type { Logger } from '../../platform/logger.ts';
import type { ControllerConfig } from '../config.ts';
import { EventRecorder } from '../events.ts';
import type { ControllerMetrics } from '../metrics.ts';
import { serviceDnsNames } from './certificates.ts';
import { MissingSidecarReporter } from './missing-sidecar.ts';
import { buildWebhookServer, type WebhookServer } from './server.ts';
import { TlsManager, type ServingMaterial } from './tls-manager.ts';
import type { TrustProvider } from './trust.ts';

export interface InjectorDeps {
  config: ControllerConfig;
  kubeConfig: KubeConfig;
  trust: TrustProvider;
  metrics: ControllerMetrics;
  log: Logger;
  clock: Clock;
  leading(): boolean;
}

export interface Injector {
  address: string;
  stop(): Promise<void>;
}

/**
 * After SIGTERM the listener keeps answering this long: the Service stops routing to a
 * terminating pod only a moment later, and an admission refused meanwhile would admit a pod
 * without its sidecar (failurePolicy Ignore).
 */
const DRAIN_MS = 3000;

/** The API server reloads a changed webhook configuration within moments; a new CA signs only after this. */
const CA_PROPAGATION_MS = 60_000;

export async function startInjector(deps: InjectorDeps): Promise<Injector> {
  const { config, log, metrics } = deps;
  const webhookLog = log.child({ part: 'webhook' });
  let server: WebhookServer | undefined;
  let first: ServingMaterial | undefined;
  const tls = new TlsManager({
    kubeConfig: deps.kubeConfig,
    namespace: config.namespace,
    secretName: config.webhookSecretName,
    webhookConfigName: config.webhookConfigName,
    dnsNames: serviceDnsNames(config.webhookServiceName, config.namespace),
    mode: config.webhookCertMode,
    rotation: {
      servingValidityMs: config.webhookCertValidityMs,
      caValidityMs: 10 * config.webhookCertValidityMs,
      propagationMs: Math.min(CA_PROPAGATION_MS, config.webhookCertValidityMs / 10),
    },
    // a sixth of the renewal margin (a third of the lifetime), at most a minute
    checkEveryMs: Math.max(1000, Math.min(60_000, config.webhookCertValidityMs / 18)),
    clock: deps.clock,
    log: webhookLog,
    metrics,
    onMaterial(m) {
      if (server) {
        server.setCertificate(m.certPem, m.keyPem);
        webhookLog.info({}, 'serving certificate reloaded');
      } else first = m;
    },
  });
  await tls.start();
  if (!first) throw new Error('webhook TLS: stopped before the first certificate');
  const versionLabel = config.versionLabel;
  server = await buildWebhookServer({
    logger: webhookLog,
    certPem: first.certPem,
    keyPem: first.keyPem,
    metrics,
    excludedNamespaces: new Set([config.namespace, 'kube-system', ...config.webhookExcludeNamespaces]),
    settings: () => {
      const trust = deps.trust.currentTrust();
      return { image: config.sidecarImage, publicKeys: trust.publicKeys, installation: trust.installation, versionLabel };
    },
  });
  const address = await server.listen({ host: config.listenHost, port: config.webhookPort });
  webhookLog.info({ address }, 'injection webhook listening');

  let reporter: MissingSidecarReporter | undefined;
  if (config.missingSidecarSweepMs > 0) {
    reporter = new MissingSidecarReporter({
      kubeConfig: deps.kubeConfig,
      namespaces: config.namespaces,
      everyMs: config.missingSidecarSweepMs,
      clock: deps.clock,
      log: webhookLog,
      metrics,
      leading: deps.leading,
      events: new EventRecorder({
        kubeConfig: deps.kubeConfig,
        controller: 'version-observer.io/controller',
        instance: config.identity,
        dedupMs: config.eventDedupMs,
        log: webhookLog,
        clock: deps.clock,
        onOutcome: (reason, outcome) => metrics.events.inc({ reason, outcome }),
      }),
    });
    reporter.start();
  }
  return {
    address,
    async stop() {
      await Promise.all([tls.stop(), reporter?.stop()]);
      await deps.clock.sleep(DRAIN_MS);
      await server?.close();
    },
  };
}
