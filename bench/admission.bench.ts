/**
 * Sidecar injection cost, on the local cluster with the chart installed (one controller
 * replica, the webhook behind its Service, TLS):
 * - admission latency as the API server sees it: its
 *   `apiserver_admission_webhook_admission_duration_seconds` for our webhook, p50/p99
 *   interpolated within its buckets, over ≥ 500 server-side dry-run pod creations (dry runs call
 *   the webhook: sideEffects None), next to the webhook's own handler histogram and the
 *   client-observed create latency of labelled vs unlabelled pods, interleaved (A B A B …);
 * - pod creation → app Ready, with and without injection, interleaved in the same run.
 */
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { startCluster, type Cluster } from '../src/local/cluster.ts';
import { installController } from '../src/demo/install.ts';
import { EXAMPLE_IMAGE } from '../src/demo/example-app.ts';
import { APP_LABEL, DEFAULT_VERSION_LABEL, INJECT_LABEL } from '../src/core/labels.ts';
import { SIDECAR_CONTAINER_NAME } from '../src/core/sidecar-container.ts';
import { kubectlOk } from '../test/support/kubectl.ts';
import type { BenchResult } from './run.ts';
import { fmt, summary } from './stats.ts';
import { silentLogger } from '../src/platform/logger.ts';

const NS = 'bench';
const CREATIONS = 600; // per arm
const READY_ROUNDS = 6; // per arm
const WEBHOOK = 'pods.inject.version-observer.io';

type Buckets = Map<number, number>; // le (s) → cumulative count

/** The API server's cumulative buckets of our webhook's admit histogram. */
async function apiserverBuckets(cluster: Cluster): Promise<Buckets> {
  const text = await kubectlOk(cluster, ['get', '--raw', '/metrics']);
  const out: Buckets = new Map();
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_admission_webhook_admission_duration_seconds_bucket{') || !line.includes(`name="${WEBHOOK}"`) || !line.includes('type="admit"')) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (le === undefined) continue;
    const bound = le === '+Inf' ? Infinity : Number(le);
    out.set(bound, (out.get(bound) ?? 0) + v); // summed over the rejected="false"/"true" series
  }
  return out;
}

/** p-quantile from the difference of two cumulative bucket sets, linear within a bucket (Prometheus' histogram_quantile). */
function quantile(before: Buckets, after: Buckets, p: number): { value: number; n: number } {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const cum = bounds.map((b) => (after.get(b) ?? 0) - (before.get(b) ?? 0));
  const n = cum.at(-1) ?? 0;
  const rank = p * n;
  for (let i = 0; i < bounds.length; i++) {
    if (cum[i]! >= rank) {
      const lo = i === 0 ? 0 : bounds[i - 1]!;
      const hi = bounds[i]!;
      if (!Number.isFinite(hi)) return { value: lo, n };
      const below = i === 0 ? 0 : cum[i - 1]!;
      const inBucket = cum[i]! - below;
      return { value: lo + (hi - lo) * (inBucket === 0 ? 0 : (rank - below) / inBucket), n };
    }
  }
  return { value: NaN, n };
}

function pod(name: string, inject: boolean): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'bench', [APP_LABEL]: 'bench', [DEFAULT_VERSION_LABEL]: '1.0.0', ...(inject ? { [INJECT_LABEL]: 'true' } : {}) } },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'app', image: `${EXAMPLE_IMAGE}:1.0.0`, env: [{ name: 'PORT', value: '8080' }], readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 } }],
    },
  };
}

async function readyAfter(core: CoreV1Api, name: string, inject: boolean): Promise<number> {
  const t0 = performance.now();
  const created = await core.createNamespacedPod({ namespace: NS, body: pod(name, inject) });
  if (inject !== !!created.spec?.initContainers?.some((c) => c.name === SIDECAR_CONTAINER_NAME)) throw new Error(`${name}: injection ${inject ? 'missing' : 'unexpected'}`);
  for (;;) {
    const p = await core.readNamespacedPod({ namespace: NS, name });
    if (p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) return performance.now() - t0;
    if (performance.now() - t0 > 120_000) throw new Error(`${name} not Ready within 120 s`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function run(): Promise<BenchResult> {
  const cluster = await startCluster({ logger: silentLogger });
  try {
    const installed = await installController(cluster, { values: { replicaCount: '1' } });
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } } });

    // 1. admission latency over dry-run creations, labelled and unlabelled interleaved
    const warm = async (inject: boolean, name: string) => core.createNamespacedPod({ namespace: NS, body: pod(name, inject), dryRun: 'All' });
    for (let i = 0; i < 20; i++) await warm(true, `warm-${i}`);
    const before = await apiserverBuckets(cluster);
    const client: Record<'injected' | 'plain', number[]> = { injected: [], plain: [] };
    for (let i = 0; i < CREATIONS; i++) {
      for (const inject of i % 2 === 0 ? [true, false] : [false, true]) {
        const t0 = performance.now();
        const created = await warm(inject, `dry-${i}-${inject ? 'i' : 'p'}`);
        client[inject ? 'injected' : 'plain'].push(performance.now() - t0);
        if (inject && !created.spec?.initContainers?.some((c) => c.name === SIDECAR_CONTAINER_NAME)) throw new Error('a dry-run creation was not injected');
      }
    }
    const after = await apiserverBuckets(cluster);
    const p50 = quantile(before, after, 0.5);
    const p99 = quantile(before, after, 0.99);
    const bounds = [...after.keys()].filter(Number.isFinite).map((b) => `${b * 1000}`).join(', ');
    const own = await (await fetch(`${installed.apiUrl}/metrics`)).text();
    const ownCount = Number(/^version_observer_webhook_admission_duration_seconds_count (\d+)/m.exec(own)?.[1] ?? NaN);
    const ownSum = Number(/^version_observer_webhook_admission_duration_seconds_sum ([0-9.e+-]+)/m.exec(own)?.[1] ?? NaN);
    const ci = summary(client.injected);
    const cp = summary(client.plain);

    // 2. pod creation → app Ready, with and without injection, interleaved
    const ready: Record<'injected' | 'plain', number[]> = { injected: [], plain: [] };
    for (let i = 0; i < READY_ROUNDS; i++) {
      for (const inject of i % 2 === 0 ? [true, false] : [false, true]) {
        const name = `ready-${i}-${inject ? 'i' : 'p'}`;
        ready[inject ? 'injected' : 'plain'].push(await readyAfter(core, name, inject));
        await core.deleteNamespacedPod({ namespace: NS, name, gracePeriodSeconds: 0 });
      }
    }
    const ri = summary(ready.injected);
    const rp = summary(ready.plain);

    return {
      title: 'Sidecar injection (admission webhook)',
      markdown: `
Chart installed on the local cluster (one controller replica); the API server calls the webhook through its Service over TLS. ${CREATIONS} labelled and ${CREATIONS} unlabelled server-side dry-run pod creations, interleaved, one at a time (dry runs run the webhook: \`sideEffects: None\`). Target: p99 ≤ 10 ms.

| admission latency | n | p50 ms | p99 ms |
| --- | --- | --- | --- |
| API server's \`apiserver_admission_webhook_admission_duration_seconds\` (${WEBHOOK}) | ${p50.n} | ${fmt(p50.value * 1000, 2)} | ${fmt(p99.value * 1000, 2)} |

The API server's histogram has coarse buckets (upper bounds ${bounds} ms); the figures are interpolated within a bucket as \`histogram_quantile\` does, so they bound the latency to that bucket rather than measure it. It counts two calls per injected pod: the ServiceAccount admission mounts its token into the added init container, so the API server re-invokes the webhook (\`reinvocationPolicy: IfNeeded\`), which answers \`already_injected\`. Finer views of the same calls:

| view | n | p50 ms | tail ms (p99 with ≥ 100 samples) | mean ms |
| --- | --- | --- | --- | --- |
| client: dry-run create, labelled (webhook called) | ${ci.n} | ${fmt(ci.p50, 2)} | ${ci.tail.label} ${fmt(ci.tail.value, 2)} | ${fmt(ci.mean, 2)} |
| client: dry-run create, unlabelled (not called) | ${cp.n} | ${fmt(cp.p50, 2)} | ${cp.tail.label} ${fmt(cp.tail.value, 2)} | ${fmt(cp.mean, 2)} |
| difference (≈ the webhook round trip, TLS included) | | ${fmt(ci.p50 - cp.p50, 2)} | ${fmt(ci.tail.value - cp.tail.value, 2)} | ${fmt(ci.mean - cp.mean, 2)} |
| webhook handler only (\`version_observer_webhook_admission_duration_seconds\`, mean) | ${ownCount} | | | ${fmt((ownSum / ownCount) * 1000, 3)} |

Where the time goes: the handler's own share is the last row; the rest is the path from the API server to the pod, which on the local cluster crosses the harness's user-space service proxy (src/local/service-proxy.ts; \`TCP_NODELAY\` on both sides, as a kernel forwarder behaves). A real cluster's kube-proxy forwards in the kernel.

Pod creation → app container Ready (the example SPA, readiness probe every 1 s), ${READY_ROUNDS} pods each, interleaved:

| pods | n | p50 ms | min ms | max ms |
| --- | --- | --- | --- | --- |
| injected (native sidecar starts first) | ${ri.n} | ${fmt(ri.p50, 0)} | ${fmt(ri.min, 0)} | ${fmt(ri.max, 0)} |
| not injected | ${rp.n} | ${fmt(rp.p50, 0)} | ${fmt(rp.min, 0)} | ${fmt(rp.max, 0)} |

The native sidecar has no startup probe, so the kubelet starts the app container as soon as the sidecar's process has started; what injection adds is that start and the admission call.
`,
    };
  } finally {
    await cluster.stop();
  }
}
