/**
 * Pod IPs on the loopback network (every address of 127/8 is local on Linux, so a process can
 * bind any of them without setup). 127.0.x.y stays free for the host (the control plane and the
 * service proxy listen on 127.0.0.1), and addresses ending in .0 or .255 are never handed out.
 *
 * Several local clusters may run on one machine (tests in parallel, a demo next to them), so
 * each cluster first claims a /16 block 127.B.0.0/16 with claimBlock(): it listens on
 * 127.B.0.255:65000, which the OS gives to one process at a time and frees when that process
 * dies (no stale lock files). The block holds both networks of that cluster, so neither can
 * collide with another cluster's: pod IPs come from 127.B.0.1 … 127.B.239.254, and
 * 127.B.240.0/20 is the Service ClusterIP range (kube-apiserver's --service-cluster-ip-range;
 * the service proxy listens on each ClusterIP:port).
 *
 * Invariants: an address is handed out to at most one holder at a time; allocation walks a
 * cursor forward and wraps, so a released address is reused as late as possible (a stale
 * endpoint or a socket in TIME_WAIT never meets a new pod at once).
 */
import net from 'node:net';

const FIRST = ip4ToInt('127.1.0.1');
const LAST = ip4ToInt('127.254.255.254');

export function ip4ToInt(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`not an IPv4 address: ${ip}`);
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

export function intToIp4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

function usable(n: number): boolean {
  const last = n & 255;
  return last !== 0 && last !== 255;
}

export class IpAllocator {
  readonly #first: number;
  readonly #last: number;
  readonly #used = new Set<number>();
  #cursor: number;

  /** first/last default to 127.1.0.1 / 127.254.255.254 (tests pass a small range). */
  constructor(first = FIRST, last = LAST) {
    if (first > last) throw new Error('IpAllocator: first > last');
    this.#first = first;
    this.#last = last;
    this.#cursor = first;
  }

  /** Hands out the next free address; throws when the range is exhausted. */
  allocate(): string {
    const size = this.#last - this.#first + 1;
    for (let i = 0; i < size; i++) {
      const n = this.#cursor;
      this.#cursor = n >= this.#last ? this.#first : n + 1;
      if (usable(n) && !this.#used.has(n)) {
        this.#used.add(n);
        return intToIp4(n);
      }
    }
    throw new Error(`no free pod IP left in ${intToIp4(this.#first)}-${intToIp4(this.#last)}`);
  }

  /** Marks an address taken (a pod that already has it); false if it is outside the range or taken. */
  reserve(ip: string): boolean {
    let n: number;
    try {
      n = ip4ToInt(ip);
    } catch {
      return false;
    }
    if (n < this.#first || n > this.#last || !usable(n) || this.#used.has(n)) return false;
    this.#used.add(n);
    return true;
  }

  release(ip: string): void {
    try {
      this.#used.delete(ip4ToInt(ip));
    } catch {
      /* not ours */
    }
  }

  get inUse(): number {
    return this.#used.size;
  }
}

export interface IpBlock {
  /** B of 127.B.0.0/16 */
  block: number;
  /** pod IPs, 127.B.0.1 … 127.B.239.254 */
  allocator: IpAllocator;
  /** 127.B.240.0/20: the cluster's Service ClusterIP range */
  serviceCIDR: string;
  release(): Promise<void>;
}

/** The pod range and Service range of block B (see the module comment). */
export function blockNetworks(block: number): { podFirst: string; podLast: string; serviceCIDR: string } {
  return { podFirst: `127.${block}.0.1`, podLast: `127.${block}.239.254`, serviceCIDR: `127.${block}.240.0/20` };
}

const LOCK_PORT = 65000;

function tryListen(host: string): Promise<net.Server | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer((s) => s.destroy());
    server.once('error', () => resolve(undefined));
    server.listen({ host, port: LOCK_PORT, exclusive: true }, () => {
      server.unref();
      resolve(server);
    });
  });
}

/**
 * Claims a free 127.B.0.0/16 block for this process (B in 1..254, starting at `prefer`, default
 * a value derived from the pid so parallel clusters rarely contend). Throws when all are taken.
 */
export async function claimBlock(prefer = (process.pid % 254) + 1): Promise<IpBlock> {
  for (let i = 0; i < 254; i++) {
    const b = ((prefer - 1 + i) % 254) + 1;
    const server = await tryListen(`127.${b}.0.255`);
    if (!server) continue;
    const nets = blockNetworks(b);
    return {
      block: b,
      allocator: new IpAllocator(ip4ToInt(nets.podFirst), ip4ToInt(nets.podLast)),
      serviceCIDR: nets.serviceCIDR,
      release: () => new Promise<void>((r) => server.close(() => r())),
    };
  }
  throw new Error('no free 127.B.0.0/16 block for pod and Service IPs (254 local clusters running?)');
}
