import assert from 'node:assert/strict';
import test from 'node:test';
import fc from 'fast-check';
import { addressKey, clientAddress, forwardedChain, inCidr, NO_PROXY_TRUST, parseCidr, parseIp, type ProxyTrust } from '../../../src/core/client-address.ts';

const cidrs = (...xs: string[]) => xs.map((x) => parseCidr(x)!);
const trust = (over: Partial<ProxyTrust>): ProxyTrust => ({ ...NO_PROXY_TRUST, ...over });

test('parseIp: IPv4, IPv6 with ::, embedded IPv4, zone ids; IPv4-mapped counts as IPv4; garbage is null', () => {
  assert.deepEqual([...parseIp('10.1.2.3')!], [10, 1, 2, 3]);
  assert.deepEqual([...parseIp('::ffff:10.1.2.3')!], [10, 1, 2, 3]);
  assert.deepEqual([...parseIp('::1')!], [...Array(15).fill(0), 1]);
  assert.equal(parseIp('2001:db8::1')!.length, 16);
  assert.equal(parseIp('fe80::1%eth0')!.length, 16);
  assert.equal(addressKey(parseIp('2001:db8:1:2:3:4:5:6')!), '2001:db8:1:2::/64');
  assert.equal(addressKey(parseIp('2001:DB8:1:2::9')!), '2001:db8:1:2::/64', 'one /64, one key');
  for (const bad of ['', 'unknown', '_hidden', '1.2.3', '1.2.3.256', '1.2.3.4.5', '1:2:3:4:5:6:7:8:9', '1::2::3', '::g', '01234::', '1.2.3.4:80']) {
    assert.equal(parseIp(bad), null, bad);
  }
});

test('every IPv4 and IPv6 address round-trips through its text form', () => {
  fc.assert(fc.property(fc.ipV4(), (ip) => assert.equal(addressKey(parseIp(ip)!), ip)));
  fc.assert(fc.property(fc.ipV6(), (ip) => assert.ok(parseIp(ip) !== null, ip)));
});

test('CIDR membership', () => {
  const [ten, v6, one] = cidrs('10.0.0.0/8', 'fd00::/8', '192.0.2.1');
  assert.ok(inCidr(parseIp('10.255.0.1')!, ten!));
  assert.ok(!inCidr(parseIp('11.0.0.1')!, ten!));
  assert.ok(inCidr(parseIp('fd12::1')!, v6!));
  assert.ok(!inCidr(parseIp('fe12::1')!, v6!));
  assert.ok(!inCidr(parseIp('10.0.0.1')!, v6!), 'families never match');
  assert.ok(inCidr(parseIp('192.0.2.1')!, one!) && !inCidr(parseIp('192.0.2.2')!, one!));
  assert.ok(inCidr(parseIp('203.0.113.9')!, parseCidr('203.0.113.8/29')!));
  assert.equal(parseCidr('10.0.0.0/33'), null);
  assert.equal(parseCidr('10.0.0.0/8/8'), null);
  assert.equal(parseCidr('x/8'), null);
});

test('no trust configured: the TCP peer, whatever the headers say', () => {
  assert.equal(clientAddress('::ffff:127.0.0.5', '1.2.3.4', NO_PROXY_TRUST), '127.0.0.5');
  assert.equal(clientAddress('10.0.0.9', '1.2.3.4, 5.6.7.8', NO_PROXY_TRUST), '10.0.0.9');
});

test('trusted CIDRs: walk from the right past trusted proxies; entries left of an untrusted hop are ignored', () => {
  const t = trust({ cidrs: cidrs('10.0.0.0/8') });
  assert.equal(clientAddress('10.0.0.9', '203.0.113.7', t), '203.0.113.7');
  assert.equal(clientAddress('10.0.0.9', '6.6.6.6, 203.0.113.7, 10.1.1.1', t), '203.0.113.7', 'a spoofed leftmost entry is not read');
  assert.equal(clientAddress('198.51.100.1', '203.0.113.7', t), '198.51.100.1', 'an untrusted peer: its header is not read');
  assert.equal(clientAddress('10.0.0.9', '10.0.0.8, 10.0.0.7', t), '10.0.0.8', 'all trusted: the leftmost');
  assert.equal(clientAddress('10.0.0.9', undefined, t), '10.0.0.9');
  assert.equal(clientAddress('10.0.0.9', 'unknown, 10.0.0.7', t), '10.0.0.7', 'garbage stops the walk at the last good address');
});

test('trusted hops: that many hops nearest to us, whatever their address', () => {
  assert.equal(clientAddress('198.51.100.1', '6.6.6.6, 203.0.113.7', trust({ hops: 1 })), '203.0.113.7');
  assert.equal(clientAddress('198.51.100.1', '6.6.6.6, 203.0.113.7, 198.51.100.2', trust({ hops: 2 })), '203.0.113.7');
  assert.equal(clientAddress('198.51.100.1', '2001:db8:aa:bb::1', trust({ hops: 1 })), '2001:db8:aa:bb::/64');
});

test('the Forwarded header (RFC 7239): for= with ports, brackets and quotes', () => {
  assert.deepEqual(forwardedChain('forwarded', 'for=192.0.2.60;proto=http;by=203.0.113.43, for="[2001:db8:cafe::17]:4711", For=198.51.100.17:80, proto=https'), ['192.0.2.60', '2001:db8:cafe::17', '198.51.100.17', '']);
  assert.equal(clientAddress('10.0.0.9', 'for=203.0.113.7;proto=https', trust({ cidrs: cidrs('10.0.0.0/8'), header: 'forwarded' })), '203.0.113.7');
});

test('property: with no trust the answer never depends on the header', () => {
  fc.assert(fc.property(fc.ipV4(), fc.string(), (peer, header) => assert.equal(clientAddress(peer, header, NO_PROXY_TRUST), peer)));
});
