/**
 * A bare `ws` server (no sidecar: no signature check, no state store, no admission), the floor
 * for bench/e2e-latency.bench.ts: the same load-client processes hold sockets to it, and after
 * each rollout the parent has it broadcast one frame the size of a state frame, so "sidecar
 * applied → last client" can be read beside "bare send → last client" measured in the same run
 * on the same load processes.
 * Invariant: the send time is Date.now() just before the send loop, the clock the load clients
 * time receipts with.
 *
 * IPC: first message {cmd:'listening', port}; {cmd:'broadcast', id, bytes} → {cmd:'sent', id, at, loopMs, clients}.
 */
import { WebSocketServer, type WebSocket } from 'ws';

const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
const sockets = new Set<WebSocket>();
server.on('connection', (ws) => {
  sockets.add(ws);
  ws.on('error', () => {});
  ws.once('close', () => sockets.delete(ws));
});
server.once('listening', () => process.send!({ cmd: 'listening', port: (server.address() as { port: number }).port }));

process.on('message', (msg: { cmd: string; id?: number; bytes?: number }) => {
  if (msg.cmd !== 'broadcast') return;
  const head = JSON.stringify({ type: 'bare', id: msg.id, pad: '' });
  const frame = Buffer.from(JSON.stringify({ type: 'bare', id: msg.id, pad: 'x'.repeat(Math.max(0, (msg.bytes ?? 0) - head.length)) }));
  const at = Date.now();
  const t0 = performance.now();
  for (const ws of sockets) ws.send(frame);
  process.send!({ cmd: 'sent', id: msg.id, at, loopMs: performance.now() - t0, clients: sockets.size });
});
process.on('disconnect', () => process.exit(0));
