import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { envFailure, planLaunch } from '../../../src/local/kubelet/container-launch.ts';
import { ContainerProbes } from '../../../src/local/kubelet/container-probes.ts';
import { ConfigError } from '../../../src/local/kubelet/env.ts';
import type { ContainerLaunch } from '../../../src/local/images.ts';

const pod: V1Pod = { metadata: { name: 'web-1', namespace: 'shop' }, spec: { containers: [] } };
const spec: V1Container = { name: 'app', image: 'example/app:1', command: ['serve', '$(PORT)'], args: ['--name=$(POD_NAME)', '$$(PORT)'] };
const base = { spec, pod, podIP: '127.1.0.7', env: { PORT: '8080', POD_NAME: 'web-1', SHARED: 'container' }, baseEnv: { PATH: '/bin', SHARED: 'base' } };

test('the runner gets the expanded command line and pod identity; env is base < container < runner', () => {
  let seen: ContainerLaunch | undefined;
  const launch = planLaunch({
    ...base,
    runner: (c) => {
      seen = c;
      return { command: '/usr/bin/node', args: ['app.js', ...(c.args ?? [])], env: { SHARED: 'runner' }, cwd: '/' };
    },
  });
  assert.deepEqual(seen, { image: 'example/app:1', command: ['serve', '8080'], args: ['--name=web-1', '$(PORT)'], env: base.env, podIP: '127.1.0.7', podName: 'web-1', namespace: 'shop' });
  assert.deepEqual(launch, {
    ok: true,
    command: '/usr/bin/node',
    args: ['app.js', '--name=web-1', '$(PORT)'],
    cwd: '/',
    env: { PATH: '/bin', SHARED: 'runner', PORT: '8080', POD_NAME: 'web-1' },
    imageID: 'process:///usr/bin/node',
  });
});

test('a runner that throws, or a missing working directory, is a RunContainerError naming the image', () => {
  const threw = planLaunch({
    ...base,
    runner: () => {
      throw new Error('no such tag');
    },
  });
  assert.deepEqual(threw, { ok: false, reason: 'RunContainerError', message: 'image example/app:1: runner failed: no such tag' });
  const noDir = planLaunch({ ...base, runner: () => ({ command: 'x', args: [], cwd: '/nonexistent/vo-dir' }) });
  assert.deepEqual(noDir, { ok: false, reason: 'RunContainerError', message: 'working directory "/nonexistent/vo-dir" does not exist (image example/app:1)' });
});

test('an unresolvable env reference is CreateContainerConfigError; any other env failure RunContainerError', () => {
  assert.deepEqual(envFailure(new ConfigError('configmap "c" not found')), { ok: false, reason: 'CreateContainerConfigError', message: 'configmap "c" not found' });
  assert.deepEqual(envFailure(new Error('token request failed')), { ok: false, reason: 'RunContainerError', message: 'token request failed' });
});

test('without probes a container is started and ready at once, with no message', () => {
  const probes = new ContainerProbes(spec, '127.1.0.7', {}, { onChange: () => {}, onKill: () => {} });
  probes.start();
  assert.equal(probes.started, true);
  assert.equal(probes.readinessPasses, true);
  assert.equal(probes.message(), '');
  probes.stop();
});

test('with a startup probe a container is not started until it passes; stopped probes judge nothing', () => {
  const probes = new ContainerProbes(
    { ...spec, startupProbe: { exec: { command: ['true'] }, initialDelaySeconds: 3600 }, readinessProbe: { exec: { command: ['true'] } } },
    '127.1.0.7',
    {},
    { onChange: () => {}, onKill: () => {} },
  );
  probes.start();
  assert.equal(probes.started, false);
  assert.equal(probes.readinessPasses, false);
  probes.stop();
  assert.equal(probes.readinessPasses, true);
  assert.equal(probes.message(), '');
});
