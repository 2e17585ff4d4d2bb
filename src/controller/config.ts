/**
 * The controller's one config object (STYLE.md §3): parsed once from flags and env, validated
 * with readable errors naming the offending flag, filled with defaults in one place, frozen.
 *
 * Precedence: flag > env > default. Every flag `--foo-bar` has the env `VERSION_OBSERVER_FOO_BAR`
 * unless listed otherwise (kubeconfig: `KUBECONFIG`; identity: `POD_NAME`; namespace:
 * `POD_NAMESPACE`). Durations accept Go-style units (`500ms`, `15s`, `2m`, `1h`, `1m30s`) or a
 * plain `0`; they are stored in ms (fields end in `Ms`).
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { VoError } from '../core/errors.ts';

export const APP_LABEL = 'version-observer.io/app';

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
  /** Per-push timeout. Default 5 s. */
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
}

interface FlagSpec {
  key: keyof ControllerConfig;
  flag: string;
  env: string;
  kind: 'string' | 'duration' | 'int' | 'list';
  describe: string;
}

const FLAGS: FlagSpec[] = [
  { key: 'kubeconfig', flag: 'kubeconfig', env: 'KUBECONFIG', kind: 'string', describe: 'path of a kubeconfig (default: in-cluster, else ~/.kube/config)' },
  { key: 'namespace', flag: 'namespace', env: 'POD_NAMESPACE', kind: 'string', describe: "the controller's namespace: Lease and key Secret (default default)" },
  { key: 'leaseNamespace', flag: 'lease-namespace', env: 'VERSION_OBSERVER_LEASE_NAMESPACE', kind: 'string', describe: 'Lease namespace (default: --namespace)' },
  { key: 'leaseName', flag: 'lease-name', env: 'VERSION_OBSERVER_LEASE_NAME', kind: 'string', describe: 'Lease name (default version-observer-controller)' },
  { key: 'keySecretName', flag: 'key-secret', env: 'VERSION_OBSERVER_KEY_SECRET', kind: 'string', describe: 'Secret holding the signing key (default version-observer-signing-key)' },
  { key: 'identity', flag: 'identity', env: 'POD_NAME', kind: 'string', describe: 'holder identity in the Lease (default: hostname_random)' },
  { key: 'namespaces', flag: 'namespaces', env: 'VERSION_OBSERVER_NAMESPACES', kind: 'list', describe: 'comma-separated namespaces to watch (default: all)' },
  { key: 'versionLabel', flag: 'version-label', env: 'VERSION_OBSERVER_VERSION_LABEL', kind: 'string', describe: 'pod label holding the version (default app.kubernetes.io/version)' },
  { key: 'settleMs', flag: 'settle', env: 'VERSION_OBSERVER_SETTLE', kind: 'duration', describe: 'converged state must hold this long before it is announced (default 0)' },
  { key: 'pushConcurrency', flag: 'push-concurrency', env: 'VERSION_OBSERVER_PUSH_CONCURRENCY', kind: 'int', describe: 'pushes in flight at most (default 64)' },
  { key: 'pushTimeoutMs', flag: 'push-timeout', env: 'VERSION_OBSERVER_PUSH_TIMEOUT', kind: 'duration', describe: 'timeout of one push (default 5s)' },
  { key: 'pushPort', flag: 'push-port', env: 'VERSION_OBSERVER_PUSH_PORT', kind: 'int', describe: "sidecar admin port on each pod (default 8788)" },
  { key: 'resyncMs', flag: 'resync-period', env: 'VERSION_OBSERVER_RESYNC_PERIOD', kind: 'duration', describe: 're-push current state to every pod this often (default 5m)' },
  { key: 'watchSilenceMs', flag: 'watch-silence-timeout', env: 'VERSION_OBSERVER_WATCH_SILENCE_TIMEOUT', kind: 'duration', describe: 'relist a watch silent this long (default 10m)' },
  { key: 'listenHost', flag: 'listen-host', env: 'VERSION_OBSERVER_LISTEN_HOST', kind: 'string', describe: 'HTTP listen address (default 0.0.0.0)' },
  { key: 'port', flag: 'port', env: 'VERSION_OBSERVER_PORT', kind: 'int', describe: 'HTTP port: /v1, /healthz, /readyz, /metrics (default 8080; 0 = any)' },
  { key: 'leaseDurationMs', flag: 'lease-duration', env: 'VERSION_OBSERVER_LEASE_DURATION', kind: 'duration', describe: 'Lease duration (default 15s)' },
  { key: 'renewDeadlineMs', flag: 'renew-deadline', env: 'VERSION_OBSERVER_RENEW_DEADLINE', kind: 'duration', describe: 'leader gives up if not renewed within this (default 10s)' },
  { key: 'retryPeriodMs', flag: 'retry-period', env: 'VERSION_OBSERVER_RETRY_PERIOD', kind: 'duration', describe: 'Lease acquire/renew interval (default 2s)' },
  { key: 'healthToleranceMs', flag: 'health-tolerance', env: 'VERSION_OBSERVER_HEALTH_TOLERANCE', kind: 'duration', describe: '/readyz fails when leading and not renewed for lease-duration + this (default 5s)' },
  { key: 'eventDedupMs', flag: 'event-dedup-window', env: 'VERSION_OBSERVER_EVENT_DEDUP_WINDOW', kind: 'duration', describe: 'identical Events are not re-created within this window (default 10m)' },
  { key: 'logLevel', flag: 'log-level', env: 'VERSION_OBSERVER_LOG_LEVEL', kind: 'string', describe: 'trace|debug|info|warn|error (default info)' },
];

export function usage(): string {
  const lines = FLAGS.map((f) => `  --${f.flag.padEnd(24)}${f.describe}  [$${f.env}]`);
  return `usage: version-observer controller [flags]\n\nflags:\n${lines.join('\n')}`;
}

/** Parses a Go-style duration ("1m30s", "500ms", "0") into ms; throws on anything else. */
export function parseDuration(text: string): number {
  const t = text.trim();
  if (t === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(t)) !== null) {
    const n = Number(m[1]);
    total += n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
    matched = re.lastIndex;
  }
  if (matched === 0 || matched !== t.length) throw new Error(`"${text}" is not a duration (e.g. 500ms, 15s, 2m, 1m30s)`);
  return Math.round(total);
}

function invalid(detail: string): VoError {
  return new VoError('VO_CONFIG_INVALID', detail);
}

/** Splits argv into flag values (`--a b`, `--a=b`); unknown flags fail. `--help` returns null. */
function parseArgv(argv: readonly string[]): Map<string, string> | null {
  const known = new Map(FLAGS.map((f) => [f.flag, f]));
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--help' || arg === '-h') return null;
    if (!arg.startsWith('--')) throw invalid(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    if (!known.has(name)) throw invalid(`unknown flag --${name}`);
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      value = argv[++i];
      if (value === undefined) throw invalid(`--${name} needs a value`);
    }
    out.set(name, value);
  }
  return out;
}

/**
 * Builds the frozen config from argv and env. Throws VoError(VO_CONFIG_INVALID) naming the flag.
 * Returns null when --help was asked for.
 */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ControllerConfig | null {
  const given = parseArgv(argv);
  if (given === null) return null;
  const raw = new Map<keyof ControllerConfig, { value: string; spec: FlagSpec }>();
  for (const spec of FLAGS) {
    const value = given.get(spec.flag) ?? env[spec.env];
    if (value !== undefined && value !== '') raw.set(spec.key, { value, spec });
  }
  const str = (k: keyof ControllerConfig, d: string): string => raw.get(k)?.value.trim() ?? d;
  const where = (s: FlagSpec) => `--${s.flag} ($${s.env})`;
  const dur = (k: keyof ControllerConfig, d: number): number => {
    const r = raw.get(k);
    if (!r) return d;
    try {
      return parseDuration(r.value);
    } catch (err) {
      throw invalid(`${where(r.spec)}: ${(err as Error).message}`);
    }
  };
  const int = (k: keyof ControllerConfig, d: number, min: number, max: number): number => {
    const r = raw.get(k);
    if (!r) return d;
    const n = Number(r.value);
    if (!/^\d+$/.test(r.value.trim()) || n < min || n > max) throw invalid(`${where(r.spec)}: "${r.value}" must be an integer in [${min}, ${max}]`);
    return n;
  };
  const namespace = str('namespace', 'default');
  const cfg: ControllerConfig = {
    kubeconfig: raw.get('kubeconfig')?.value ?? null,
    namespace,
    leaseNamespace: str('leaseNamespace', namespace),
    leaseName: str('leaseName', 'version-observer-controller'),
    keySecretName: str('keySecretName', 'version-observer-signing-key'),
    identity: str('identity', `${hostname()}_${randomBytes(4).toString('hex')}`),
    namespaces: (raw.get('namespaces')?.value ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    versionLabel: str('versionLabel', 'app.kubernetes.io/version'),
    settleMs: dur('settleMs', 0),
    pushConcurrency: int('pushConcurrency', 64, 1, 10_000),
    pushTimeoutMs: dur('pushTimeoutMs', 5_000),
    pushPort: int('pushPort', 8788, 1, 65_535),
    resyncMs: dur('resyncMs', 5 * 60_000),
    watchSilenceMs: dur('watchSilenceMs', 10 * 60_000),
    listenHost: str('listenHost', '0.0.0.0'),
    port: int('port', 8080, 0, 65_535),
    leaseDurationMs: dur('leaseDurationMs', 15_000),
    renewDeadlineMs: dur('renewDeadlineMs', 10_000),
    retryPeriodMs: dur('retryPeriodMs', 2_000),
    healthToleranceMs: dur('healthToleranceMs', 5_000),
    eventDedupMs: dur('eventDedupMs', 10 * 60_000),
    logLevel: str('logLevel', 'info'),
  };
  validate(cfg);
  return Object.freeze({ ...cfg, namespaces: Object.freeze([...cfg.namespaces]) });
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

function validate(c: ControllerConfig): void {
  for (const [flag, ns] of [['namespace', c.namespace], ['lease-namespace', c.leaseNamespace], ...c.namespaces.map((n) => ['namespaces', n])] as Array<[string, string]>) {
    if (!DNS_LABEL.test(ns) || ns.length > 63) throw invalid(`--${flag}: "${ns}" is not a namespace name`);
  }
  for (const [flag, name] of [['lease-name', c.leaseName], ['key-secret', c.keySecretName]] as Array<[string, string]>) {
    if (!DNS_SUBDOMAIN.test(name) || name.length > 253) throw invalid(`--${flag}: "${name}" is not a valid object name`);
  }
  if (c.identity.length === 0 || c.identity.length > 128) throw invalid('--identity: must be 1..128 characters');
  if (!LABEL_KEY.test(c.versionLabel)) throw invalid(`--version-label: "${c.versionLabel}" is not a label key`);
  if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(c.logLevel)) throw invalid(`--log-level: "${c.logLevel}" is not a level`);
  // client-go's constraints (leaderelection.NewLeaderElector).
  if (!(c.leaseDurationMs > 0 && c.renewDeadlineMs > 0 && c.retryPeriodMs > 0)) throw invalid('--lease-duration, --renew-deadline and --retry-period must be > 0');
  if (!(c.leaseDurationMs > c.renewDeadlineMs)) throw invalid('--lease-duration must be greater than --renew-deadline');
  if (!(c.renewDeadlineMs > 1.2 * c.retryPeriodMs)) throw invalid('--renew-deadline must be greater than 1.2 × --retry-period');
  if (c.pushTimeoutMs <= 0) throw invalid('--push-timeout must be > 0');
  if (c.resyncMs !== 0 && c.resyncMs < 1000) throw invalid('--resync-period must be 0 (off) or ≥ 1s');
  if (c.watchSilenceMs !== 0 && c.watchSilenceMs < 1000) throw invalid('--watch-silence-timeout must be 0 (off) or ≥ 1s');
}
