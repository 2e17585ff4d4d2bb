/**
 * The browser client's socket loop (src/client/server-connection.ts) with a scripted WebSocket
 * and node:test's mock timers: statuses, what is handed on, reconnect delays, silence, close.
 */
import { test, beforeEach, afterEach, mock } from 'node:test';
import assert from 'node:assert/strict';
import { ScriptedSocket } from './scripted-socket.ts';
import { connectToServer, HANDSHAKE_TIMEOUT_MS, PING_INTERVAL_MS, SILENCE_LIMIT_MS, type NewsMessage, type Status } from '../../../src/client/server-connection.ts';

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

const HELLO = '{"type":"hello","podVersion":"1.0.0","state":null}';

/** Ends the latest socket with `code` (after `setup`) and returns the ms until the next socket is created. */
function delayAfter(code: number, reason = '', setup = (_socket: ScriptedSocket): void => {}): number {
  const sockets = ScriptedSocket.made.length;
  setup(latest());
  latest().closes(code, reason);
  let waited = 0;
  while (ScriptedSocket.made.length === sockets) {
    assert.ok(waited < 700_000, 'a reconnect is scheduled');
    mock.timers.tick(50);
    waited += 50;
  }
  return waited;
}
const opens = (socket: ScriptedSocket) => socket.opens();
const healthy = (socket: ScriptedSocket) => {
  socket.opens();
  socket.receives(HELLO);
};
const delays = (n: number, code: number, reason = '', setup?: (socket: ScriptedSocket) => void): number[] =>
  Array.from({ length: n }, () => delayAfter(code, reason, setup));

// Delays are seen in 50 ms ticks (rounded up); Math.random is 0.5 throughout.
test('a server that refuses every upgrade (1006, never open): the backoff grows from the last failure to 30 s', () => {
  start();
  // 0.5 × 500 (full jitter), then equal jitter: c/2 + 0.5 × c/2 with c = 1 s, 2 s, 4 s, 8 s, 16 s, 30 s, 30 s
  assert.deepEqual(delays(8, 1006), [250, 750, 1500, 3000, 6000, 12000, 22500, 22500]);
});

test('a server that accepts and closes at once (open, no hello) backs off the same way; only a hello resets it', () => {
  start();
  assert.deepEqual(delays(4, 1011, '', opens), [250, 750, 1500, 3000]);
  assert.deepEqual(delays(3, 1008, '', opens), [6000, 12000, 22500]);
  assert.deepEqual(delays(2, 1006, '', healthy), [250, 250], 'a closed healthy connection is retried like the first time');
  assert.deepEqual(delays(2, 1006, '', opens), [750, 1500]);
});

test('1013 at the cap: at least the server\'s hint (5 s, or its retry-after), with jitter, on top of the growing backoff', () => {
  start();
  // 5 s × (1 + 0.5) + the backoff above
  assert.deepEqual(delays(3, 1013, 'VO_WS_AT_CAPACITY', opens), [7500 + 250, 7500 + 750, 7500 + 1500]);
  assert.deepEqual(delays(1, 1013, 'VO_WS_AT_CAPACITY retry-after=20', opens), [30_000 + 3000]);
  assert.deepEqual(delays(1, 1006), [6000], 'a failure after the hint keeps counting');
});

test('a draining pod\'s 1001 after a hello: one retry within 100 ms, then the failure backoff', () => {
  start();
  assert.deepEqual(delays(1, 1001, 'VO_WS_GOING_AWAY', healthy), [50]); // 0.5 × 100
  assert.deepEqual(delays(2, 1001, 'VO_WS_GOING_AWAY', opens), [750, 1500], 'the next pod refuses too (also draining)');
  assert.deepEqual(delays(1, 1001, '', healthy), [50], 'served again: the quick retry is back');
  assert.deepEqual(statuses.slice(0, 4), ['connecting', 'open', 'closed', 'connecting']);
});

test('handshake timeout: no hello within 10 s (never open, or open and mute) closes the socket as a failure', () => {
  start();
  const first = latest();
  mock.timers.tick(HANDSHAKE_TIMEOUT_MS - 1);
  assert.equal(first.closeCalledWith, null);
  mock.timers.tick(1);
  assert.equal(first.closeCalledWith, undefined, 'closed by the client');
  assert.deepEqual(statuses, ['connecting', 'closed']);
  mock.timers.tick(250); // attempt 0: 0.5 × 500
  const second = latest();
  assert.notEqual(second, first);
  second.opens();
  mock.timers.tick(HANDSHAKE_TIMEOUT_MS);
  assert.equal(second.closeCalledWith, undefined, 'open without a hello is not healthy');
  mock.timers.tick(749);
  assert.equal(ScriptedSocket.made.length, 2);
  mock.timers.tick(1); // attempt 1: 500 + 0.5 × 500
  const third = latest();
  third.opens();
  mock.timers.tick(HANDSHAKE_TIMEOUT_MS - 1);
  third.receives(HELLO);
  mock.timers.tick(60_000);
  assert.equal(third.closeCalledWith, null, 'a hello in time keeps the socket');
  first.closes(1006); // the timed-out socket's late close reports to no one
  assert.equal(ScriptedSocket.made.length, 3);
});

test('pings every 30 s while open; a socket silent for over 90 s is closed at the next tick', () => {
  start();
  const socket = latest();
  socket.opens();
  socket.receives(HELLO);
  mock.timers.tick(PING_INTERVAL_MS);
  assert.deepEqual(socket.sent, ['{"type":"ping"}']);
  mock.timers.tick(PING_INTERVAL_MS * 2); // t = 90 s: silent for exactly the limit, not over it
  assert.equal(socket.sent.length, 3);
  assert.equal(socket.closeCalledWith, null);
  mock.timers.tick(PING_INTERVAL_MS); // t = 120 s
  assert.equal(socket.closeCalledWith, undefined, 'closed (no code) by the ping tick');
  assert.ok(SILENCE_LIMIT_MS < 120_000);
  assert.deepEqual(statuses, ['connecting', 'open', 'closed']);
  mock.timers.tick(250);
  assert.equal(ScriptedSocket.made.length, 2, 'replaced after the usual delay');
});

test('reconnectNow replaces the socket at once; the replaced socket\'s close neither sets a status nor reconnects', () => {
  const connection = start();
  const first = latest();
  first.opens();
  first.receives(HELLO);
  assert.equal(connection.isSilent(), false);
  connection.reconnectNow();
  assert.equal(first.closeCalledWith, undefined);
  assert.equal(ScriptedSocket.made.length, 2);
  first.closes(1005);
  healthy(latest());
  mock.timers.tick(60_000);
  assert.equal(ScriptedSocket.made.length, 2, 'no reconnect for the replaced socket');
  assert.deepEqual(statuses, ['connecting', 'open', 'connecting', 'open']);
});

test('each socket keeps its own ping timer: a replaced socket closing late does not silence its successor', () => {
  const connection = start();
  const first = latest();
  first.opens();
  first.receives(HELLO);
  connection.reconnectNow();
  const second = latest();
  second.opens();
  second.receives(HELLO);
  first.closes(1006); // after its successor opened
  mock.timers.tick(PING_INTERVAL_MS * 2);
  assert.deepEqual(second.sent, ['{"type":"ping"}', '{"type":"ping"}'], 'the successor still pings');
  assert.deepEqual(first.sent, [], 'the replaced socket\'s timer went with it');
});

test('reconnectNow keeps the backoff (only a hello resets it) and waits out a server\'s overload hint', () => {
  const connection = start();
  assert.deepEqual(delays(2, 1006), [250, 750]);
  connection.reconnectNow(); // the tab woke: connect at once, still attempt 2
  assert.equal(ScriptedSocket.made.length, 4);
  assert.deepEqual(delays(1, 1006), [1500]);
  latest().opens();
  latest().closes(1013, 'VO_WS_AT_CAPACITY retry-after=10'); // attempt 3: 15 s + 3 s
  mock.timers.tick(17_950);
  connection.reconnectNow();
  assert.equal(ScriptedSocket.made.length, 5, 'no connect before the hint has passed');
  mock.timers.tick(50);
  assert.equal(ScriptedSocket.made.length, 6);
});

test('isDown/isSilent: no socket, a closing one, or 90 s without a message', () => {
  const connection = start();
  healthy(latest());
  assert.equal(connection.isDown(), false);
  mock.timers.tick(10_000);
  latest().receives('{"type":"pong"}');
  mock.timers.tick(80_000); // the ping tick at 90 s: silent for 80 s
  mock.timers.tick(10_001); // t = 100 s, before the next tick: silent for over 90 s
  assert.equal(connection.isSilent(), true);
  latest().receives('{"type":"pong"}');
  assert.equal(connection.isSilent(), false, 'a pong counts as heard');
  latest().close();
  assert.equal(connection.isDown(), true);
});

test('close(): the socket is closed with 1000, the status is closed at once, and nothing follows', () => {
  const connection = start();
  latest().opens();
  connection.close();
  assert.equal(latest().closeCalledWith, 1000);
  assert.deepEqual(statuses, ['connecting', 'open', 'closed']);
  latest().closes(1000); // its close event comes later: no status, no reconnect
  mock.timers.tick(60_000);
  assert.equal(ScriptedSocket.made.length, 1);
  assert.deepEqual(statuses, ['connecting', 'open', 'closed']);
});
