/**
 * Which address a connection is accounted to, pure: the TCP peer by default; the address a
 * trusted proxy reports only when the operator said which proxies to trust.
 *
 * Invariants:
 * - With no trust configured (`hops` 0, no CIDRs) the forwarded headers are ignored entirely:
 *   the answer is the TCP peer, so no client can pick the address it is counted under.
 * - With trust configured the chain is walked from the right (the hop nearest to us): the peer
 *   first, then the forwarded entries right to left. An entry is skipped only while the one
 *   before it is trusted (within the first `hops` hops, or inside a trusted CIDR); the answer
 *   is the first address that is not trusted, or the leftmost one when all are. Entries left of
 *   an untrusted hop are never read: whoever sent them could have written anything.
 * - An entry that is not an IP address (`unknown`, an obfuscated `_name`, garbage) stops the
 *   walk at the last good address.
 * - IPv4-mapped IPv6 (`::ffff:10.0.0.1`) counts as its IPv4 address. An IPv6 client is counted
 *   by its /64 (one host usually owns a whole /64; counting single addresses would let it open
 *   a cap's worth from each).
 */

export interface ProxyTrust {
  /** this many hops nearest to us are trusted whatever their address (0 = none) */
  readonly hops: number;
  /** proxies inside these ranges are trusted */
  readonly cidrs: readonly Cidr[];
  /** which header the trusted proxies append to */
  readonly header: 'x-forwarded-for' | 'forwarded';
}

export interface Cidr {
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

export const NO_PROXY_TRUST: ProxyTrust = Object.freeze({ hops: 0, cidrs: Object.freeze([]), header: 'x-forwarded-for' });

/** The 4 or 16 bytes of an IP address, or null when `text` is not one. IPv4-mapped IPv6 gives 4 bytes. */
export function parseIp(text: string): Uint8Array | null {
  const t = text.trim();
  const v4 = parseIpv4(t);
  if (v4) return v4;
  const v6 = parseIpv6(t.replace(/%.*$/, '')); // drop a zone id (fe80::1%eth0)
  if (!v6) return null;
  const mapped = v6.subarray(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff;
  return mapped ? v6.slice(12) : v6;
}

function parseIpv4(t: string): Uint8Array | null {
  const parts = t.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i] as string;
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return null;
    out[i] = Number(p);
  }
  return out;
}

function parseIpv6(t: string): Uint8Array | null {
  if (!/^[0-9a-fA-F:.]+$/.test(t) || t.split('::').length > 2) return null;
  const [head, tail] = t.includes('::') ? (t.split('::') as [string, string]) : [t, null];
  const groups = (s: string): number[] | null => {
    if (s === '') return [];
    const out: number[] = [];
    const items = s.split(':');
    for (let i = 0; i < items.length; i++) {
      const g = items[i] as string;
      if (i === items.length - 1 && g.includes('.')) {
        const v4 = parseIpv4(g);
        if (!v4) return null;
        out.push(((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number));
      } else if (/^[0-9a-fA-F]{1,4}$/.test(g)) out.push(parseInt(g, 16));
      else return null;
    }
    return out;
  };
  const left = groups(head);
  const right = tail === null ? [] : groups(tail);
  if (!left || !right) return null;
  const missing = 8 - left.length - right.length;
  if (tail === null ? missing !== 0 : missing < 1) return null;
  const all = [...left, ...Array<number>(tail === null ? 0 : missing).fill(0), ...right];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** Parses `10.0.0.0/8`, `fd00::/8` or a bare address (a /32 or /128). Null when malformed. */
export function parseCidr(text: string): Cidr | null {
  const [addr, bits, extra] = text.trim().split('/');
  if (addr === undefined || extra !== undefined) return null;
  const bytes = parseIp(addr);
  if (!bytes) return null;
  const max = bytes.length * 8;
  if (bits === undefined) return { bytes, prefix: max };
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return null;
  return { bytes, prefix: Number(bits) };
}

export function inCidr(ip: Uint8Array, cidr: Cidr): boolean {
  if (ip.length !== cidr.bytes.length) return false;
  let rest = cidr.prefix;
  for (let i = 0; rest > 0; i++, rest -= 8) {
    const mask = rest >= 8 ? 0xff : (0xff << (8 - rest)) & 0xff;
    if (((ip[i] as number) & mask) !== ((cidr.bytes[i] as number) & mask)) return false;
  }
  return true;
}

/** The accounting key of an address: dotted IPv4, or the IPv6 /64 as `xxxx:xxxx:xxxx:xxxx::/64`. */
export function addressKey(ip: Uint8Array): string {
  if (ip.length === 4) return ip.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 8; i += 2) groups.push((((ip[i] as number) << 8) | (ip[i + 1] as number)).toString(16));
  return `${groups.join(':')}::/64`;
}

/** The addresses a forwarding header lists, left (client) to right (nearest proxy); raw text. */
export function forwardedChain(header: ProxyTrust['header'], value: string | undefined): string[] {
  if (value === undefined || value === '') return [];
  const items = value.split(',').map((s) => s.trim());
  if (header === 'x-forwarded-for') return items;
  // RFC 7239: `for=192.0.2.60;proto=http, for="[2001:db8::1]:4711"`
  return items.map((item) => {
    const pair = item.split(';').map((p) => p.trim()).find((p) => p.toLowerCase().startsWith('for='));
    if (pair === undefined) return '';
    const v = pair.slice(4).replace(/^"|"$/g, '');
    const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(v);
    if (bracketed) return bracketed[1] as string;
    return /^[\d.]+:\d+$/.test(v) ? v.replace(/:\d+$/, '') : v;
  });
}

function trusted(ip: Uint8Array, hop: number, trust: ProxyTrust): boolean {
  return hop < trust.hops || trust.cidrs.some((c) => inCidr(ip, c));
}

/**
 * The address a connection is counted under: `peer` is the TCP peer (as Node reports it),
 * `forwarded` the raw value of `trust.header` (undefined when absent). Returns the accounting
 * key (see addressKey), or the peer text itself when even the peer is not an IP address.
 */
export function clientAddress(peer: string, forwarded: string | undefined, trust: ProxyTrust): string {
  let ip = parseIp(peer);
  if (!ip) return peer;
  if (trust.hops === 0 && trust.cidrs.length === 0) return addressKey(ip);
  const chain = forwardedChain(trust.header, forwarded);
  for (let hop = 0; trusted(ip, hop, trust) && chain.length > 0; hop++) {
    const next = parseIp(chain.pop() as string);
    if (!next) break;
    ip = next;
  }
  return addressKey(ip);
}
