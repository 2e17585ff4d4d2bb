/**
 * Wires one sidecar: state store, hub, key source, metrics, the public and the admin server.
 * `startSidecar` resolves once both ports listen (so an in-process test can connect at once)
 * and rejects with a VO_CONFIG_INVALID error naming the setting when a port cannot be bound.
 * `close()` is the graceful shutdown: readiness drops, every socket is closed with 1001, both
 * servers stop, all within `graceMs`.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { VoError } from '../core/errors.ts';
import { OPTIONS, type SidecarConfig } from './config.ts';
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
