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
import { FIXED_DEFAULT_CAP } from '../core/connection-cap.ts';
import { SIDECAR_ADMIN_PORT, SIDECAR_PUBLIC_PORT } from '../core/ports.ts';
import { parseCidr, type Cidr, type ProxyTrust } from '../core/client-address.ts';
import type { OriginPolicy } from '../core/origin-policy.ts';
import type { MessageRate } from '../core/connection-admission.ts';

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
  /** who may open /version/ws from a browser: the same origin, plus VERSION_OBSERVER_ALLOWED_ORIGINS (`*` = any) */
  readonly originPolicy: OriginPolicy;
  /**
   * connection cap; beyond it handshakes get HTTP 503 + Retry-After before any upgrade. Unset,
   * `version-observer sidecar` derives it from memory.max (FIXED_DEFAULT_CAP when no limit is
   * visible; src/core/connection-cap.ts); the table's 50000 is only parseConfig's fallback for
   * callers that derive nothing (tests, startSidecar embedded)
   */
  readonly maxConnections: number;
  /** cap per client address (IPv6: per /64); beyond it HTTP 429 + Retry-After; default 1000 */
  readonly maxConnectionsPerAddress: number;
  /** which proxies' forwarding headers name the client address; default none (the TCP peer counts) */
  readonly proxyTrust: ProxyTrust;
  /** per-socket message budget (token bucket); over it → close 1008; default burst 20, 120/min */
  readonly messageRate: MessageRate;
  /** base of Retry-After on 503/429; the answer is jittered within [base, 2 × base]; default 5000 */
  readonly retryAfterMs: number;
  /** both ports: complete request headers within this, else 408 and close; default 10000 */
  readonly headersTimeoutMs: number;
  /** both ports: complete request (headers and body) within this, else 408 and close; default 30000 */
  readonly requestTimeoutMs: number;
  /** both ports: an idle keep-alive socket is closed after this; default 5000 */
  readonly keepAliveTimeoutMs: number;
  /** both ports: a socket with no traffic for this long (e.g. a response nobody reads) is destroyed; default 30000 */
  readonly idleTimeoutMs: number;
  /** admin port: TCP connections beyond this are dropped at accept; default 64 */
  readonly adminMaxConnections: number;
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
  allowedOrigins: { kind: 'list', flag: 'allowed-origins', env: 'VERSION_OBSERVER_ALLOWED_ORIGINS', help: 'Origins allowed on /version/ws besides the same origin (comma-separated), or * for any', defaultText: 'same origin only' },
  maxConnections: { kind: 'int', flag: 'max-connections', env: 'VERSION_OBSERVER_MAX_CONNECTIONS', help: 'WebSocket cap; beyond it HTTP 503 + Retry-After before the upgrade', default: 50_000, defaultText: `derived from memory.max; ${FIXED_DEFAULT_CAP} when no limit is visible`, min: 1, max: 10_000_000 },
  maxConnectionsPerAddress: { kind: 'int', flag: 'max-connections-per-ip', env: 'VERSION_OBSERVER_MAX_CONNECTIONS_PER_IP', help: 'WebSocket cap per client address (IPv6: per /64); beyond it HTTP 429', default: 1000, min: 1, max: 10_000_000 },
  trustedProxies: { kind: 'list', flag: 'trusted-proxies', env: 'VERSION_OBSERVER_TRUSTED_PROXIES', help: 'proxy addresses/CIDRs whose forwarding header names the client (comma-separated)', defaultText: 'none' },
  trustedProxyHops: { kind: 'int', flag: 'trusted-proxy-hops', env: 'VERSION_OBSERVER_TRUSTED_PROXY_HOPS', help: 'trust this many proxy hops nearest to the sidecar, whatever their address', default: 0, min: 0, max: 16 },
  forwardedHeader: { kind: 'text', flag: 'forwarded-header', env: 'VERSION_OBSERVER_FORWARDED_HEADER', help: 'the header trusted proxies append the client to', default: 'x-forwarded-for', oneOf: ['x-forwarded-for', 'forwarded'] },
  messageBurst: { kind: 'int', flag: 'message-burst', env: 'VERSION_OBSERVER_MESSAGE_BURST', help: 'messages a socket may send back to back; beyond the rate → close 1008', default: 20, min: 1, max: 1_000_000_000 },
  messagesPerMinute: { kind: 'int', flag: 'messages-per-minute', env: 'VERSION_OBSERVER_MESSAGES_PER_MINUTE', help: 'sustained messages per minute per socket (the client sends 2)', default: 120, min: 1, max: 1_000_000_000 },
  retryAfter: { kind: 'duration', bareMs: true, flag: 'retry-after-ms', env: 'VERSION_OBSERVER_RETRY_AFTER_MS', help: 'base of Retry-After on 503/429, jittered up to twice that', default: 5000, min: 1000, max: 3_600_000 },
  sendBufferLimit: { kind: 'int', flag: 'send-buffer-limit-bytes', env: 'VERSION_OBSERVER_SEND_BUFFER_LIMIT_BYTES', help: 'terminate a client with more unsent bytes (every send)', default: 256 * 1024, min: 1024, max: 1 << 30 },
  heartbeat: { kind: 'duration', bareMs: true, flag: 'heartbeat-ms', env: 'VERSION_OBSERVER_HEARTBEAT_MS', help: 'WebSocket ping interval', default: 25_000, min: 100, max: 3_600_000 },
  shutdownGrace: { kind: 'duration', bareMs: true, flag: 'shutdown-grace-ms', env: 'VERSION_OBSERVER_SHUTDOWN_GRACE_MS', help: 'exit within this after SIGTERM', default: 10_000, min: 0, max: 3_600_000 },
  drain: { kind: 'duration', bareMs: true, flag: 'drain-ms', env: 'VERSION_OBSERVER_DRAIN_MS', help: 'after SIGTERM keep open sockets this long before 1001', default: 1000, min: 0, max: 3_600_000 },
  headersTimeout: { kind: 'duration', bareMs: true, flag: 'headers-timeout-ms', env: 'VERSION_OBSERVER_HEADERS_TIMEOUT_MS', help: 'both ports: request headers must arrive within this (408)', default: 10_000, min: 100, max: 600_000 },
  requestTimeout: { kind: 'duration', bareMs: true, flag: 'request-timeout-ms', env: 'VERSION_OBSERVER_REQUEST_TIMEOUT_MS', help: 'both ports: the whole request must arrive within this (408); ≥ headers timeout', default: 30_000, min: 100, max: 600_000 },
  keepAliveTimeout: { kind: 'duration', bareMs: true, flag: 'keep-alive-timeout-ms', env: 'VERSION_OBSERVER_KEEP_ALIVE_TIMEOUT_MS', help: 'both ports: close an idle keep-alive connection after this', default: 5000, min: 100, max: 600_000 },
  idleTimeout: { kind: 'duration', bareMs: true, flag: 'idle-timeout-ms', env: 'VERSION_OBSERVER_IDLE_TIMEOUT_MS', help: 'both ports: destroy an HTTP socket without traffic for this long', default: 30_000, min: 100, max: 3_600_000 },
  adminMaxConnections: { kind: 'int', flag: 'admin-max-connections', env: 'VERSION_OBSERVER_ADMIN_MAX_CONNECTIONS', help: 'admin port: TCP connections beyond this are dropped', default: 64, min: 1, max: 100_000 },
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

  const anyOrigin = v.allowedOrigins.includes('*');
  if (anyOrigin && v.allowedOrigins.length > 1) throw invalidConfig(`${name('allowedOrigins')}: "*" allows every origin; list nothing else with it`);
  const origins = anyOrigin ? [] : v.allowedOrigins.map((o) => {
    try {
      const u = new URL(o);
      if (u.origin === 'null') throw new Error();
      return u.origin;
    } catch {
      throw invalidConfig(`${name('allowedOrigins')}: "${o}" is not an origin like https://shop.example.com`);
    }
  });

  const cidrs: Cidr[] = v.trustedProxies.map((text) => {
    const cidr = parseCidr(text);
    if (cidr === null) throw invalidConfig(`${name('trustedProxies')}: "${text}" is not an IP address or CIDR like 10.0.0.0/8`);
    return cidr;
  });
  if (v.headersTimeout > v.requestTimeout) {
    throw invalidConfig(`${name('headersTimeout')} (${v.headersTimeout} ms) must not exceed ${name('requestTimeout')} (${v.requestTimeout} ms)`);
  }

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
    originPolicy: Object.freeze({ any: anyOrigin, origins: Object.freeze(origins) }),
    maxConnections: v.maxConnections,
    maxConnectionsPerAddress: v.maxConnectionsPerAddress,
    proxyTrust: Object.freeze({ hops: v.trustedProxyHops, cidrs: Object.freeze(cidrs), header: v.forwardedHeader as ProxyTrust['header'] }),
    messageRate: Object.freeze({ burst: v.messageBurst, perMinute: v.messagesPerMinute }),
    retryAfterMs: v.retryAfter,
    headersTimeoutMs: v.headersTimeout,
    requestTimeoutMs: v.requestTimeout,
    keepAliveTimeoutMs: v.keepAliveTimeout,
    idleTimeoutMs: v.idleTimeout,
    adminMaxConnections: v.adminMaxConnections,
    sendBufferLimitBytes: v.sendBufferLimit,
    heartbeatIntervalMs: v.heartbeat,
    shutdownGraceMs: v.shutdownGrace,
    drainMs: v.drain,
    pushBodyLimitBytes: 64 * 1024,
    clientVersionLabels: 20,
    logLevel: v.logLevel,
    ...overrides,
  };
  return Object.freeze({ ...config, publicKeys: Object.freeze([...config.publicKeys]) });
}
