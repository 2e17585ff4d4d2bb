/**
 * The controller's one config object: a table of settings read by src/platform/config.ts
 * (flag > env > default, Go durations), checked once here with readable errors naming the
 * offending flag, frozen.
 *
 * Every flag `--foo-bar` has the env `VERSION_OBSERVER_FOO_BAR` except kubeconfig (`KUBECONFIG`),
 * identity (`POD_NAME`) and namespace (`POD_NAMESPACE`). Durations are stored in ms (fields end
 * in `Ms`). The Lease timing rules are core's (validateElectionConfig, the elector's own check);
 * the health tolerance default is the elector's; this file only names the flags in their errors.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { DEFAULT_ELECTION_CONFIG, validateElectionConfig } from '../core/election.ts';
import { DEFAULT_VERSION_LABEL } from '../core/labels.ts';
import { asksForHelp, invalidConfig, LOG_LEVEL_SETTING, readSettings, usageText, type SettingTable } from '../platform/config.ts';
import { DEFAULT_HEALTH_TOLERANCE_MS } from './leaderelection/config.ts';
import { SIDECAR_ADMIN_PORT } from '../core/ports.ts';
import { packageVersion } from '../platform/version.ts';

/** Where the project's one image is published (the sidecar's default image with this version's tag). */
export const DEFAULT_IMAGE_REPOSITORY = 'ghcr.io/version-observer/version-observer';

/** Defined in core/labels.ts; re-exported only until controller.ts and slim.ts import it from there. */

export interface ControllerConfig {
  /** Path of a kubeconfig; null → in-cluster when KUBERNETES_SERVICE_HOST is set, else the default loading rules. */
  readonly kubeconfig: string | null;
  /** The controller's own namespace: holds the Lease and the signing-key Secret. Default `default`. */
  readonly namespace: string;
  /** Lease namespace. Default: `namespace`. */
  readonly leaseNamespace: string;
  /** Lease name. Default `version-observer-controller`. */
  readonly leaseName: string;
  /** Name of the Secret that holds the Ed25519 signing key. Default `version-observer-signing-key`. */
  readonly keySecretName: string;
  /** This replica's identity in the Lease. Default: POD_NAME, else hostname + random suffix. */
  readonly identity: string;
  /** Namespaces to watch; empty = all namespaces. */
  readonly namespaces: readonly string[];
  /** Label that carries a pod's version. Default `app.kubernetes.io/version`. */
  readonly versionLabel: string;
  /** Settle window before a converged version is announced. Default 0. */
  readonly settleMs: number;
  /** Global bound on pushes in flight. Default 64. */
  readonly pushConcurrency: number;
  /** Absolute deadline of one push: connect, request and response. Default 5 s. */
  readonly pushTimeoutMs: number;
  /** Port of the sidecar's admin server on each pod. Default 8788. */
  readonly pushPort: number;
  /** Every pod is re-sent its app's current state this often (the sidecar answers 409 when it holds it). Default 5 m. */
  readonly resyncMs: number;
  /** A watch with no event (bookmarks included) for this long is relisted. Default 10 m. */
  readonly watchSilenceMs: number;
  /** HTTP listen host and port (API, health, metrics). Default 0.0.0.0:8080. */
  readonly listenHost: string;
  readonly port: number;
  /** Lease timings, client-go semantics. Defaults 15 s / 10 s / 2 s. */
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  /** /readyz fails when leading but not renewed within leaseDuration + this. Default 5 s. */
  readonly healthToleranceMs: number;
  /** Same Event (object, reason, note) is not re-created within this window; repeats patch its series at most this often. Default 10 m. */
  readonly eventDedupMs: number;
  /** pino level. Default `info`. */
  readonly logLevel: string;
  // --- sidecar injection webhook (docs/install.md "Injection"); off unless webhookPort > 0
  /** HTTPS port of the admission webhook (/mutate-v1-pod); 0 = no webhook. Default 0 (the chart sets 9443). */
  readonly webhookPort: number;
  /** `managed`: the controller issues and renews the CA and serving certificate; `external`: cert-manager does. */
  readonly webhookCertMode: 'managed' | 'external';
  /** Secret holding the webhook's TLS material, in `namespace`. */
  readonly webhookSecretName: string;
  /** The MutatingWebhookConfiguration whose caBundle the controller keeps current. */
  readonly webhookConfigName: string;
  /** The webhook's Service (its DNS names go into the serving certificate). */
  readonly webhookServiceName: string;
  /** Serving certificate lifetime; the CA lives 10× as long; both renewed at 2/3 of their life. Default 1 year. */
  readonly webhookCertValidityMs: number;
  /** Extra namespaces never injected (the controller's own and kube-system always are). */
  readonly webhookExcludeNamespaces: readonly string[];
  /** How often opted-in pods are checked for a missing sidecar; 0 off. Default 30 s. */
  readonly missingSidecarSweepMs: number;
  /** Image of the injected sidecar. Default: this version's image. */
  readonly sidecarImage: string;
}

/** One row per ControllerConfig field; the order is the order of --help. */
const FLAGS = {
  kubeconfig: { kind: 'text', flag: 'kubeconfig', env: 'KUBECONFIG', help: 'path of a kubeconfig', defaultText: 'in-cluster, else ~/.kube/config' },
  namespace: { kind: 'text', flag: 'namespace', env: 'POD_NAMESPACE', help: "the controller's namespace: Lease and key Secret", default: 'default' },
  leaseNamespace: { kind: 'text', flag: 'lease-namespace', env: 'VERSION_OBSERVER_LEASE_NAMESPACE', help: 'Lease namespace', defaultText: '--namespace' },
  leaseName: { kind: 'text', flag: 'lease-name', env: 'VERSION_OBSERVER_LEASE_NAME', help: 'Lease name', default: 'version-observer-controller' },
  keySecretName: { kind: 'text', flag: 'key-secret', env: 'VERSION_OBSERVER_KEY_SECRET', help: 'Secret holding the signing key', default: 'version-observer-signing-key' },
  identity: { kind: 'text', flag: 'identity', env: 'POD_NAME', help: 'holder identity in the Lease', defaultText: 'hostname_random' },
  namespaces: { kind: 'list', flag: 'namespaces', env: 'VERSION_OBSERVER_NAMESPACES', help: 'comma-separated namespaces to watch', defaultText: 'all' },
  versionLabel: { kind: 'text', flag: 'version-label', env: 'VERSION_OBSERVER_VERSION_LABEL', help: 'pod label holding the version', default: DEFAULT_VERSION_LABEL },
  settleMs: { kind: 'duration', flag: 'settle', env: 'VERSION_OBSERVER_SETTLE', help: 'converged state must hold this long before it is announced', default: 0 },
  pushConcurrency: { kind: 'int', flag: 'push-concurrency', env: 'VERSION_OBSERVER_PUSH_CONCURRENCY', help: 'pushes in flight at most', default: 64, min: 1, max: 10_000 },
  pushTimeoutMs: { kind: 'duration', flag: 'push-timeout', env: 'VERSION_OBSERVER_PUSH_TIMEOUT', help: 'deadline of one push: connect, request and response', default: 5_000 },
  pushPort: { kind: 'int', flag: 'push-port', env: 'VERSION_OBSERVER_PUSH_PORT', help: 'sidecar admin port on each pod', default: SIDECAR_ADMIN_PORT, min: 1, max: 65_535 },
  resyncMs: { kind: 'duration', flag: 'resync-period', env: 'VERSION_OBSERVER_RESYNC_PERIOD', help: 're-push current state to every pod this often; 0 off', default: 5 * 60_000 },
  watchSilenceMs: { kind: 'duration', flag: 'watch-silence-timeout', env: 'VERSION_OBSERVER_WATCH_SILENCE_TIMEOUT', help: 'relist a watch silent this long; 0 off', default: 10 * 60_000 },
  listenHost: { kind: 'text', flag: 'listen-host', env: 'VERSION_OBSERVER_LISTEN_HOST', help: 'HTTP listen address', default: '0.0.0.0' },
  port: { kind: 'int', flag: 'port', env: 'VERSION_OBSERVER_PORT', help: 'HTTP port: /v1, /healthz, /readyz, /metrics; 0 = any', default: 8080, min: 0, max: 65_535 },
  leaseDurationMs: { kind: 'duration', flag: 'lease-duration', env: 'VERSION_OBSERVER_LEASE_DURATION', help: 'Lease duration', default: DEFAULT_ELECTION_CONFIG.leaseDurationMs },
  renewDeadlineMs: { kind: 'duration', flag: 'renew-deadline', env: 'VERSION_OBSERVER_RENEW_DEADLINE', help: 'leader gives up if not renewed within this', default: DEFAULT_ELECTION_CONFIG.renewDeadlineMs },
  retryPeriodMs: { kind: 'duration', flag: 'retry-period', env: 'VERSION_OBSERVER_RETRY_PERIOD', help: 'Lease acquire/renew interval', default: DEFAULT_ELECTION_CONFIG.retryPeriodMs },
  healthToleranceMs: { kind: 'duration', flag: 'health-tolerance', env: 'VERSION_OBSERVER_HEALTH_TOLERANCE', help: '/readyz fails when leading and not renewed for lease-duration + this', default: DEFAULT_HEALTH_TOLERANCE_MS },
  eventDedupMs: { kind: 'duration', flag: 'event-dedup-window', env: 'VERSION_OBSERVER_EVENT_DEDUP_WINDOW', help: 'identical Events are not re-created within this window', default: 10 * 60_000 },
  logLevel: LOG_LEVEL_SETTING,
  webhookPort: { kind: 'int', flag: 'webhook-port', env: 'VERSION_OBSERVER_WEBHOOK_PORT', help: 'HTTPS port of the sidecar injection webhook; 0 = off', default: 0, min: 0, max: 65_535 },
  webhookCertMode: { kind: 'text', flag: 'webhook-cert-mode', env: 'VERSION_OBSERVER_WEBHOOK_CERT_MODE', help: 'managed (the controller issues and renews) or external (cert-manager)', default: 'managed', oneOf: ['managed', 'external'] },
  webhookSecretName: { kind: 'text', flag: 'webhook-secret', env: 'VERSION_OBSERVER_WEBHOOK_SECRET', help: "Secret holding the webhook's TLS material", default: 'version-observer-webhook-tls' },
  webhookConfigName: { kind: 'text', flag: 'webhook-config', env: 'VERSION_OBSERVER_WEBHOOK_CONFIG', help: 'MutatingWebhookConfiguration whose caBundle is kept current', default: 'version-observer' },
  webhookServiceName: { kind: 'text', flag: 'webhook-service', env: 'VERSION_OBSERVER_WEBHOOK_SERVICE', help: "the webhook's Service (certificate DNS names)", default: 'version-observer-webhook' },
  webhookCertValidityMs: { kind: 'duration', flag: 'webhook-cert-validity', env: 'VERSION_OBSERVER_WEBHOOK_CERT_VALIDITY', help: 'serving certificate lifetime (CA: 10x); renewed at 2/3', default: 365 * 24 * 3_600_000 },
  webhookExcludeNamespaces: { kind: 'list', flag: 'webhook-exclude-namespaces', env: 'VERSION_OBSERVER_WEBHOOK_EXCLUDE_NAMESPACES', help: 'namespaces never injected besides --namespace and kube-system', defaultText: 'none' },
  missingSidecarSweepMs: { kind: 'duration', flag: 'missing-sidecar-sweep', env: 'VERSION_OBSERVER_MISSING_SIDECAR_SWEEP', help: 'check opted-in pods for a missing sidecar this often; 0 off', default: 30_000 },
  sidecarImage: { kind: 'text', flag: 'sidecar-image', env: 'VERSION_OBSERVER_SIDECAR_IMAGE', help: 'image of the injected sidecar', defaultText: `${DEFAULT_IMAGE_REPOSITORY}:<version>` },
} as const satisfies SettingTable & Record<keyof ControllerConfig, unknown>;

export function usage(): string {
  return usageText('controller', FLAGS);
}

/**
 * Builds the frozen config from argv and env. Throws VoError(VO_CONFIG_INVALID) naming the flag.
 * Returns null when --help was asked for.
 */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ControllerConfig | null {
  if (asksForHelp(argv)) return null;
  const { values: v } = readSettings(FLAGS, argv, env);
  const config: ControllerConfig = {
    ...v,
    kubeconfig: v.kubeconfig ?? null,
    leaseNamespace: v.leaseNamespace ?? v.namespace,
    identity: v.identity ?? `${hostname()}_${randomBytes(4).toString('hex')}`,
    webhookCertMode: v.webhookCertMode as ControllerConfig['webhookCertMode'],
    sidecarImage: v.sidecarImage ?? `${DEFAULT_IMAGE_REPOSITORY}:${packageVersion()}`,
  };
  validate(config);
  return Object.freeze(config);
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** core's election field names → our flags, so the elector's own check speaks in flags here. */
const ELECTION_FLAGS: Record<string, string> = {
  leaseDurationMs: `--${FLAGS.leaseDurationMs.flag}`,
  renewDeadlineMs: `--${FLAGS.renewDeadlineMs.flag}`,
  retryPeriodMs: `--${FLAGS.retryPeriodMs.flag}`,
};

function validate(c: ControllerConfig): void {
  for (const [flag, ns] of [['namespace', c.namespace], ['lease-namespace', c.leaseNamespace], ...c.namespaces.map((n) => ['namespaces', n])] as Array<[string, string]>) {
    if (!DNS_LABEL.test(ns) || ns.length > 63) throw invalidConfig(`--${flag}: "${ns}" is not a namespace name`);
  }
  for (const [flag, name] of [['lease-name', c.leaseName], ['key-secret', c.keySecretName]] as Array<[string, string]>) {
    if (!DNS_SUBDOMAIN.test(name) || name.length > 253) throw invalidConfig(`--${flag}: "${name}" is not a valid object name`);
  }
  if (c.identity.length === 0 || c.identity.length > 128) throw invalidConfig('--identity: must be 1..128 characters');
  if (!LABEL_KEY.test(c.versionLabel)) throw invalidConfig(`--version-label: "${c.versionLabel}" is not a label key`);
  // The Lease rules are the elector's (client-go's NewLeaderElector); its messages name core's
  // fields with their values, e.g. "renewDeadlineMs (2000) must be greater than 1.2 × retryPeriodMs (2400)".
  const election = validateElectionConfig({ leaseDurationMs: c.leaseDurationMs, renewDeadlineMs: c.renewDeadlineMs, retryPeriodMs: c.retryPeriodMs });
  if (!election.ok) {
    const named = election.errors.map((e) => e.replace(/\b(leaseDurationMs|renewDeadlineMs|retryPeriodMs)\b( \([^)]*\))?/g, (_, field: string) => ELECTION_FLAGS[field] as string));
    throw invalidConfig(named.join('; '));
  }
  if (c.pushTimeoutMs <= 0) throw invalidConfig('--push-timeout must be > 0');
  if (c.resyncMs !== 0 && c.resyncMs < 1000) throw invalidConfig('--resync-period must be 0 (off) or ≥ 1s');
  if (c.watchSilenceMs !== 0 && c.watchSilenceMs < 1000) throw invalidConfig('--watch-silence-timeout must be 0 (off) or ≥ 1s');
  if (c.webhookCertValidityMs < 30_000) throw invalidConfig('--webhook-cert-validity must be ≥ 30s');
  if (c.missingSidecarSweepMs !== 0 && c.missingSidecarSweepMs < 1000) throw invalidConfig('--missing-sidecar-sweep must be 0 (off) or ≥ 1s');
  for (const [flag, name] of [['webhook-secret', c.webhookSecretName], ['webhook-config', c.webhookConfigName], ['webhook-service', c.webhookServiceName]] as Array<[string, string]>) {
    if (!DNS_SUBDOMAIN.test(name) || name.length > 253) throw invalidConfig(`--${flag}: "${name}" is not a valid object name`);
  }
}
