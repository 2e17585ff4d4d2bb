/**
 * One load-client process for bench/e2e-latency.bench.ts: CLIENTS WebSocket clients connected
 * straight to the app's sidecars (ws://<podIP>:8787/version/ws?v=<PAGE_VERSION>), behaving like
 * the browser client (src/client/observer.ts):
 * - a state older in (epoch, seq) than the last one the client saw is ignored;
 * - an **announcement** is a converged state whose version differs from the last converged
 *   version the client saw (at first: the page's own version, PAGE_VERSION); a
 *   converged state of the same version again (e.g. re-sent by a new leader with a higher
 *   epoch) is a re-send, not an announcement;
 * - on close it reconnects after the browser client's delay (reconnectDelayMs: within 100 ms
 *   after a draining pod's 1001, else full-jitter backoff doubling while connects fail) to a random
 *   live pod, other than the one that closed, from the list the parent keeps current from its
 *   pod watch.
 * Invariant: receive times are `Date.now()` at the 'message' event, the clock the parent's pod
 * watch and the browser use.
 *
 * Each announcement keeps the (epoch, seq) it carried, so the parent can order it against the
 * controller's decision (an ordered fact) instead of against its own watch's receipt time.
 *
 * Bare sink (the floor of the measurement): {cmd:'bare', url, n} opens n more sockets to a bare
 * `ws` server (bench/e2e/bare-sink.ts) in this same process, idle except when the parent has it
 * broadcast; each frame {type:'bare', id} is timed like a state frame. They do not reconnect.
 *
 * IPC: {cmd:'pods', ips} (live pod IPs; the first one also opens the clients, answered by
 * {opened, failed}); {cmd:'count', version} → {count}; {cmd:'report', version, since} →
 * {firstAt, order, helloPath (for a hello delivery: when the client lost its socket, the
 * connects it made since, when the socket that carried the hello opened), extra, resends, reconnects, stale}; {cmd:'bare', url, n} → {opened};
 * {cmd:'bare-report', id} → {at}; {cmd:'stop'} → closes everything and exits.
 */
import WebSocket from 'ws';
import { reconnectDelayMs, type AppState } from '../../src/client/decide.ts';
import { isOlder } from '../../src/core/order.ts';

const CLIENTS = Number(process.env.CLIENTS ?? 250);
const OFFSET = Number(process.env.OFFSET ?? 0);
const PAGE_VERSION = process.env.PAGE_VERSION ?? '0.0.0';

interface Announcement {
  version: string;
  at: number;
  /** true when it came in the hello of a (re)connect, false when pushed on an open socket */
  hello: boolean;
  epoch: number;
  seq: number;
  /** for a hello: when the client lost its last established socket, and the connects it made since */
  lostAt: number;
  hops: number;
  /** for a hello: when the socket that carried it opened */
  openAt: number;
  /** for a hello: the close code of the socket the client lost */
  lostCode: number;
}

interface Client {
  ws: WebSocket | null;
  ip: string;
  attempt: number;
  last: AppState | null;
  converged: string;
  announcements: Announcement[];
  resends: number;
  reconnects: number;
  stale: number;
  /** Date.now() of the last successful open */
  openAt: number;
  /** Date.now() when an established socket (one that got a hello) last closed; connects since then */
  lostAt: number;
  hops: number;
  lostCode: number;
}

let ips: string[] = [];
let stopping = false;
const clients: Client[] = [];
const bareSockets: WebSocket[] = [];
/** bare frame id → receive times */
const bareAt = new Map<number, number[]>();

async function openBare(url: string, n: number): Promise<number> {
  const one = (): Promise<boolean> =>
    new Promise((resolve) => {
      const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 5000 });
      ws.on('message', (data: Buffer) => {
        const at = Date.now();
        const m = JSON.parse(data.toString()) as { type: string; id: number };
        if (m.type !== 'bare') return;
        const list = bareAt.get(m.id) ?? [];
        list.push(at);
        bareAt.set(m.id, list);
      });
      ws.on('error', () => {});
      ws.once('open', () => {
        bareSockets.push(ws);
        resolve(true);
      });
      ws.once('close', () => resolve(false));
    });
  let opened = 0;
  for (let i = 0; i < n; i += 16) opened += (await Promise.all(Array.from({ length: Math.min(16, n - i) }, one))).filter(Boolean).length;
  return opened;
}

function onState(c: Client, state: AppState | null, at: number, hello: boolean): void {
  if (!state) return;
  if (isOlder(state, c.last)) {
    c.stale++;
    return;
  }
  c.last = state;
  if (state.phase !== 'converged' || !state.version) return;
  if (state.version !== c.converged) {
    c.converged = state.version;
    c.announcements.push({ version: state.version, at, hello, epoch: state.epoch, seq: state.seq, lostAt: c.lostAt, hops: c.hops, openAt: c.openAt, lostCode: c.lostCode });
  } else c.resends++;
}

function connect(c: Client, ip: string, onFirst?: (ok: boolean) => void): void {
  c.ip = ip;
  c.hops++;
  let established = false;
  const ws = new WebSocket(`ws://${ip}:8787/version/ws?v=${PAGE_VERSION}`, { perMessageDeflate: false, handshakeTimeout: 5000 });
  c.ws = ws;
  ws.on('message', (data: Buffer) => {
    const at = Date.now();
    let m: { type: string; state?: AppState | null };
    try {
      m = JSON.parse(data.toString()) as typeof m;
    } catch {
      return;
    }
    // Established = the sidecar sent its hello: a draining sidecar upgrades and closes with 1001 at once, no hello.
    if (m.type === 'hello') established = true;
    if (m.type === 'hello' || m.type === 'state') onState(c, m.state ?? null, at, m.type === 'hello');
  });
  ws.once('open', () => {
    c.attempt = 0;
    c.openAt = Date.now();
    onFirst?.(true);
    onFirst = undefined;
  });
  ws.on('error', () => {});
  ws.once('close', (code: number) => {
    if (c.ws !== ws) return;
    c.ws = null;
    if (established) {
      c.lostAt = Date.now();
      c.lostCode = code;
      c.hops = 0;
    }
    if (onFirst) {
      onFirst(false);
      return;
    }
    if (stopping) return;
    setTimeout(() => {
      if (stopping) return;
      c.reconnects++;
      const others = ips.filter((x) => x !== ip);
      const pool = others.length > 0 ? others : ips;
      connect(c, pool[Math.floor(Math.random() * pool.length)] ?? ip);
    }, reconnectDelayMs(c.attempt++, Math.random(), code));
  });
}

async function openAll(): Promise<{ opened: number; failed: number }> {
  let failed = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < CLIENTS) {
      const i = next++;
      const c: Client = { ws: null, ip: '', attempt: 0, last: null, converged: PAGE_VERSION, announcements: [], resends: 0, reconnects: 0, stale: 0, openAt: 0, lostAt: 0, hops: 0, lostCode: 0 };
      clients.push(c);
      const ok = await new Promise<boolean>((resolve) => connect(c, ips[(OFFSET + i) % ips.length]!, resolve));
      if (!ok) failed++;
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return { opened: clients.filter((c) => c.ws?.readyState === WebSocket.OPEN).length, failed };
}

process.on('message', async (msg: { cmd: string; ips?: string[]; version?: string; since?: number; url?: string; n?: number; id?: number }) => {
  if (msg.cmd === 'pods') {
    const first = ips.length === 0 && clients.length === 0;
    ips = msg.ips!;
    if (first) process.send!({ cmd: 'opened', ...(await openAll()) });
  } else if (msg.cmd === 'count') {
    process.send!({ cmd: 'count', count: clients.filter((c) => c.announcements.some((a) => a.version === msg.version)).length });
  } else if (msg.cmd === 'report') {
    const since = msg.since!;
    // per client: first announcement of `version`; "extra" = any other announcement since `since`
    // (a second one of the same version, or one of another version)
    const firstAt: number[] = [];
    const order: Array<[number, number] | null> = [];
    const helloPath: Array<[number, number, number, number] | null> = [];
    const viaHello: boolean[] = [];
    const where: Array<{ ip: string; openAt: number; reconnects: number }> = [];
    const extra: string[] = [];
    for (const [i, c] of clients.entries()) {
      const mine = c.announcements.filter((a) => a.at >= since);
      const hit = mine.find((a) => a.version === msg.version);
      firstAt.push(hit ? hit.at : Number.NaN);
      order.push(hit ? [hit.epoch, hit.seq] : null);
      helloPath.push(hit?.hello ? [hit.lostAt, hit.hops, hit.openAt, hit.lostCode] : null);
      viaHello.push(hit?.hello ?? false);
      where.push({ ip: c.ip, openAt: c.openAt, reconnects: c.reconnects });
      if (mine.length !== (hit ? 1 : 0)) extra.push(`client ${OFFSET + i}: ${mine.map((a) => a.version).join(' → ')}`);
    }
    const sum = (f: (c: Client) => number): number => clients.reduce((a, c) => a + f(c), 0);
    process.send!({ cmd: 'report', firstAt, order, helloPath, viaHello, where, extra, resends: sum((c) => c.resends), reconnects: sum((c) => c.reconnects), stale: sum((c) => c.stale), open: clients.filter((c) => c.ws?.readyState === WebSocket.OPEN).length });
  } else if (msg.cmd === 'bare') {
    process.send!({ cmd: 'bare-opened', opened: await openBare(msg.url!, msg.n!) });
  } else if (msg.cmd === 'bare-report') {
    process.send!({ cmd: 'bare-report', at: bareAt.get(msg.id!) ?? [] });
    bareAt.delete(msg.id!);
  } else if (msg.cmd === 'stop') {
    stopping = true;
    for (const c of clients) c.ws?.terminate();
    for (const ws of bareSockets) ws.terminate();
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
