/**
 * The baseline for bench/sidecar.bench.ts: a bare `ws` server doing the same work as the
 * sidecar (hello on connect, pong to pings, verify a signed push and broadcast it serialized
 * once, close 1008 on anything else), without fastify, metrics, limits or telemetry.
 *   env: HOST, PORT (ws + PUT /internal/v1/state on one port), PUBLIC_KEY (base64 raw Ed25519)
 */
import { createServer } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { publicKeyFromBase64, verifyPush } from '../../src/core/signature.ts';

const keys = [publicKeyFromBase64(process.env.PUBLIC_KEY!)];
let hello = Buffer.from('{"type":"hello","podVersion":"1.0.0","state":null}');
const pong = Buffer.from('{"type":"pong"}');
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 1024 });
const server = createServer((req, res) => {
  if (req.method !== 'PUT') return void res.writeHead(404).end();
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString()) as { installation: unknown; state: unknown; sig: string };
    if (verifyPush(body.installation, body.state, body.sig, keys) < 0) return void res.writeHead(401).end();
    const json = JSON.stringify(body.state);
    hello = Buffer.from(`{"type":"hello","podVersion":"1.0.0","state":${json}}`);
    const frame = Buffer.from(`{"type":"state","state":${json}}`);
    for (const ws of wss.clients) if (ws.readyState === 1) ws.send(frame, { binary: false });
    res.writeHead(204).end();
  });
});
function onMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  if (!isBinary && data.toString() === '{"type":"ping"}') this.send(pong, { binary: false });
  else this.close(1008);
}
server.on('upgrade', (req, socket, head) => {
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on('message', onMessage as never);
    ws.on('error', () => {});
    ws.send(hello, { binary: false });
  });
});
server.listen(Number(process.env.PORT), process.env.HOST, () => console.log('ready'));
process.on('SIGTERM', () => process.exit(0));
