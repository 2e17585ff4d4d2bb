/**
 * What every component's registry carries besides its own metrics: Node's default metrics
 * under their standard names (process_*, nodejs_*: the names every Node dashboard queries)
 * and `version_observer_build_info{version, revision, node_version, component} 1`.
 *
 * Invariant: registered on the component's own Registry (never prom-client's global one), so
 * several components can share one test process. `revision` comes from
 * VERSION_OBSERVER_REVISION (the image build sets it) and is left out when unset.
 */
import { Gauge, collectDefaultMetrics, type Registry } from 'prom-client';
import { packageVersion } from './version.ts';

export type Component = 'controller' | 'sidecar';

export function registerProcessMetrics(registry: Registry, component: Component, opts: { defaultMetrics?: boolean } = {}): void {
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const labels: Record<string, string> = { version: packageVersion(), node_version: process.version, component };
  const revision = process.env.VERSION_OBSERVER_REVISION;
  if (revision) labels.revision = revision;
  new Gauge({
    name: 'version_observer_build_info',
    help: 'Always 1; the labels say which build runs (version, revision, node_version, component).',
    labelNames: Object.keys(labels),
    registers: [registry],
  }).set(labels, 1);
}
