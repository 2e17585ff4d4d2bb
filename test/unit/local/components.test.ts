/**
 * kube-controller-manager's command line with and without the node controller (node loss):
 * off by default, so every other test's cluster runs the controllers it ran before; on, with the
 * cluster's grace, no eviction, and a grace several Lease renewals long.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NODE_LEASE_RENEW_MS, NODE_MONITOR_GRACE_MS } from '../../../src/local/cluster.ts';
import { CONTROLLERS, controllerManagerArgs } from '../../../src/local/control-plane/components.ts';
import type { Credentials } from '../../../src/local/control-plane/credentials.ts';

const creds = { saKeyFile: '/k/sa.key' } as Credentials;
const flag = (args: string[], name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

test('by default kcm runs the harness controllers only, with no node-monitor flag', () => {
  const args = controllerManagerArgs('/k/kcm.kubeconfig', creds);
  assert.deepEqual(flag(args, 'controllers')!.split(','), CONTROLLERS);
  assert.ok(!args.some((a) => /node-monitor|eviction-rate/.test(a)));
});

test('with the node monitor: the lifecycle controller, its grace, no eviction and no taint eviction', () => {
  const args = controllerManagerArgs('/k/kcm.kubeconfig', creds, { graceMs: NODE_MONITOR_GRACE_MS });
  const controllers = flag(args, 'controllers')!.split(',');
  assert.deepEqual(controllers, [...CONTROLLERS, 'node-lifecycle-controller']);
  assert.ok(!controllers.includes('taint-eviction-controller'));
  assert.equal(flag(args, 'node-monitor-grace-period'), `${NODE_MONITOR_GRACE_MS / 1000}s`);
  assert.equal(flag(args, 'node-eviction-rate'), '0');
  assert.equal(flag(args, 'secondary-node-eviction-rate'), '0');
});

test('the grace is 8 Lease renewals, and shorter than the 300 s default toleration of an unreachable node', () => {
  assert.equal(NODE_MONITOR_GRACE_MS, 8 * NODE_LEASE_RENEW_MS);
  assert.ok(NODE_MONITOR_GRACE_MS < 300_000);
});
