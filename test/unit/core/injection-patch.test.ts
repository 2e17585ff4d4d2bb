/**
 * The injection patch builder on plain pods: what it injects (a native sidecar with no probes,
 * pinned trust, downward-API identity), idempotence (patched pod planned again, re-invocation),
 * opt-out, per-pod resource overrides (valid, invalid, out of bounds, request > limit), and the
 * warnings for a missing app label or a missing/invalid version label. Patches are applied with a
 * small RFC 6902 `add` applier so the tests judge the resulting pod, not the operations' shape.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import {
  CPU_REQUEST_ANNOTATION,
  INJECTED_ANNOTATION,
  INJECT_OPT_OUT_ANNOTATION,
  MEMORY_LIMIT_ANNOTATION,
  MEMORY_REQUEST_ANNOTATION,
  parseCpuQuantity,
  parseMemoryQuantity,
  planInjection,
  type InjectionSettings,
  type JsonPatchOp,
} from '../../../src/core/injection-patch.ts';
import { APP_LABEL, DEFAULT_VERSION_LABEL } from '../../../src/core/labels.ts';
import { DEFAULT_SIDECAR_RESOURCES, SIDECAR_CONTAINER_NAME } from '../../../src/core/sidecar-container.ts';

const settings: InjectionSettings = { image: 'registry.example/vo:1.2.3', publicKeys: ['a2V5MQ==', 'a2V5Mg=='], installation: 'inst-1' };

function pod(o: { labels?: Record<string, string>; annotations?: Record<string, string>; init?: V1Container[] } = {}): V1Pod {
  const p: V1Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { generateName: 'shop-', namespace: 'shop', labels: o.labels ?? { [APP_LABEL]: 'shop', [DEFAULT_VERSION_LABEL]: '1.0.0' } },
    spec: { containers: [{ name: 'app', image: 'shop:1.0.0' }] },
  };
  if (o.annotations) p.metadata!.annotations = o.annotations;
  if (o.init) p.spec!.initContainers = o.init;
  return p;
}

/** RFC 6902 `add` (the only op the builder emits) on a deep copy. */
function applyPatch<T>(doc: T, patch: JsonPatchOp[]): T {
  const out = structuredClone(doc) as unknown as Record<string, unknown>;
  for (const op of patch) {
    assert.equal(op.op, 'add');
    const parts = op.path.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = parts.pop()!;
    let parent: unknown = out;
    for (const p of parts) {
      parent = (parent as Record<string, unknown>)[p];
      assert.ok(parent !== undefined && parent !== null, `path ${op.path} has no parent`);
    }
    if (Array.isArray(parent)) {
      if (last === '-') parent.push(op.value);
      else parent.splice(Number(last), 0, op.value);
    } else {
      (parent as Record<string, unknown>)[last] = op.value;
    }
  }
  return out as unknown as T;
}

const sidecarOf = (p: V1Pod) => p.spec?.initContainers?.find((c) => c.name === SIDECAR_CONTAINER_NAME);

describe('planInjection', () => {
  it('injects a native sidecar without probes, with pinned trust and downward-API identity', () => {
    const plan = planInjection(pod(), settings);
    assert.equal(plan.outcome, 'injected');
    assert.deepEqual(plan.warnings, []);
    const patched = applyPatch(pod(), plan.patch);
    const c = sidecarOf(patched);
    assert.ok(c, 'the sidecar is an init container');
    assert.equal(c.restartPolicy, 'Always');
    assert.equal(c.readinessProbe, undefined);
    assert.equal(c.startupProbe, undefined);
    assert.equal(c.livenessProbe, undefined);
    assert.equal(c.image, settings.image);
    const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom?.fieldRef?.fieldPath]));
    assert.equal(env.VERSION_OBSERVER_PUBLIC_KEY, 'a2V5MQ==,a2V5Mg==');
    assert.equal(env.VERSION_OBSERVER_INSTALLATION, 'inst-1');
    assert.equal(env.VERSION_OBSERVER_APP, `metadata.labels['${APP_LABEL}']`);
    assert.equal(env.VERSION_OBSERVER_POD_VERSION, `metadata.labels['${DEFAULT_VERSION_LABEL}']`);
    assert.equal(env.VERSION_OBSERVER_LISTEN_HOST, 'status.podIP');
    assert.equal(env.POD_NAMESPACE, 'metadata.namespace');
    assert.deepEqual(c.resources, { requests: { ...DEFAULT_SIDECAR_RESOURCES.requests }, limits: { ...DEFAULT_SIDECAR_RESOURCES.limits } });
    assert.equal(c.securityContext?.allowPrivilegeEscalation, false);
    assert.equal(patched.metadata?.annotations?.[INJECTED_ANNOTATION], settings.image);
    assert.deepEqual(patched.spec?.containers, pod().spec?.containers, 'the app containers are untouched');
  });

  it('goes first among existing init containers and keeps them', () => {
    const init = [{ name: 'migrate', image: 'm:1' }];
    const patched = applyPatch(pod({ init }), planInjection(pod({ init }), settings).patch);
    assert.deepEqual(patched.spec?.initContainers?.map((c) => c.name), [SIDECAR_CONTAINER_NAME, 'migrate']);
  });

  it('keeps existing annotations', () => {
    const p = pod({ annotations: { team: 'a' } });
    const patched = applyPatch(p, planInjection(p, settings).patch);
    assert.equal(patched.metadata?.annotations?.team, 'a');
    assert.equal(patched.metadata?.annotations?.[INJECTED_ANNOTATION], settings.image);
  });

  it('is idempotent: a patched pod, or one re-invoked, is left as it is', () => {
    fc.assert(
      fc.property(
        fc.record({ init: fc.boolean(), annotations: fc.boolean(), version: fc.constantFrom('1.0.0', 'v2.3.4-rc.1', 'latest', '') }),
        (o) => {
          const p = pod({
            labels: { [APP_LABEL]: 'shop', ...(o.version ? { [DEFAULT_VERSION_LABEL]: o.version } : {}) },
            annotations: o.annotations ? { x: 'y' } : undefined,
            init: o.init ? [{ name: 'migrate', image: 'm:1' }] : undefined,
          });
          const first = planInjection(p, settings);
          assert.equal(first.outcome, 'injected');
          const again = planInjection(applyPatch(p, first.patch), settings);
          assert.equal(again.outcome, 'already_injected');
          assert.deepEqual(again.patch, []);
        },
      ),
    );
  });

  it('leaves a pod that already carries the sidecar (as a container or an init container)', () => {
    const asContainer = pod();
    asContainer.spec!.containers.push({ name: SIDECAR_CONTAINER_NAME, image: 'old' });
    assert.equal(planInjection(asContainer, settings).outcome, 'already_injected');
    assert.equal(planInjection(pod({ init: [{ name: SIDECAR_CONTAINER_NAME, image: 'old' }] }), settings).outcome, 'already_injected');
  });

  it('respects the opt-out annotation', () => {
    const plan = planInjection(pod({ annotations: { [INJECT_OPT_OUT_ANNOTATION]: 'false' } }), settings);
    assert.equal(plan.outcome, 'opted_out');
    assert.deepEqual(plan.patch, []);
    assert.equal(planInjection(pod({ annotations: { [INJECT_OPT_OUT_ANNOTATION]: 'true' } }), settings).outcome, 'injected');
  });

  it('does not inject a pod without the app label, and says why', () => {
    const plan = planInjection(pod({ labels: { [DEFAULT_VERSION_LABEL]: '1.0.0' } }), settings);
    assert.equal(plan.outcome, 'no_app_label');
    assert.deepEqual(plan.patch, []);
    assert.match(plan.warnings.join('\n'), new RegExp(`no ${APP_LABEL} label`));
  });

  it('injects but warns when the version label is missing or invalid', () => {
    const missing = planInjection(pod({ labels: { [APP_LABEL]: 'shop' } }), settings);
    assert.equal(missing.outcome, 'injected');
    assert.equal(missing.versionProblem, 'version label is missing');
    assert.match(missing.warnings[0]!, /app\.kubernetes\.io\/version: version label is missing/);
    const invalid = planInjection(pod({ labels: { [APP_LABEL]: 'shop', [DEFAULT_VERSION_LABEL]: 'latest' } }), settings);
    assert.equal(invalid.outcome, 'injected');
    assert.match(invalid.warnings[0]!, /"latest" is not a semantic version/);
  });

  it('reads the version from the configured label', () => {
    const s = { ...settings, versionLabel: 'example.com/release' };
    const p = pod({ labels: { [APP_LABEL]: 'shop', 'example.com/release': '3.0.0' } });
    const plan = planInjection(p, s);
    assert.deepEqual(plan.warnings, []);
    const env = sidecarOf(applyPatch(p, plan.patch))!.env!.find((e) => e.name === 'VERSION_OBSERVER_POD_VERSION');
    assert.equal(env?.valueFrom?.fieldRef?.fieldPath, "metadata.labels['example.com/release']");
  });
});

describe('resource overrides', () => {
  const injectedWith = (annotations: Record<string, string>) => {
    const p = pod({ annotations });
    const plan = planInjection(p, settings);
    return { plan, resources: sidecarOf(applyPatch(p, plan.patch))!.resources };
  };

  it('applies valid overrides', () => {
    const { plan, resources } = injectedWith({ [CPU_REQUEST_ANNOTATION]: '50m', [MEMORY_REQUEST_ANNOTATION]: '96Mi', [MEMORY_LIMIT_ANNOTATION]: '256Mi' });
    assert.deepEqual(plan.warnings, []);
    assert.deepEqual(resources, { requests: { cpu: '50m', memory: '96Mi' }, limits: { memory: '256Mi' } });
  });

  it('ignores a malformed or out-of-bounds value with a warning naming it, and uses the default', () => {
    for (const [key, value] of [
      [CPU_REQUEST_ANNOTATION, 'lots'],
      [CPU_REQUEST_ANNOTATION, '5000m'],
      [MEMORY_REQUEST_ANNOTATION, '1Ti'],
      [MEMORY_REQUEST_ANNOTATION, '1Mi'],
      [MEMORY_LIMIT_ANNOTATION, '-1Mi'],
      [MEMORY_LIMIT_ANNOTATION, '64Gi'],
    ] as const) {
      const { plan, resources } = injectedWith({ [key]: value });
      assert.equal(plan.outcome, 'injected', `${key}=${value} still injects`);
      assert.deepEqual(plan.rejectedOverrides, [key]);
      assert.equal(plan.warnings.length, 1);
      assert.ok(plan.warnings[0]!.includes(`${key}="${value}" ignored`), plan.warnings[0]);
      assert.deepEqual(resources, { requests: { ...DEFAULT_SIDECAR_RESOURCES.requests }, limits: { ...DEFAULT_SIDECAR_RESOURCES.limits } });
    }
  });

  it('never produces a memory request above the limit', () => {
    const high = injectedWith({ [MEMORY_REQUEST_ANNOTATION]: '512Mi' });
    assert.deepEqual(high.plan.rejectedOverrides, [MEMORY_REQUEST_ANNOTATION]);
    assert.equal(high.resources?.requests?.memory, DEFAULT_SIDECAR_RESOURCES.requests.memory);
    const low = injectedWith({ [MEMORY_LIMIT_ANNOTATION]: '64Mi', [MEMORY_REQUEST_ANNOTATION]: '128Mi' });
    assert.deepEqual(low.plan.rejectedOverrides, [MEMORY_REQUEST_ANNOTATION]);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4096 }), fc.integer({ min: 0, max: 4096 }), (req, lim) => {
        const r = injectedWith({ [MEMORY_REQUEST_ANNOTATION]: `${req}Mi`, [MEMORY_LIMIT_ANNOTATION]: `${lim}Mi` }).resources!;
        assert.ok(parseMemoryQuantity(r.requests!.memory!)! <= parseMemoryQuantity(r.limits!.memory!)!);
      }),
    );
  });

  it('parses quantities', () => {
    assert.equal(parseMemoryQuantity('96Mi'), 96 * 1024 * 1024);
    assert.equal(parseMemoryQuantity('1G'), 1e9);
    assert.equal(parseMemoryQuantity('1.5Gi'), 1.5 * 1024 ** 3);
    assert.equal(parseMemoryQuantity('12Qi'), null);
    assert.equal(parseCpuQuantity('250m'), 250);
    assert.equal(parseCpuQuantity('0.5'), 500);
    assert.equal(parseCpuQuantity('1.5m'), null);
  });
});
