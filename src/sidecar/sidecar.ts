/**
 * Wires one sidecar: state store, hub, key source, metrics, the public and the admin server.
 * `startSidecar` resolves once both ports listen (so an in-process test can connect at once)
 * and rejects with a VO_CONFIG_INVALID error naming the setting when a port cannot be bound.
 * `close()` is the graceful shutdown: readiness drops, every socket is closed with 1001, both
 * servers stop, all within `graceMs`.
 * `runServer` is the server process the supervisor (src/sidecar/supervisor.ts) runs: config,
 * the default connection cap derived from the container's memory limit, signals.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { Gauge } from 'prom-client';
import { VoError } from '../core/errors.ts';
import { deriveConnectionCap, STARTUP_ALLOWANCE_BYTES, type CapDerivation } from '../core/connection-cap.ts';
import { readSettings } from '../platform/config.ts';
import { OPTIONS, parseConfig, type SidecarConfig } from './config.ts';
import { readMemoryMax, readOpenFileLimit, readSmapsRollup } from './memory.ts';
import { CONFIG_INVALID_EXIT, RESTARTS_ENV } from './supervisor-protocol.ts';
import { Hub } from './hub.ts';
import { PinnedTrust } from './keys.ts';
import { createMetrics, type SidecarMetrics } from './metrics.ts';
import { StateStore } from './state-store.ts';
import { loadClientBundle, DEFAULT_BUNDLE_PATH, type ClientBundle } from './client-bundle.ts';
import { buildPublicServer } from './public-server.ts';
import { buildAdminServer } from './admin-server.ts';
import { jsonLineOptions } from '../platform/logger.ts';
import { packageVersion } from '../platform/version.ts';

export interface SidecarHandle {
  readonly config: SidecarConfig;
  /** e.g. http://127.0.0.1:8787 */
  readonly publicUrl: string;
  readonly adminUrl: string;
  readonly hub: Hub;
  readonly store: StateStore;
  readonly metrics: SidecarMetrics;
  readonly log: FastifyBaseLogger;
  close(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  /** default dist/client/version-observer.js */
  bundlePath?: string;
  /** process-level default metrics (process_*, nodejs_*); default true */
  defaultMetrics?: boolean;
}

export async function startSidecar(config: SidecarConfig, opts: StartOptions = {}): Promise<SidecarHandle> {
  // One pino logger for both servers (JSON lines); the admin instance owns it.
  const base = Fastify({ logger: jsonLineOptions({ level: config.logLevel, base: { component: 'sidecar', app: config.app, podVersion: config.podVersion } }) });
  const log = base.log;
  log.info({ version: packageVersion(), node: process.version }, `version-observer ${packageVersion()} sidecar starting`);
  const store = new StateStore(config.app, config.podVersion);
  const hub = new Hub(config, log);
  const metrics = createMetrics(hub, { defaultMetrics: opts.defaultMetrics, maxConnections: config.maxConnections, held: () => store.state });
  hub.metrics = metrics;
  const keys = new PinnedTrust(config.publicKeys, config.installation);
  metrics.keysLoaded.set(keys.keys.length);
  if (config.controllerUrlIgnored) log.warn({}, `${OPTIONS.controllerUrl.env} is ignored: keys are never fetched, only pinned (${OPTIONS.publicKey.env}, ${OPTIONS.installation.env}); see docs/security.md`);
  if (keys.missing !== null) log.warn({ missing: keys.missing }, `no trust pinned (${keys.missing}): serving without a state, every push is refused with VO_PUSH_NO_KEY; see docs/install.md`);
  const bundle: ClientBundle | null = loadClientBundle(opts.bundlePath ?? DEFAULT_BUNDLE_PATH);
  if (bundle === null) log.warn({ path: opts.bundlePath ?? DEFAULT_BUNDLE_PATH }, 'browser client bundle not found; GET /version/client.js answers 503 until `node scripts/build.ts` has run');

  let ready = false;
  const publicApp = await buildPublicServer({ config, hub, store, bundle, metrics, log: log.child({ server: 'public' }) });
  const adminApp = await buildAdminServer({ config, hub, store, keys, metrics, log: log.child({ server: 'admin' }), isReady: () => ready });

  const listen = async (app: FastifyInstance, port: number, which: 'port' | 'adminPort'): Promise<string> => {
    try {
      return await app.listen({ host: config.listenHost, port });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const env = OPTIONS[which].env;
      if (code === 'EADDRINUSE') throw new VoError('VO_CONFIG_INVALID', `port ${port} on ${config.listenHost} is already in use (${env})`);
      if (code === 'EADDRNOTAVAIL') throw new VoError('VO_CONFIG_INVALID', `cannot bind ${config.listenHost}: address not available here (${OPTIONS.listenHost.env})`);
      if (code === 'EACCES') throw new VoError('VO_CONFIG_INVALID', `no permission to bind port ${port} (${env})`);
      throw err;
    }
  };
  let publicUrl: string;
  let adminUrl: string;
  try {
    publicUrl = await listen(publicApp, config.port, 'port');
    adminUrl = await listen(adminApp, config.adminPort, 'adminPort');
  } catch (err) {
    await Promise.allSettled([publicApp.close(), adminApp.close()]);
    throw err;
  }
  hub.startHeartbeat();
  ready = true;
  log.info(
    { public: publicUrl, admin: adminUrl, trustedKeys: keys.kids, installation: config.installation },
    `sidecar for ${config.app} (pod version ${config.podVersion}) listening on ${publicUrl} (public) and ${adminUrl} (admin)`,
  );

  let closing: Promise<void> | null = null;
  const close = (graceMs: number = config.shutdownGraceMs): Promise<void> => {
    closing ??= (async () => {
      ready = false;
      const t0 = performance.now();
      hub.stopAccepting();
      // Drain: the state announcing the rollout that removes this pod usually lands within
      // milliseconds; delivering it here beats a reconnect with backoff.
      const drainMs = Math.min(config.drainMs, Math.max(0, graceMs - 1000));
      if (drainMs > 0 && hub.connections() > 0) await new Promise((r) => setTimeout(r, drainMs));
      const open = hub.connections();
      // Closing the socket set first lets publicApp.close() (which waits for every connection) finish.
      await Promise.all([hub.closeAll(Math.max(0, graceMs - drainMs - 200)), publicApp.close()]);
      await adminApp.close();
      log.info({ closed: open, ms: Math.round(performance.now() - t0) }, `sidecar stopped; closed ${open} socket(s) with 1001`);
    })();
    return closing;
  };

  return { config, publicUrl, adminUrl, hub, store, metrics, log, close };
}

/** True when VERSION_OBSERVER_MAX_CONNECTIONS or --max-connections was given (it then wins over the derived cap). */
function capIsExplicit(argv: readonly string[], env: NodeJS.ProcessEnv): boolean {
  const { default: _ignored, ...row } = OPTIONS.maxConnections;
  return readSettings({ ...OPTIONS, maxConnections: row }, argv, env).values.maxConnections !== undefined;
}

/**
 * The default cap for this container: memory.max minus what the container already holds (this
 * server's resident memory now, with its modules loaded, plus the supervisor's private memory and
 * the growth still to come until idle), minus a margin, divided by one socket's cost.
 */
export function deriveCapHere(env: NodeJS.ProcessEnv = process.env): CapDerivation & { memoryMaxBytes: number | null; idleBytes: number } {
  const memoryMaxBytes = readMemoryMax(env);
  const self = readSmapsRollup('self');
  const supervisor = process.ppid > 1 && env[RESTARTS_ENV] !== undefined ? readSmapsRollup(process.ppid) : null;
  const idleBytes = (self?.rss ?? process.memoryUsage.rss()) + (supervisor ? supervisor.privateClean + supervisor.privateDirty : 0) + STARTUP_ALLOWANCE_BYTES;
  return { ...deriveConnectionCap({ memoryMaxBytes, idleBytes, openFileLimit: readOpenFileLimit('self') }), memoryMaxBytes, idleBytes };
}

/**
 * The server process: parse the config once (env + flags), derive the cap unless one is set,
 * start, and on SIGTERM/SIGINT shut down gracefully: every browser socket gets close 1001, the
 * process exits 0 within the grace period (or 1 when it ran out).
 */
export async function runServer(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  let config: SidecarConfig;
  let derived: ReturnType<typeof deriveCapHere> | null;
  try {
    config = parseConfig(argv, env);
    derived = capIsExplicit(argv, env) ? null : deriveCapHere(env);
    if (derived) config = parseConfig(argv, env, { maxConnections: derived.cap });
  } catch (err) {
    // Under the supervisor: one readable line, and an exit code that says "do not restart me"
    // (the env will not change). A port in use (from startSidecar) stays a plain failure: the
    // supervisor retries it, as it may be a previous server still closing.
    if (env[RESTARTS_ENV] === undefined || !(err instanceof VoError && err.code === 'VO_CONFIG_INVALID')) throw err;
    process.stderr.write(`version-observer sidecar: ${err.message}\n`);
    process.exit(CONFIG_INVALID_EXIT);
  }
  const sidecar = await startSidecar(config);
  const MiB = 2 ** 20;
  if (derived) {
    sidecar.log.info(
      { maxConnections: derived.cap, source: derived.source, memoryMaxMiB: derived.memoryMaxBytes && +(derived.memoryMaxBytes / MiB).toFixed(1), idleMiB: +(derived.idleBytes / MiB).toFixed(1), marginMiB: derived.marginBytes && +(derived.marginBytes / MiB).toFixed(1), perSocketBytes: derived.perSocketBytes, limitedByFiles: derived.limitedByFiles },
      derived.source === 'memory' ? `connection cap ${derived.cap}, derived from the memory limit` : `connection cap ${derived.cap} (no memory limit visible: the default that fits 128Mi)`,
    );
  } else {
    sidecar.log.info({ maxConnections: config.maxConnections, source: 'setting' }, `connection cap ${config.maxConnections} (set explicitly)`);
  }
  const restarts = Number(env[RESTARTS_ENV] ?? 0);
  new Gauge({ name: 'version_observer_sidecar_server_restarts', help: 'Times the supervisor restarted the server process since the container started.', registers: [sidecar.metrics.registry] }).set(restarts);

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    sidecar.log.info({ signal, graceMs: config.shutdownGraceMs }, `${signal}: draining ${config.drainMs} ms, then closing sockets with 1001`);
    const hardStop = setTimeout(() => {
      sidecar.log.error({}, `grace period of ${config.shutdownGraceMs} ms ran out; exiting`);
      process.exit(1);
    }, config.shutdownGraceMs);
    hardStop.unref();
    sidecar.close(Math.max(0, config.shutdownGraceMs - 500)).then(
      () => process.exit(0),
      (err: unknown) => {
        sidecar.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // Under a supervisor: a server whose supervisor is gone (only outside a container, where
  // nothing else would stop it) exits instead of holding the ports.
  if (env[RESTARTS_ENV] !== undefined) {
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) stop('SIGTERM');
    }, 500).unref();
  }
}
