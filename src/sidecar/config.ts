/**
 * Sidecar configuration: a table of settings read by src/platform/config.ts (flag > env >
 * default), checked once here, frozen. The env names and defaults are the documented contract
 * (docs/protocol.md); the sidecar is usually configured by env, so the checks here name the
 * env variable. Every problem is one readable line; nothing here touches the network.
 * Durations end in `Ms`, sizes in `Bytes`.
 */
import type { KeyObject } from 'node:crypto';
import { publicKeyFromBase64 } from '../core/signature.ts';
import { INSTALLATION_ENV, isInstallationId, PUBLIC_KEY_ENV } from '../core/trust.ts';
import { invalidConfig, LOG_LEVEL_SETTING, readSettings, usageText, type SettingTable } from '../platform/config.ts';
import { SIDECAR_ADMIN_PORT, SIDECAR_PUBLIC_PORT } from '../core/ports.ts';

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
  /** pinned trusted keys (VERSION_OBSERVER_PUBLIC_KEY, comma-separated); empty → every push refused (VO_PUSH_NO_KEY) */
  readonly publicKeys: readonly KeyObject[];
  /** the installation pushes must be signed for (VERSION_OBSERVER_INSTALLATION); null → every push refused */
  readonly installation: string | null;
  /** VERSION_OBSERVER_CONTROLLER_URL was set: ignored (keys are never fetched), warned about at start */
  readonly controllerUrlIgnored: boolean;
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

/**
 * One row per setting (src/platform/config.ts reads them: flag > env > default); the order is
 * the order of --help. The env names are the documented contract; the `*_MS` ones take Go
 * durations (`500ms`, `10s`) or, as they always did, a plain integer of ms.
 */
export const OPTIONS = {
  app: { kind: 'text', flag: 'app', env: 'VERSION_OBSERVER_APP', help: "the app's name (required); with POD_NAMESPACE it forms namespace/name" },
  namespace: { kind: 'text', flag: 'namespace', env: 'POD_NAMESPACE', help: 'namespace of the app', default: 'default' },
  podVersion: { kind: 'text', flag: 'pod-version', env: 'VERSION_OBSERVER_POD_VERSION', help: "this pod's version (required)" },
  listenHost: { kind: 'text', flag: 'listen-host', env: 'VERSION_OBSERVER_LISTEN_HOST', help: 'address both ports bind to', default: '0.0.0.0' },
  port: { kind: 'int', flag: 'port', env: 'VERSION_OBSERVER_PORT', help: 'public port (/version/*); 0 = any', default: SIDECAR_PUBLIC_PORT, min: 0, max: 65_535 },
  adminPort: { kind: 'int', flag: 'admin-port', env: 'VERSION_OBSERVER_ADMIN_PORT', help: 'admin port (/internal/v1/state, /healthz, /readyz, /metrics); 0 = any', default: SIDECAR_ADMIN_PORT, min: 0, max: 65_535 },
  publicKey: { kind: 'list', flag: 'public-key', env: PUBLIC_KEY_ENV, help: 'trusted base64 raw Ed25519 public key(s), comma-separated (without one every push is refused)' },
  installation: { kind: 'text', flag: 'installation', env: INSTALLATION_ENV, help: 'installation id pushes must be signed for (without one every push is refused)' },
  controllerUrl: { kind: 'text', flag: 'controller-url', env: 'VERSION_OBSERVER_CONTROLLER_URL', help: 'ignored (keys are only pinned, never fetched); a warning is logged' },
  allowedOrigins: { kind: 'list', flag: 'allowed-origins', env: 'VERSION_OBSERVER_ALLOWED_ORIGINS', help: 'comma-separated Origin allowlist for /version/ws', defaultText: 'any' },
  maxConnections: { kind: 'int', flag: 'max-connections', env: 'VERSION_OBSERVER_MAX_CONNECTIONS', help: 'connection cap, close 1013 beyond it', default: 50_000, min: 1, max: 10_000_000 },
  sendBufferLimit: { kind: 'int', flag: 'send-buffer-limit-bytes', env: 'VERSION_OBSERVER_SEND_BUFFER_LIMIT_BYTES', help: 'drop a client with more unsent bytes', default: 256 * 1024, min: 1024, max: 1 << 30 },
  heartbeat: { kind: 'duration', bareMs: true, flag: 'heartbeat-ms', env: 'VERSION_OBSERVER_HEARTBEAT_MS', help: 'WebSocket ping interval', default: 25_000, min: 100, max: 3_600_000 },
  shutdownGrace: { kind: 'duration', bareMs: true, flag: 'shutdown-grace-ms', env: 'VERSION_OBSERVER_SHUTDOWN_GRACE_MS', help: 'exit within this after SIGTERM', default: 10_000, min: 0, max: 3_600_000 },
  drain: { kind: 'duration', bareMs: true, flag: 'drain-ms', env: 'VERSION_OBSERVER_DRAIN_MS', help: 'after SIGTERM keep open sockets this long before 1001', default: 1000, min: 0, max: 3_600_000 },
  logLevel: LOG_LEVEL_SETTING,
} as const satisfies SettingTable;

export function helpText(): string {
  return usageText('sidecar', OPTIONS);
}

/**
 * Builds the frozen config from argv and env. Throws VoError(VO_CONFIG_INVALID) with a message
 * naming the offending setting. `overrides` lets tests set fields the env contract does not expose.
 */
export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv, overrides: Partial<SidecarConfig> = {}): SidecarConfig {
  const { values: v } = readSettings(OPTIONS, argv, env);
  const name = (k: keyof typeof OPTIONS): string => OPTIONS[k].env;

  if (v.app === undefined) throw invalidConfig(`${name('app')} is required`);
  const app = v.app.includes('/') ? v.app : `${v.namespace}/${v.app}`;
  if (!/^[^/\s]+\/[^/\s]+$/.test(app)) throw invalidConfig(`${name('app')} must be a name or "namespace/name", got "${v.app}"`);

  const podVersion = v.podVersion;
  if (podVersion === undefined) throw invalidConfig(`${name('podVersion')} is required`);
  if (podVersion.length > 128) throw invalidConfig(`${name('podVersion')} is longer than 128 characters`);

  const publicKeys = v.publicKey.map((b64, i) => {
    try {
      return publicKeyFromBase64(b64);
    } catch (err) {
      throw invalidConfig(`${name('publicKey')} entry ${i + 1}: ${(err as Error).message}`);
    }
  });
  // A missing key or installation is not a configuration error: the sidecar serves without
  // pushes rather than crash-loop next to the app (docs/security.md).
  const installation = v.installation ?? null;
  if (installation !== null && !isInstallationId(installation)) {
    throw invalidConfig(`${name('installation')} must be 1-64 characters of A-Z a-z 0-9 . _ - (as the trust ConfigMap holds it), got "${installation}"`);
  }

  const origins = v.allowedOrigins.map((o) => {
    try {
      const u = new URL(o);
      if (u.origin === 'null') throw new Error();
      return u.origin;
    } catch {
      throw invalidConfig(`${name('allowedOrigins')}: "${o}" is not an origin like https://shop.example.com`);
    }
  });

  const { port, adminPort } = v;
  if (port !== 0 && port === adminPort) throw invalidConfig(`${name('port')} and ${name('adminPort')} must differ (both ${port})`);

  const config: SidecarConfig = {
    app,
    podVersion,
    listenHost: v.listenHost,
    port,
    adminPort,
    publicKeys,
    installation,
    controllerUrlIgnored: v.controllerUrl !== undefined,
    allowedOrigins: origins.length > 0 ? origins : null,
    maxConnections: v.maxConnections,
    sendBufferLimitBytes: v.sendBufferLimit,
    heartbeatIntervalMs: v.heartbeat,
    shutdownGraceMs: v.shutdownGrace,
    drainMs: v.drain,
    pushBodyLimitBytes: 64 * 1024,
    clientVersionLabels: 20,
    logLevel: v.logLevel,
    ...overrides,
  };
  return Object.freeze({ ...config, publicKeys: Object.freeze([...config.publicKeys]), allowedOrigins: config.allowedOrigins && Object.freeze([...config.allowedOrigins]) });
}
