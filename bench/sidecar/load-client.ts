/**
 * One load-client process for bench/sidecar.bench.ts (kept well under the 20,000 open-files
 * limit). Opens WebSocket connections from its own set of 127.x source addresses and records,
 * for every `state` frame, the receive time (ms since the epoch, high resolution) by seq.
 * IPC: {cmd:'open', n} → {opened, failed}; {cmd:'report'} → {recv: Record<seq, number[]>};
 * {cmd:'count', seq} → {count}; {cmd:'alive'} → {open} (sockets still open: a server at its cap
 * refuses with 503 before the upgrade or closes with 1013 after it).
 */
import WebSocket from 'ws';

const url = process.env.URL!;
const sources = process.env.SOURCES!.split(',');
const sockets: WebSocket[] = [];
let recv: Record<number, number[]> = {};
const now = (): number => performance.timeOrigin + performance.now();

function onMessage(data: Buffer): void {
  const t = now();
  const s = data.toString('latin1', 0, 20);
  if (!s.startsWith('{"type":"state"')) return;
  const m = /"seq":(\d+)/.exec(data.toString());
  if (!m) return;
  (recv[Number(m[1])] ??= []).push(t);
}

function openOne(i: number): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, localAddress: sources[i % sources.length], handshakeTimeout: 30_000 });
    ws.on('message', onMessage);
    ws.once('open', () => {
      sockets.push(ws);
      resolve(true);
    });
    ws.once('error', () => resolve(false));
  });
}

process.on('message', async (msg: { cmd: string; n?: number; seq?: number }) => {
  if (msg.cmd === 'open') {
    let failed = 0;
    const total = msg.n!;
    let next = 0;
    const worker = async () => {
      while (next < total) {
        const i = sockets.length + next++;
        if (!(await openOne(i))) failed++;
      }
    };
    await Promise.all(Array.from({ length: 64 }, worker));
    process.send!({ opened: sockets.length, failed });
  } else if (msg.cmd === 'alive') {
    process.send!({ open: sockets.filter((ws) => ws.readyState === WebSocket.OPEN).length });
  } else if (msg.cmd === 'count') {
    process.send!({ count: recv[msg.seq!]?.length ?? 0 });
  } else if (msg.cmd === 'report') {
    process.send!({ recv });
    recv = {};
  }
});
process.on('disconnect', () => process.exit(0));
