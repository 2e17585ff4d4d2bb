import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IpAllocator, intToIp4, ip4ToInt } from '../../../src/local/kubelet/ip-allocator.ts';

test('default range starts at 127.1.0.1 and never hands out 127.0.0.1', () => {
  const a = new IpAllocator();
  assert.equal(a.allocate(), '127.1.0.1');
  assert.equal(a.allocate(), '127.1.0.2');
  assert.equal(a.reserve('127.0.0.1'), false);
});

test('addresses are unique while held, skip .0 and .255, and are reused as late as possible', () => {
  const a = new IpAllocator(ip4ToInt('127.1.0.250'), ip4ToInt('127.1.1.3'));
  const got = [a.allocate(), a.allocate(), a.allocate(), a.allocate(), a.allocate(), a.allocate(), a.allocate()];
  assert.deepEqual(got, ['127.1.0.250', '127.1.0.251', '127.1.0.252', '127.1.0.253', '127.1.0.254', '127.1.1.1', '127.1.1.2']);
  a.release('127.1.0.251');
  assert.equal(a.allocate(), '127.1.1.3', 'the cursor goes on before reusing a released address');
  assert.equal(a.allocate(), '127.1.0.251');
  assert.throws(() => a.allocate(), /no free pod IP/);
  assert.equal(a.inUse, 8);
});

test('reserve marks an address taken, refuses duplicates and foreign addresses', () => {
  const a = new IpAllocator(ip4ToInt('127.1.0.1'), ip4ToInt('127.1.0.3'));
  assert.equal(a.reserve('127.1.0.1'), true);
  assert.equal(a.reserve('127.1.0.1'), false);
  assert.equal(a.reserve('10.0.0.1'), false);
  assert.equal(a.reserve('garbage'), false);
  assert.equal(a.allocate(), '127.1.0.2');
});

test('ip4 conversions round-trip', () => {
  for (const ip of ['127.1.0.1', '127.254.255.254', '0.0.0.0', '255.255.255.255']) assert.equal(intToIp4(ip4ToInt(ip)), ip);
  assert.throws(() => ip4ToInt('1.2.3'), /not an IPv4/);
});

test('claimBlock gives each holder its own /16 and frees it on release', async () => {
  const { claimBlock } = await import('../../../src/local/kubelet/ip-allocator.ts');
  const a = await claimBlock(200);
  const b = await claimBlock(200);
  try {
    assert.notEqual(a.block, b.block);
    assert.equal(a.allocator.allocate(), `127.${a.block}.0.1`);
    assert.equal(b.allocator.allocate(), `127.${b.block}.0.1`);
    assert.equal(a.serviceCIDR, `127.${a.block}.240.0/20`, 'the Service range is in the same block, so clusters never share it');
  } finally {
    await a.release();
    await b.release();
  }
  const c = await claimBlock(a.block);
  assert.equal(c.block, a.block);
  await c.release();
});

test('a block splits into pod IPs below 127.B.240.0 and the Service range 127.B.240.0/20', async () => {
  const { blockNetworks } = await import('../../../src/local/kubelet/ip-allocator.ts');
  assert.deepEqual(blockNetworks(7), { podFirst: '127.7.0.1', podLast: '127.7.239.254', serviceCIDR: '127.7.240.0/20' });
  const a = new IpAllocator(ip4ToInt('127.7.239.253'), ip4ToInt(blockNetworks(7).podLast));
  assert.deepEqual([a.allocate(), a.allocate()], ['127.7.239.253', '127.7.239.254']);
  assert.throws(() => a.allocate(), /no free pod IP/, 'no pod IP is ever handed out from the Service range');
});
