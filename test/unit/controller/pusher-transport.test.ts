/** The push transport against real sockets on loopback IPs: absolute deadline, response cap, 409 body. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { PushTransport, type PutResult } from '../../../src/controller/push-transport.ts';
import { startSlowReceiver } from '../../support/slow-receiver.ts';

const port = 20000 + Math.floor(Math.random() * 20000);
const put = (t: PushTransport, ip: string, body = '{}') => new Promise<PutResult>((resolve) => t.put(ip, body, resolve));

test('a peer that trickles its answer one byte at a time is cut at the absolute deadline (an idle timeout never fires)', async () => {
  const slow = await startSlowReceiver({ host: '127.0.2.1', port, mode: 'trickle', trickleMs: 20 });
  const t = new PushTransport({ port, deadlineMs: 300 });
  try {
    const r = await put(t, '127.0.2.1');
    assert.deepEqual([r.status, r.body, r.error], [null, null, 'timeout']);
    assert.ok(r.seconds >= 0.29 && r.seconds < 1, `ended after ${r.seconds} s`);
    await waitFor(() => slow.pending() === 0);
    assert.equal(slow.closedEarly(), 1, 'the request was destroyed');
  } finally {
    t.close();
    await slow.close();
  }
});

test('a peer that accepts and never answers is cut at the deadline', async () => {
  const slow = await startSlowReceiver({ host: '127.0.2.2', port, mode: 'hang' });
  const t = new PushTransport({ port, deadlineMs: 200 });
  try {
    const r = await put(t, '127.0.2.2');
    assert.equal(r.error, 'timeout');
    assert.ok(r.seconds < 1);
  } finally {
    t.close();
    await slow.close();
  }
});

test('an endless body is cut after the cap (too_large), well before the deadline', async () => {
  const flood = await startSlowReceiver({ host: '127.0.2.3', port, mode: 'flood' });
  const t = new PushTransport({ port, deadlineMs: 10_000, maxResponseBytes: 4096 });
  try {
    const r = await put(t, '127.0.2.3');
    assert.deepEqual([r.status, r.body, r.error], [null, null, 'too_large']);
    assert.ok(r.seconds < 2, `ended after ${r.seconds} s`);
  } finally {
    t.close();
    await flood.close();
  }
});

test('a body announced larger than the cap is refused from its header; a small 409 body is handed back; a refused connect is "refused"', async () => {
  const held = JSON.stringify({ code: 'VO_STATE_STALE', message: 'not newer', held: { epoch: 3, seq: 9 } });
  const answer = (ip: string, reply: (res: http.ServerResponse) => void) => {
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => reply(res));
    });
    return new Promise<http.Server>((resolve) => server.listen(port, ip, () => resolve(server)));
  };
  // headers announce a megabyte, then nothing: only the header can tell
  const big = await answer('127.0.2.4', (res) => res.writeHead(200, { 'content-length': 1_000_000 }).flushHeaders());
  const stale = await answer('127.0.2.6', (res) => res.writeHead(409, { 'content-type': 'application/json' }).end(held));
  const t = new PushTransport({ port, deadlineMs: 5000 });
  try {
    const r = await put(t, '127.0.2.6');
    assert.deepEqual([r.status, r.error], [409, null]);
    assert.deepEqual(JSON.parse(r.body as string), JSON.parse(held), 'the 409 body reaches the caller');
    const tooBig = await put(t, '127.0.2.4');
    assert.deepEqual([tooBig.status, tooBig.error], [null, 'too_large']);
    assert.ok(tooBig.seconds < 1, 'not held until the deadline');
    const refused = await put(t, '127.0.2.5');
    assert.deepEqual([refused.status, refused.error], [null, 'refused']);
  } finally {
    t.close();
    for (const server of [big, stale]) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }
});

async function waitFor(pred: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
