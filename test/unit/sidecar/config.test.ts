import { test } from 'node:test';
import assert from 'node:assert/strict';
import { helpText, parseConfig } from '../../../src/sidecar/config.ts';
import { FIXED_DEFAULT_CAP } from '../../../src/core/connection-cap.ts';
import { generateSigningKey } from '../../../src/core/signature.ts';
import { VoError } from '../../../src/core/errors.ts';

const key = generateSigningKey();
const env = (over: Record<string, string | undefined> = {}) => ({
  VERSION_OBSERVER_APP: 'storefront', VERSION_OBSERVER_POD_VERSION: '1.3.2', VERSION_OBSERVER_PUBLIC_KEY: key.publicKeyBase64, ...over,
});

function refuses(argv: string[], e: Record<string, string | undefined>, pattern: RegExp): void {
  assert.throws(() => parseConfig(argv, e), (err: unknown) => {
    assert.ok(err instanceof VoError);
    assert.equal(err.code, 'VO_CONFIG_INVALID');
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes('\n'), 'one line');
    return true;
  });
}

test('defaults follow the configuration contract', () => {
  const c = parseConfig([], env());
  assert.equal(c.app, 'default/storefront');
  assert.equal(c.podVersion, '1.3.2');
  assert.equal(c.listenHost, '0.0.0.0');
  assert.equal(c.port, 8787);
  assert.equal(c.adminPort, 8788);
  assert.equal(c.maxConnections, 50_000, 'parseConfig alone (nothing derived): the fallback');
  assert.equal(c.heartbeatIntervalMs, 25_000);
  assert.deepEqual(c.originPolicy, { any: false, origins: [] }, 'same origin only (issue 11; was any origin)');
  assert.equal(c.maxConnectionsPerAddress, 1000);
  assert.deepEqual(c.proxyTrust, { hops: 0, cidrs: [], header: 'x-forwarded-for' });
  assert.deepEqual(c.messageRate, { burst: 20, perMinute: 120 });
  assert.equal(c.retryAfterMs, 5000);
  assert.equal(c.headersTimeoutMs, 10_000);
  assert.equal(c.requestTimeoutMs, 30_000);
  assert.equal(c.keepAliveTimeoutMs, 5000);
  assert.equal(c.idleTimeoutMs, 30_000);
  assert.equal(c.adminMaxConnections, 64);
  assert.equal(c.publicKeys.length, 1);
  assert.equal(c.installation, null);
  assert.equal(c.controllerUrlIgnored, false);
  assert.equal(c.sendBufferLimitBytes, 256 * 1024);
  assert.equal(c.shutdownGraceMs, 10_000);
  assert.equal(c.drainMs, 1000);
  assert.equal(c.logLevel, 'info');
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.publicKeys));
});

test('--help shows the connection cap as the sidecar command sets it: derived, not the fallback', () => {
  const row = helpText().split('\n').find((l) => l.includes('--max-connections '));
  assert.ok(row?.includes(`(default derived from memory.max; ${FIXED_DEFAULT_CAP} when no limit is visible)`), row);
  assert.equal(row?.includes('50000'), false, row);
});

test('the *_MS settings take whole milliseconds, as documented, or Go durations; flags too', () => {
  const c = parseConfig([], env({ VERSION_OBSERVER_HEARTBEAT_MS: '30000', VERSION_OBSERVER_SHUTDOWN_GRACE_MS: '1m30s', VERSION_OBSERVER_DRAIN_MS: '500ms' }));
  assert.equal(c.heartbeatIntervalMs, 30_000);
  assert.equal(c.shutdownGraceMs, 90_000);
  assert.equal(c.drainMs, 500);
  const f = parseConfig(['--heartbeat-ms=10s', '--drain-ms', '0', '--shutdown-grace-ms', '2500'], env({ VERSION_OBSERVER_DRAIN_MS: '3s' }));
  assert.equal(f.heartbeatIntervalMs, 10_000);
  assert.equal(f.drainMs, 0);
  assert.equal(f.shutdownGraceMs, 2500);
  refuses([], env({ VERSION_OBSERVER_HEARTBEAT_MS: '99' }), /VERSION_OBSERVER_HEARTBEAT_MS must be between 100ms and 1h, got "99"/);
  refuses([], env({ VERSION_OBSERVER_DRAIN_MS: '2h' }), /VERSION_OBSERVER_DRAIN_MS must be between 0 and 1h/);
  refuses([], env({ VERSION_OBSERVER_SHUTDOWN_GRACE_MS: 'soon' }), /VERSION_OBSERVER_SHUTDOWN_GRACE_MS must be a duration/);
});

test('namespace, origins, several keys, flags over env', () => {
  const k2 = generateSigningKey();
  const c = parseConfig(['--max-connections', '10', '--port=9000'], env({
    POD_NAMESPACE: 'shop', VERSION_OBSERVER_PUBLIC_KEY: `${key.publicKeyBase64}, ${k2.publicKeyBase64}`,
    VERSION_OBSERVER_ALLOWED_ORIGINS: 'https://shop.example.com, http://127.0.0.1:8080/', VERSION_OBSERVER_MAX_CONNECTIONS: '99',
  }));
  assert.equal(c.app, 'shop/storefront');
  assert.equal(c.publicKeys.length, 2);
  assert.deepEqual(c.originPolicy, { any: false, origins: ['https://shop.example.com', 'http://127.0.0.1:8080'] });
  assert.equal(c.maxConnections, 10);
  assert.equal(c.port, 9000);
  assert.equal(parseConfig([], env({ VERSION_OBSERVER_APP: 'ns/app' })).app, 'ns/app');
});

test('trust is only pinned: without a key or installation the sidecar still starts; a controller URL is only flagged as ignored', () => {
  const c = parseConfig([], env({ VERSION_OBSERVER_PUBLIC_KEY: undefined, VERSION_OBSERVER_CONTROLLER_URL: 'http://vo-controller.vo:8080/' }));
  assert.equal(c.controllerUrlIgnored, true);
  assert.equal(c.publicKeys.length, 0);
  assert.equal(c.installation, null);
  assert.equal(parseConfig([], env({ VERSION_OBSERVER_INSTALLATION: '0b7c8e5e-3c1d-4b8a-9f61-2f4f1d1c2a10' })).installation, '0b7c8e5e-3c1d-4b8a-9f61-2f4f1d1c2a10');
});

test('invalid configuration names the setting in one line', () => {
  refuses([], env({ VERSION_OBSERVER_APP: undefined }), /VERSION_OBSERVER_APP is required/);
  refuses([], env({ VERSION_OBSERVER_POD_VERSION: '' }), /VERSION_OBSERVER_POD_VERSION is required/);
  refuses([], env({ VERSION_OBSERVER_PUBLIC_KEY: 'not base64!' }), /VERSION_OBSERVER_PUBLIC_KEY entry 1: public key is not base64/);
  refuses([], env({ VERSION_OBSERVER_PUBLIC_KEY: Buffer.alloc(16).toString('base64') }), /32 raw bytes/);
  refuses([], env({ VERSION_OBSERVER_INSTALLATION: 'has space' }), /VERSION_OBSERVER_INSTALLATION must be 1-64 characters/);
  refuses([], env({ VERSION_OBSERVER_PORT: '70000' }), /VERSION_OBSERVER_PORT must be an integer/);
  refuses([], env({ VERSION_OBSERVER_PORT: '9000', VERSION_OBSERVER_ADMIN_PORT: '9000' }), /must differ/);
  refuses([], env({ VERSION_OBSERVER_MAX_CONNECTIONS: '0' }), /VERSION_OBSERVER_MAX_CONNECTIONS/);
  refuses([], env({ VERSION_OBSERVER_ALLOWED_ORIGINS: 'shop.example.com' }), /not an origin/);
  refuses([], env({ VERSION_OBSERVER_APP: 'a/b/c' }), /VERSION_OBSERVER_APP must be/);
  refuses(['--bogus', '1'], env(), /unknown flag --bogus/);
  refuses(['--app'], env(), /--app needs a value/);
  refuses([], env({ VERSION_OBSERVER_LOG_LEVEL: 'loud' }), /VERSION_OBSERVER_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "loud"/);
  refuses(['--port', '99999'], env(), /--port must be an integer in \[0, 65535\]/);
});

test('limits: origins (* or a list), trusted proxies, message rate, timeouts, admin cap', () => {
  const c = parseConfig([], env({
    VERSION_OBSERVER_ALLOWED_ORIGINS: '*', VERSION_OBSERVER_MAX_CONNECTIONS_PER_IP: '7', VERSION_OBSERVER_TRUSTED_PROXIES: '10.0.0.0/8, fd00::/8, 192.0.2.1',
    VERSION_OBSERVER_TRUSTED_PROXY_HOPS: '1', VERSION_OBSERVER_FORWARDED_HEADER: 'forwarded', VERSION_OBSERVER_MESSAGE_BURST: '5',
    VERSION_OBSERVER_MESSAGES_PER_MINUTE: '30', VERSION_OBSERVER_RETRY_AFTER_MS: '2s', VERSION_OBSERVER_HEADERS_TIMEOUT_MS: '2s',
    VERSION_OBSERVER_REQUEST_TIMEOUT_MS: '3s', VERSION_OBSERVER_KEEP_ALIVE_TIMEOUT_MS: '1500', VERSION_OBSERVER_IDLE_TIMEOUT_MS: '1m', VERSION_OBSERVER_ADMIN_MAX_CONNECTIONS: '8',
  }));
  assert.deepEqual(c.originPolicy, { any: true, origins: [] });
  assert.equal(c.maxConnectionsPerAddress, 7);
  assert.deepEqual(c.proxyTrust.cidrs.map((x) => x.prefix), [8, 8, 32]);
  assert.equal(c.proxyTrust.hops, 1);
  assert.equal(c.proxyTrust.header, 'forwarded');
  assert.deepEqual(c.messageRate, { burst: 5, perMinute: 30 });
  assert.deepEqual([c.retryAfterMs, c.headersTimeoutMs, c.requestTimeoutMs, c.keepAliveTimeoutMs, c.idleTimeoutMs, c.adminMaxConnections], [2000, 2000, 3000, 1500, 60_000, 8]);
  assert.ok(Object.isFrozen(c.originPolicy) && Object.isFrozen(c.proxyTrust) && Object.isFrozen(c.messageRate));

  refuses([], env({ VERSION_OBSERVER_ALLOWED_ORIGINS: '*, https://a.example' }), /VERSION_OBSERVER_ALLOWED_ORIGINS: "\*" allows every origin/);
  refuses([], env({ VERSION_OBSERVER_TRUSTED_PROXIES: '10.0.0.0/33' }), /VERSION_OBSERVER_TRUSTED_PROXIES: "10.0.0.0\/33" is not an IP address or CIDR/);
  refuses([], env({ VERSION_OBSERVER_FORWARDED_HEADER: 'x-real-ip' }), /VERSION_OBSERVER_FORWARDED_HEADER must be one of x-forwarded-for, forwarded/);
  refuses([], env({ VERSION_OBSERVER_HEADERS_TIMEOUT_MS: '40s' }), /VERSION_OBSERVER_HEADERS_TIMEOUT_MS \(40000 ms\) must not exceed VERSION_OBSERVER_REQUEST_TIMEOUT_MS \(30000 ms\)/);
  refuses([], env({ VERSION_OBSERVER_MESSAGE_BURST: '0' }), /VERSION_OBSERVER_MESSAGE_BURST must be an integer in \[1, /);
  refuses([], env({ VERSION_OBSERVER_RETRY_AFTER_MS: '500ms' }), /VERSION_OBSERVER_RETRY_AFTER_MS must be between 1s and 1h/);
  refuses(['--admin-max-connections', '0'], env(), /--admin-max-connections must be an integer in \[1, 100000\]/);
});
