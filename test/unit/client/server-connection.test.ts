/**
 * The browser client's socket loop (src/client/server-connection.ts) with a scripted WebSocket
 * and node:test's mock timers: statuses, what is handed on, reconnect delays, silence, close.
 */
import { test, beforeEach, afterEach, mock } from 'node:test';
import assert from 'node:assert/strict';
import { ScriptedSocket } from './scripted-socket.ts';
import { connectToServer, PING_INTERVAL_MS, SILENCE_LIMIT_MS, type NewsMessage, type Status } from '../../../src/client/server-connection.ts';

const realWebSocket = globalThis.WebSocket;
let statuses: Status[];
let news: NewsMessage[];
const latest = (): ScriptedSocket => ScriptedSocket.made.at(-1)!;

beforeEach(() => {
  ScriptedSocket.made = [];
  statuses = [];
  news = [];
  globalThis.WebSocket = ScriptedSocket as unknown as typeof WebSocket;
  mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 0 });
  mock.method(Math, 'random', () => 0.5);
});
afterEach(() => {
  mock.timers.reset();
  mock.restoreAll();
  globalThis.WebSocket = realWebSocket;
});

const start = () => {
  const connection = connectToServer('ws://pod/version/ws?v=1.0.0', (m) => news.push(m), (s) => statuses.push(s));
  connection.open();
  return connection;
};

test('connecting → open; news is handed on in order, pongs and frames that are not JSON are not', () => {
  start();
  assert.equal(latest().url, 'ws://pod/version/ws?v=1.0.0');
  latest().opens();
  latest().receives('{"type":"hello","podVersion":"1.0.0","state":null}');
  latest().receives('{"type":"pong"}');
  latest().receives('not json');
  latest().receives('{"type":"state","state":null}');
  assert.deepEqual(statuses, ['connecting', 'open']);
  assert.deepEqual(news.map((m) => m.type), ['hello', 'state']);
});

test('reconnect delays: full-jitter backoff doubling while connects fail, reset by an open; 1001 → within 100 ms', () => {
  start();
  latest().opens();
  const after = (code: number, expectMs: number) => {
    const sockets = ScriptedSocket.made.length;
    latest().closes(code);
    mock.timers.tick(expectMs - 1);
    assert.equal(ScriptedSocket.made.length, sockets, `no socket before ${expectMs} ms`);
    mock.timers.tick(1);
    assert.equal(ScriptedSocket.made.length, sockets + 1, `a socket at ${expectMs} ms`);
  };
  after(1006, 250); // random 0.5 × 500
  after(1006, 500); // the connect failed: 0.5 × 1000
  after(1006, 1000);
  latest().opens();
  after(1001, 50); // a draining pod: 0.5 × 100
  after(1001, 500); // that reconnect failed too: backoff as usual (attempt 1)
  assert.deepEqual(statuses.slice(0, 4), ['connecting', 'open', 'closed', 'connecting']);
});

test('pings every 30 s while open; a socket silent for over 90 s is closed at the next tick', () => {
  start();
  const socket = latest();
  socket.opens();
  mock.timers.tick(PING_INTERVAL_MS);
  assert.deepEqual(socket.sent, ['{"type":"ping"}']);
  mock.timers.tick(PING_INTERVAL_MS * 2); // t = 90 s: silent for exactly the limit, not over it
  assert.equal(socket.sent.length, 3);
  assert.equal(socket.closeCalledWith, null);
  mock.timers.tick(PING_INTERVAL_MS); // t = 120 s
  assert.equal(socket.closeCalledWith, undefined, 'closed (no code) by the ping tick');
  assert.ok(SILENCE_LIMIT_MS < 120_000);
});

test('reconnectNow replaces the socket at once; the replaced socket\'s close neither sets a status nor reconnects', () => {
  const connection = start();
  const first = latest();
  first.opens();
  assert.equal(connection.isSilent(), false);
  connection.reconnectNow();
  assert.equal(first.closeCalledWith, undefined);
  assert.equal(ScriptedSocket.made.length, 2);
  first.closes(1005);
  mock.timers.tick(60_000);
  assert.equal(ScriptedSocket.made.length, 2, 'no reconnect for the replaced socket');
  assert.deepEqual(statuses, ['connecting', 'open', 'connecting']);
});

test('isDown/isSilent: no socket, a closing one, or 90 s without a message', () => {
  const connection = start();
  latest().opens();
  assert.equal(connection.isDown(), false);
  mock.timers.tick(SILENCE_LIMIT_MS + 1);
  assert.equal(connection.isSilent(), true);
  latest().receives('{"type":"pong"}');
  assert.equal(connection.isSilent(), false, 'a pong counts as heard');
  latest().close();
  assert.equal(connection.isDown(), true);
});

test('close(): the socket is closed with 1000 and nothing reconnects', () => {
  const connection = start();
  latest().opens();
  connection.close();
  assert.equal(latest().closeCalledWith, 1000);
  latest().closes(1000);
  mock.timers.tick(60_000);
  assert.equal(ScriptedSocket.made.length, 1);
  assert.deepEqual(statuses, ['connecting', 'open', 'closed']);
});
