/** The controller's webhook settings: off by default, the documented defaults, readable errors. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_IMAGE_REPOSITORY, loadConfig } from '../../../../src/controller/config.ts';
import { packageVersion } from '../../../../src/platform/version.ts';

test('defaults: no webhook; managed certificates valid a year; the image of this version', () => {
  const c = loadConfig([], {})!;
  assert.equal(c.webhookPort, 0);
  assert.equal(c.webhookCertMode, 'managed');
  assert.equal(c.webhookCertValidityMs, 365 * 24 * 3_600_000);
  assert.equal(c.missingSidecarSweepMs, 30_000);
  assert.equal(c.sidecarImage, `${DEFAULT_IMAGE_REPOSITORY}:${packageVersion()}`);
  // the installation id is the key Secret's (controller/keys.ts), never a flag: injected pods pin what the controller signs for
  assert.equal('installation' in c, false);
});

test('flags and env set them; bad values name the flag', () => {
  const c = loadConfig(['--webhook-port=9443', '--webhook-cert-validity=40s', '--sidecar-image=r/vo:1'], { VERSION_OBSERVER_WEBHOOK_EXCLUDE_NAMESPACES: 'a,b' })!;
  assert.equal(c.webhookPort, 9443);
  assert.equal(c.webhookCertValidityMs, 40_000);
  assert.equal(c.sidecarImage, 'r/vo:1');
  assert.deepEqual(c.webhookExcludeNamespaces, ['a', 'b']);
  assert.throws(() => loadConfig(['--webhook-cert-mode=manual'], {}), /--webhook-cert-mode/);
  assert.throws(() => loadConfig(['--webhook-cert-validity=10s'], {}), /--webhook-cert-validity must be ≥ 30s/);
  assert.throws(() => loadConfig(['--webhook-secret=Not_A_Name'], {}), /--webhook-secret/);
});
