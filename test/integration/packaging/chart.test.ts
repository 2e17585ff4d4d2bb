/**
 * The chart on its own (helm only, no cluster): `helm lint --strict` for the default and the
 * non-default values, the schema's readable refusals, and the properties a platform team checks
 * on first read (restricted security context, least-privilege RBAC whose names match what the
 * controller is told to use, NOTES with the app-team snippet).
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chartDir, ciValues, find, helmPath, render, run, type K8sObject } from './support.ts';

let helm: string;
before(async () => {
  helm = await helmPath();
});

describe('helm lint --strict', () => {
  for (const [label, extra] of [['default values', []], ['ci/full-values.yaml', ['-f', ciValues]], ['ci/monitoring-values.yaml', ['-f', `${chartDir}/ci/monitoring-values.yaml`]]] as const) {
    it(`passes with ${label}`, () => {
      const r = run(helm, ['lint', '--strict', chartDir, ...extra]);
      assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    });
  }
});

describe('values.schema.json refuses bad values with a readable message', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['a wrong type', ['--set', 'replicaCount=two'], /at '\/replicaCount': got string, want integer/],
    ['an unknown key', ['--set', 'replicas=3'], /additional properties 'replicas' not allowed/],
    ['an unknown nested key (typo)', ['--set', 'image.tagg=1.0.0'], /at '\/image': additional properties 'tagg' not allowed/],
    ['a negative replica count', ['--set', 'replicaCount=-1'], /at '\/replicaCount': minimum: got -1, want 0/],
    ['an unknown signing key source', ['--set', 'signingKey.source=vault'], /at '\/signingKey\/source'/],
    ['source=existing without a Secret name', ['--set', 'signingKey.source=existing'], /existingSecret/],
    ['a duration that is not one', ['--set', 'controller.settle=soon'], /at '\/controller\/settle'/],
  ];
  for (const [label, args, message] of cases) {
    it(`rejects ${label}`, () => {
      const r = run(helm, ['template', 'vo', chartDir, ...args]);
      assert.notEqual(r.status, 0, `expected helm to refuse ${args.join(' ')}`);
      assert.match(r.stderr, /values don't meet the specifications of the schema/);
      assert.match(r.stderr, message);
    });
  }
});

function podSpecs(objs: K8sObject[]): Array<{ where: string; spec: Record<string, any> }> {
  const out: Array<{ where: string; spec: Record<string, any> }> = [];
  for (const o of objs) {
    if (o.kind === 'Deployment') out.push({ where: `Deployment ${o.metadata.name}`, spec: (o as any).spec.template.spec });
    if (o.kind === 'Pod') out.push({ where: `Pod ${o.metadata.name}`, spec: (o as any).spec });
  }
  return out;
}

for (const [label, valuesFiles] of [['default values', []], ['ci/full-values.yaml', [ciValues]]] as const) {
  describe(`rendered with ${label}`, () => {
    let objs: K8sObject[];
    before(async () => {
      objs = await render({ valuesFiles: [...valuesFiles] });
    });

    it('every pod runs under the restricted Pod Security Standard', () => {
      const specs = podSpecs(objs);
      assert.ok(specs.length >= 2, 'the controller Deployment and the helm test pod');
      for (const { where, spec } of specs) {
        assert.equal(spec.securityContext?.runAsNonRoot, true, where);
        assert.equal(spec.securityContext?.seccompProfile?.type, 'RuntimeDefault', where);
        for (const c of spec.containers) {
          const sc = c.securityContext ?? {};
          assert.equal(sc.allowPrivilegeEscalation, false, `${where}/${c.name}`);
          assert.equal(sc.readOnlyRootFilesystem, true, `${where}/${c.name}`);
          assert.equal(sc.runAsNonRoot, true, `${where}/${c.name}`);
          assert.ok(Number.isInteger(sc.runAsUser) && sc.runAsUser > 0, `${where}/${c.name}: numeric non-root runAsUser`);
          assert.deepEqual(sc.capabilities?.drop, ['ALL'], `${where}/${c.name}`);
          assert.ok(c.resources?.limits?.memory, `${where}/${c.name}: memory limit`);
        }
      }
    });

    it('the controller Deployment: replicas, probes, spread, PDB, args match the RBAC names', () => {
      const dep = find(objs, 'Deployment') as any;
      const spec = dep.spec.template.spec;
      const c = spec.containers[0];
      assert.equal(c.args[0], 'controller');
      assert.equal(c.livenessProbe.httpGet.path, '/healthz');
      assert.equal(c.readinessProbe.httpGet.path, '/readyz');
      assert.ok(dep.spec.replicas >= 2);
      assert.ok(spec.topologySpreadConstraints.some((t: any) => t.topologyKey === 'topology.kubernetes.io/zone' || t.topologyKey === 'kubernetes.io/hostname'));
      const pdb = find(objs, 'PodDisruptionBudget') as any;
      assert.deepEqual(pdb.spec.selector.matchLabels, dep.spec.selector.matchLabels);
      const svc = find(objs, 'Service') as any;
      assert.deepEqual(svc.spec.selector, dep.spec.selector.matchLabels);

      const arg = (flag: string) => c.args.find((a: string) => a.startsWith(`--${flag}=`))?.slice(flag.length + 3);
      const role = objs.find((o) => o.kind === 'Role' && o.metadata.namespace === 'version-observer' && !o.metadata.name.endsWith('-watch')) as any;
      const leaseRule = role.rules.find((r: any) => r.resources.includes('leases') && r.resourceNames);
      assert.deepEqual(leaseRule.resourceNames, [arg('lease-name')]);
      const secretRule = role.rules.find((r: any) => r.resources.includes('secrets') && r.resourceNames?.includes(arg('key-secret')));
      assert.deepEqual(secretRule.resourceNames, [arg('key-secret')]);
      assert.deepEqual(secretRule.verbs, ['get', 'update']);
      const trustRule = role.rules.find((r: any) => r.resources.includes('configmaps') && r.resourceNames);
      assert.deepEqual([trustRule.resourceNames, trustRule.verbs], [['version-observer-trust'], ['get', 'update']]);
      // the injection webhook's TLS Secret and configuration, by the names the controller is given
      const tlsRule = role.rules.find((r: any) => r.resources.includes('secrets') && r.resourceNames?.includes(arg('webhook-secret')));
      assert.deepEqual([tlsRule.resourceNames, tlsRule.verbs], [[arg('webhook-secret')], ['get', 'update']]);
      const mwcRule = objs.filter((o) => o.kind === 'ClusterRole').flatMap((o) => (o as any).rules as any[]).find((r) => r.resources.includes('mutatingwebhookconfigurations'));
      assert.deepEqual([mwcRule.resourceNames, mwcRule.verbs], [[arg('webhook-config')], ['get', 'patch']]);
      assert.equal((find(objs, 'MutatingWebhookConfiguration') as any).metadata.name, arg('webhook-config'));
      assert.equal(spec.serviceAccountName, (find(objs, 'ServiceAccount') as any).metadata.name);
    });

    it('RBAC grants only what the controller needs', () => {
      const allRules = objs.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role').flatMap((o) => (o as any).rules as any[]);
      for (const r of allRules) {
        assert.ok(!r.verbs.includes('*') && !r.resources.includes('*') && !(r.apiGroups ?? []).includes('*'), `no wildcards: ${JSON.stringify(r)}`);
        if (r.resources.includes('secrets')) {
          // get/update by name only: the key Secret (update adds a missing installation id) and
          // the webhook's own TLS Secret (the controller renews its certificates)
          assert.ok(!r.verbs.some((v: string) => ['list', 'watch', 'patch', 'delete'].includes(v)), `secrets: ${JSON.stringify(r)}`);
          if (r.verbs.includes('get') || r.verbs.includes('update')) assert.equal(r.resourceNames?.length, 1, 'secret get/update is by name');
        }
        if (r.resources.includes('configmaps')) {
          assert.ok(!r.verbs.some((v: string) => ['list', 'watch', 'patch', 'delete'].includes(v)), `configmaps: ${JSON.stringify(r)}`);
          if (r.verbs.includes('get') || r.verbs.includes('update')) assert.deepEqual(r.resourceNames, ['version-observer-trust'], 'configmap get/update is by name');
        }
        if (r.resources.includes('deployments') || r.resources.includes('pods')) assert.deepEqual(r.verbs, ['get', 'list', 'watch']);
      }
      const secretCreate = allRules.some((r) => r.resources.includes('secrets') && r.verbs.includes('create'));
      const source = valuesFiles.length ? 'helm' : 'controller';
      assert.equal(secretCreate, source === 'controller', `secrets:create only when the controller makes the key (source=${source})`);
      if (valuesFiles.length) {
        const clusterRules = objs.filter((o) => o.kind === 'ClusterRole').flatMap((o) => (o as any).rules as any[]);
        assert.ok(clusterRules.every((r) => r.resources.join() === 'mutatingwebhookconfigurations' && r.resourceNames?.length === 1), 'watchNamespaces set: no cluster-wide read (only the webhook configuration, by name)');
        assert.deepEqual(objs.filter((o) => o.kind === 'Role' && o.metadata.name.endsWith('-watch')).map((o) => o.metadata.namespace).sort(), ['blog', 'shop']);
      }
    });
  });
}

it('signingKey.source=existing reads only that Secret and creates none', async () => {
  const objs = await render({ set: ['signingKey.source=existing', 'signingKey.existingSecret=my-key'] });
  assert.ok(!objs.some((o) => o.kind === 'Secret' && !o.metadata.name.endsWith('-webhook-tls')), 'no key Secret (the webhook TLS Secret is apart)');
  const rules = objs.filter((o) => o.kind === 'Role').flatMap((o) => (o as any).rules as any[]).filter((r) => r.resources.includes('secrets') && !r.resourceNames?.[0]?.endsWith('-webhook-tls'));
  assert.deepEqual(rules, [{ apiGroups: [''], resources: ['secrets'], resourceNames: ['my-key'], verbs: ['get', 'update'] }]);
  const args = ((find(objs, 'Deployment') as any).spec.template.spec.containers[0].args as string[]);
  assert.ok(args.includes('--key-secret=my-key'));
});

it('signingKey.source=helm generates a PKCS#8 Ed25519 key the controller can load', async () => {
  const { signingKeyFromPem } = await import('../../../src/core/signature.ts');
  const objs = await render({ set: ['signingKey.source=helm'] });
  const secret = find(objs, 'Secret') as any;
  assert.equal(secret.metadata.annotations['helm.sh/resource-policy'], 'keep');
  const pem = Buffer.from(secret.data['private.pem'], 'base64').toString('utf8');
  assert.equal(signingKeyFromPem(pem).publicKeyBase64.length, 44);
  assert.match(Buffer.from(secret.data.installation, 'base64').toString('utf8'), /^[0-9a-f-]{36}$/, 'and an installation id');
});
