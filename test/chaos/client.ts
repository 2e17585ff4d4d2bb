/**
 * One chaos client process: CLIENTS WebSocket clients on the sidecars of one app, each bound to
 * its own 127.x source address, behaving like the browser client (reconnect delay from
 * src/client/decide.ts, a random live pod other than the one that closed), keeping per
 * connection every state it received in order, so the observer can check them.
 *
 * Invariants:
 * - A connection's record is never merged with another's: "never twice" and order are checked
 *   per connection (a reconnect may legitimately see an older state from a lagging sidecar).
 * - A slow client stops reading its socket (the TCP window fills, the sidecar must not block
 *   others on it) and resumes later; it keeps its connection.
 * - Receipt times are local and only used for printed recovery figures, never for ordering.
 *
 * IPC (from the observer): {cmd:'pods', ips}; {cmd:'slow', count, ms} → {cmd:'slowed', n};
 * {cmd:'holds'} → {cmd:'holds', clients} (what each client holds now); {cmd:'report'} →
 * {cmd:'report', connections, clients} (also every connection's whole history); {cmd:'stop'}.
 */
import WebSocket from 'ws';
import { reconnectDelayMs } from '../../src/client/decide.ts';
import type { AppState } from '../../src/core/app-state.ts';

const CLIENTS = Number(process.env.CLIENTS ?? 100);
const PROC = Number(process.env.PROC ?? 0);
const PAGE_VERSION = process.env.PAGE_VERSION ?? '0.0.0';

/** A received state, reduced to what the checks need. */
export interface Receipt {
  epoch: number;
  seq: number;
  phase: AppState['phase'];
  version: string | null;
  previousVersion: string | null;
  /** The state's resourceVersion fence (the Deployment read that decided it), when it carries one. */
  resourceVersion?: string;
  atMs: number;
}

export interface ConnectionRecord {
  client: number;
  conn: number;
  source: string;
  pod: string;
  open: boolean;
  receipts: Receipt[];
}

export interface ClientHolds {
  client: number;
  open: boolean;
  /** The newest state this client holds (over all its connections), or null. */
  held: Receipt | null;
}

interface Client {
  id: number;
  source: string;
  ws: WebSocket | null;
  attempt: number;
  held: Receipt | null;
  conns: ConnectionRecord[];
}

let ips: string[] = [];
let stopping = false;
const clients: Client[] = [];

/** 127.<10+PROC>.<hi>.<lo>: one source address per client, none of them the pods' block. */
const sourceOf = (i: number): string => `127.${10 + PROC}.${Math.floor(i / 250)}.${(i % 250) + 1}`;

const newer = (a: Receipt, b: Receipt | null): boolean => !b || a.epoch > b.epoch || (a.epoch === b.epoch && a.seq > b.seq);

function connect(c: Client, ip: string): void {
  const rec: ConnectionRecord = { client: PROC * 100_000 + c.id, conn: c.conns.length, source: c.source, pod: ip, open: false, receipts: [] };
  c.conns.push(rec);
  const ws = new WebSocket(`ws://${ip}:8787/version/ws?v=${PAGE_VERSION}`, { perMessageDeflate: false, handshakeTimeout: 5000, localAddress: c.source });
  c.ws = ws;
  ws.on('message', (data: Buffer) => {
    let m: { type: string; state?: AppState | null };
    try {
      m = JSON.parse(data.toString()) as typeof m;
    } catch {
      return;
    }
    if ((m.type !== 'hello' && m.type !== 'state') || !m.state) return;
    const s = m.state;
    const r: Receipt = { epoch: s.epoch, seq: s.seq, phase: s.phase, version: s.version, previousVersion: s.previousVersion, atMs: Date.now() };
    if (typeof s.resourceVersion === 'string') r.resourceVersion = s.resourceVersion;
    rec.receipts.push(r);
    if (newer(r, c.held)) c.held = r;
  });
  ws.once('open', () => {
    c.attempt = 0;
    rec.open = true;
  });
  ws.on('error', () => {});
  ws.once('close', (code: number) => {
    rec.open = false;
    if (c.ws !== ws) return;
    c.ws = null;
    if (stopping) return;
    setTimeout(() => {
      if (stopping) return;
      const others = ips.filter((x) => x !== ip);
      const pool = others.length > 0 ? others : ips;
      connect(c, pool[Math.floor(Math.random() * pool.length)] ?? ip);
    }, reconnectDelayMs(c.attempt++, Math.random(), code));
  });
}

function slow(count: number, ms: number): number {
  const open = clients.filter((c) => c.ws?.readyState === WebSocket.OPEN);
  const chosen = open.slice(0, count);
  for (const c of chosen) {
    const ws = c.ws!;
    ws.pause();
    setTimeout(() => ws.resume(), ms);
  }
  return chosen.length;
}

const holdsNow = (): ClientHolds[] => clients.map((c) => ({ client: PROC * 100_000 + c.id, open: c.ws?.readyState === WebSocket.OPEN, held: c.held }));

process.on('message', (msg: { cmd: string; ips?: string[]; count?: number; ms?: number }) => {
  if (msg.cmd === 'pods') {
    const first = ips.length === 0 && clients.length === 0;
    ips = msg.ips!;
    if (first && ips.length > 0) {
      for (let i = 0; i < CLIENTS; i++) {
        const c: Client = { id: i, source: sourceOf(i), ws: null, attempt: 0, held: null, conns: [] };
        clients.push(c);
        connect(c, ips[i % ips.length]!);
      }
    }
  } else if (msg.cmd === 'slow') {
    process.send!({ cmd: 'slowed', n: slow(msg.count!, msg.ms!) });
  } else if (msg.cmd === 'holds') {
    // What each client holds now, without the history: the settle check polls this every 200 ms.
    process.send!({ cmd: 'holds', clients: holdsNow() });
  } else if (msg.cmd === 'report') {
    process.send!({ cmd: 'report', connections: clients.flatMap((c) => c.conns), clients: holdsNow() });
  } else if (msg.cmd === 'stop') {
    stopping = true;
    for (const c of clients) c.ws?.terminate();
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
