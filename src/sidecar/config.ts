/**
 * Sidecar configuration: parsed once from env and flags, validated, frozen (DESIGN.md
 * "Configuration contract"). A flag wins over its env variable. Every problem is reported as
 * one readable line naming the env variable or flag; nothing here touches the network.
 * Durations end in `Ms`, sizes in `Bytes`.
 */
import type { KeyObject } from 'node:crypto';
import { publicKeyFromBase64 } from '../core/signature.ts';
import { VoError } from '../core/errors.ts';

export interface SidecarConfig {
  /** "namespace/name": VERSION_OBSERVER_APP, prefixed by POD_NAMESPACE (default "default") unless it holds a "/" */
  readonly app: string;
  /** this pod's version (VERSION_OBSERVER_POD_VERSION) */
  readonly podVersion: string;
  /** address both ports bind to; default 0.0.0.0 */
  readonly listenHost: string;
  /** public port (/version/*); default 8787; 0 picks a free port */
  readonly port: number;
  /** admin port (/internal/v1/state, /healthz, /readyz, /metrics); default 8788 */
  readonly adminPort: number;
  /** pinned trusted keys (VERSION_OBSERVER_PUBLIC_KEY, comma-separated); empty → fetch from controllerUrl */
  readonly publicKeys: readonly KeyObject[];
  /** where to fetch /v1/keys when no key is pinned; null when a key is pinned */
  readonly controllerUrl: string | null;
  /** Origin allowlist for /version/ws; null = any origin */
  readonly allowedOrigins: readonly string[] | null;
  /** connection cap; beyond it new sockets are closed with 1013; default 50000 */
  readonly maxConnections: number;
  /** a client whose unsent bytes exceed this is dropped; default 256 KiB */
  readonly sendBufferLimitBytes: number;
  /** WebSocket-level ping interval; a peer that missed the previous pong is terminated; default 25000 */
  readonly heartbeatIntervalMs: number;
  /** SIGTERM → exit within this; default 10000 */
  readonly shutdownGraceMs: number;
  /**
   * After SIGTERM, keep open sockets this long (refusing new ones, readiness down) before
   * closing them with 1001; default 1000. The rollout that terminates this pod is announced
   * moments later, so its clients get the news here instead of after a reconnect.
   */
  readonly drainMs: number;
  /** PUT /internal/v1/state body cap (413 beyond); default 64 KiB */
  readonly pushBodyLimitBytes: number;
  /** distinct client versions tracked in metrics before folding into "other"; default 20 */
  readonly clientVersionLabels: number;
  /** pino level; default "info" */
  readonly logLevel: string;
}

/**
 * Node flags for the sidecar container (its NODE_OPTIONS; the chart's NOTES, docs/install.md and
 * the demo's sidecarContainer set it). A 1 MiB semi-space keeps V8's young generation from growing
 * to tens of MiB while connections arrive and broadcasts go out: about half the RSS per idle
 * connection and a few MiB less at idle, for a few more (cheap) scavenges. Measured in
 * docs/benchmarks.md (sidecar section); only flags Node accepts in NODE_OPTIONS belong here.
 */
export const SIDECAR_NODE_OPTIONS = '--max-semi-space-size=1';

interface Option {
  env: string;
  flag: string;
  help: string;
}

/** One row per setting: env variable, flag, help. The order is the order of --help. */
export const OPTIONS = {
  app: { env: 'VERSION_OBSERVER_APP', flag: '--app', help: "the app's name (required); with POD_NAMESPACE it forms namespace/name" },
  namespace: { env: 'POD_NAMESPACE', flag: '--namespace', help: 'namespace of the app (default "default")' },
  podVersion: { env: 'VERSION_OBSERVER_POD_VERSION', flag: '--pod-version', help: "this pod's version (required)" },
  listenHost: { env: 'VERSION_OBSERVER_LISTEN_HOST', flag: '--listen-host', help: 'address both ports bind to (default 0.0.0.0)' },
  port: { env: 'VERSION_OBSERVER_PORT', flag: '--port', help: 'public port (default 8787)' },
  adminPort: { env: 'VERSION_OBSERVER_ADMIN_PORT', flag: '--admin-port', help: 'admin port (default 8788)' },
  publicKey: { env: 'VERSION_OBSERVER_PUBLIC_KEY', flag: '--public-key', help: 'base64 raw Ed25519 public key(s), comma-separated' },
  controllerUrl: { env: 'VERSION_OBSERVER_CONTROLLER_URL', flag: '--controller-url', help: 'fetch /v1/keys from here when no key is pinned' },
  allowedOrigins: { env: 'VERSION_OBSERVER_ALLOWED_ORIGINS', flag: '--allowed-origins', help: 'comma-separated Origin allowlist for /version/ws (default any)' },
  maxConnections: { env: 'VERSION_OBSERVER_MAX_CONNECTIONS', flag: '--max-connections', help: 'connection cap, close 1013 beyond it (default 50000)' },
  sendBufferLimit: { env: 'VERSION_OBSERVER_SEND_BUFFER_LIMIT_BYTES', flag: '--send-buffer-limit-bytes', help: 'drop a client with more unsent bytes (default 262144)' },
  heartbeat: { env: 'VERSION_OBSERVER_HEARTBEAT_MS', flag: '--heartbeat-ms', help: 'WebSocket ping interval (default 25000)' },
  shutdownGrace: { env: 'VERSION_OBSERVER_SHUTDOWN_GRACE_MS', flag: '--shutdown-grace-ms', help: 'exit within this after SIGTERM (default 10000)' },
  drain: { env: 'VERSION_OBSERVER_DRAIN_MS', flag: '--drain-ms', help: 'after SIGTERM keep open sockets this long before 1001 (default 1000)' },
  logLevel: { env: 'VERSION_OBSERVER_LOG_LEVEL', flag: '--log-level', help: 'fatal|error|warn|info|debug|trace|silent (default info)' },
} as const satisfies Record<string, Option>;

type Key = keyof typeof OPTIONS;

export function helpText(): string {
  const rows = Object.values(OPTIONS).map((o: Option) => `  ${`${o.flag} <v>`.padEnd(30)}${o.env.padEnd(42)}${o.help}`);
  return `usage: version-observer sidecar [flags]\n\nflags (each also read from its env variable; a flag wins):\n${rows.join('\n')}`;
}

function invalid(detail: string): VoError {
  return new VoError('VO_CONFIG_INVALID', detail);
}

/** Reads `--flag value` and `--flag=value` pairs; unknown flags are an error. */
function parseFlags(argv: readonly string[]): Map<Key, string> {
  const byFlag = new Map<string, Key>(Object.entries(OPTIONS).map(([k, o]) => [o.flag, k as Key]));
  const out = new Map<Key, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const key = byFlag.get(flag);
    if (!key) throw invalid(`unknown flag ${flag} (see --help)`);
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw invalid(`${flag} needs a value`);
    out.set(key, value);
  }
  return out;
}

function integer(name: string, raw: string | undefined, dflt: number, min: number, max: number): number {
  if (raw === undefined || raw.trim() === '') return dflt;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw invalid(`${name} must be an integer in [${min}, ${max}], got "${raw}"`);
  return n;
}

function list(raw: string | undefined): string[] {
  return (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * Builds the frozen config from argv and env. Throws VoError(VO_CONFIG_INVALID) with a message
 * naming the offending setting. `overrides` lets tests set fields the env contract does not expose.
 */
export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv, overrides: Partial<SidecarConfig> = {}): SidecarConfig {
  const flags = parseFlags(argv);
  const get = (k: Key): string | undefined => flags.get(k) ?? env[OPTIONS[k].env];
  const name = (k: Key): string => OPTIONS[k].env;

  const appRaw = get('app')?.trim();
  if (!appRaw) throw invalid(`${name('app')} is required`);
  const namespace = get('namespace')?.trim() || 'default';
  const app = appRaw.includes('/') ? appRaw : `${namespace}/${appRaw}`;
  if (!/^[^/\s]+\/[^/\s]+$/.test(app)) throw invalid(`${name('app')} must be a name or "namespace/name", got "${appRaw}"`);

  const podVersion = get('podVersion')?.trim();
  if (!podVersion) throw invalid(`${name('podVersion')} is required`);
  if (podVersion.length > 128) throw invalid(`${name('podVersion')} is longer than 128 characters`);

  const publicKeys = list(get('publicKey')).map((b64, i) => {
    try {
      return publicKeyFromBase64(b64);
    } catch (err) {
      throw invalid(`${name('publicKey')} entry ${i + 1}: ${(err as Error).message}`);
    }
  });
  let controllerUrl: string | null = get('controllerUrl')?.trim() || null;
  if (controllerUrl !== null) {
    let u: URL;
    try {
      u = new URL(controllerUrl);
    } catch {
      throw invalid(`${name('controllerUrl')} is not a URL: "${controllerUrl}"`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw invalid(`${name('controllerUrl')} must be http(s), got "${controllerUrl}"`);
    controllerUrl = u.href.replace(/\/+$/, '');
  }
  if (publicKeys.length === 0 && controllerUrl === null) {
    throw invalid(`set ${name('publicKey')} or ${name('controllerUrl')}: without a trusted key every push would be refused`);
  }

  const origins = list(get('allowedOrigins')).map((o) => {
    try {
      const u = new URL(o);
      if (u.origin === 'null') throw new Error();
      return u.origin;
    } catch {
      throw invalid(`${name('allowedOrigins')}: "${o}" is not an origin like https://shop.example.com`);
    }
  });

  const logLevel = get('logLevel')?.trim() || 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw invalid(`${name('logLevel')} must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);

  const port = integer(name('port'), get('port'), 8787, 0, 65535);
  const adminPort = integer(name('adminPort'), get('adminPort'), 8788, 0, 65535);
  if (port !== 0 && port === adminPort) throw invalid(`${name('port')} and ${name('adminPort')} must differ (both ${port})`);

  const config: SidecarConfig = {
    app,
    podVersion,
    listenHost: get('listenHost')?.trim() || '0.0.0.0',
    port,
    adminPort,
    publicKeys,
    controllerUrl: publicKeys.length > 0 ? null : controllerUrl,
    allowedOrigins: origins.length > 0 ? origins : null,
    maxConnections: integer(name('maxConnections'), get('maxConnections'), 50_000, 1, 10_000_000),
    sendBufferLimitBytes: integer(name('sendBufferLimit'), get('sendBufferLimit'), 256 * 1024, 1024, 1 << 30),
    heartbeatIntervalMs: integer(name('heartbeat'), get('heartbeat'), 25_000, 100, 3_600_000),
    shutdownGraceMs: integer(name('shutdownGrace'), get('shutdownGrace'), 10_000, 0, 3_600_000),
    drainMs: integer(name('drain'), get('drain'), 1000, 0, 3_600_000),
    pushBodyLimitBytes: 64 * 1024,
    clientVersionLabels: 20,
    logLevel,
    ...overrides,
  };
  return Object.freeze({ ...config, publicKeys: Object.freeze([...config.publicKeys]), allowedOrigins: config.allowedOrigins && Object.freeze([...config.allowedOrigins]) });
}
