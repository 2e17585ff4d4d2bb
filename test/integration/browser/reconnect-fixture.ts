/**
 * A loopback page server for the browser client's reconnect tests: it serves a page that loads
 * the client bundle, and decides what happens to each WebSocket upgrade on /version/ws:
 * - `refuse`: HTTP 503 with Retry-After before any upgrade (what a sidecar at its cap answers);
 * - `accept-then-close`: the upgrade completes, then the server closes at once with a code and
 *   reason (a server that refuses after the upgrade: 1013 at the cap);
 * - `proxy`: piped to a backend host:port, as a Kubernetes Service would; the backend can be
 *   switched while sockets are open (old sockets stay on the old backend).
 * Every upgrade attempt is counted with its arrival time (performance.now() of this process).
 * The page records every socket the client makes (created/opened/closed times from the page's
 * performance.now(), close code and reason, messages) in `window.sockets`.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect as tcpConnect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

export type UpgradeMode =
  | { kind: 'refuse'; retryAfterS: number }
  | { kind: 'accept-then-close'; code: number; reason: string }
  | { kind: 'proxy'; host: string; port: number };

export interface PageServer {
  origin: string;
  /** arrival time (ms, this process's performance.now()) of every upgrade request */
  attempts: number[];
  mode: UpgradeMode;
  close(): Promise<void>;
}

/** What the page records of one socket (see the init script below). */
export interface SocketRecord {
  created: number;
  opened?: number;
  closed?: number;
  code?: number;
  reason?: string;
  messages: string[];
}

/** A timer the page scheduled: when, and the delay it asked for. */
export interface TimeoutRecord {
  at: number;
  ms: number;
}

/**
 * Runs in the page before its scripts: wraps WebSocket so each socket the client makes is
 * recorded (the client calls `new WebSocket(url)` and uses nothing else of the global), and
 * setTimeout so the delay the client *chose* can be read apart from how late a loaded machine
 * ran it.
 */
export const RECORD_SOCKETS = `(() => {
  const nativeSetTimeout = window.setTimeout.bind(window);
  const timeouts = (window.timeouts = []);
  window.setTimeout = (fn, ms, ...args) => {
    timeouts.push({ at: performance.now(), ms: Number(ms) || 0 });
    return nativeSetTimeout(fn, ms, ...args);
  };
  const Native = WebSocket;
  const sockets = (window.sockets = []);
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      const record = { created: performance.now(), messages: [] };
      sockets.push(record);
      this.addEventListener('open', () => (record.opened = performance.now()));
      this.addEventListener('message', (e) => record.messages.push(String(e.data)));
      this.addEventListener('close', (e) => Object.assign(record, { closed: performance.now(), code: e.code, reason: e.reason }));
    }
  };
})();`;

const page = (share: boolean) => `<!doctype html><meta charset="utf-8"><title>reconnect</title>
<script type="module">
  import { createVersionObserver } from '/client.js';
  window.vo = createVersionObserver({ version: '1.0.0', share: ${share} });
</script>`;

export async function startPageServer(host: string, clientBundle: string, mode: UpgradeMode, share = true): Promise<PageServer> {
  const bundle = readFileSync(clientBundle);
  const closers = new WebSocketServer({ noServer: true });
  const open = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    if (req.url === '/client.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
    else if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html' }).end(page(share));
    else res.writeHead(404).end();
  });
  server.on('connection', (s) => {
    open.add(s);
    s.once('close', () => open.delete(s));
  });
  const handle: PageServer = {
    origin: '',
    attempts: [],
    mode,
    close: async () => {
      for (const s of open) s.destroy();
      closers.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    handle.attempts.push(performance.now());
    socket.on('error', () => socket.destroy());
    const current = handle.mode;
    if (current.kind === 'refuse') {
      socket.end(`HTTP/1.1 503 Service Unavailable\r\nRetry-After: ${current.retryAfterS}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    } else if (current.kind === 'accept-then-close') {
      closers.handleUpgrade(req, socket, head, (ws) => ws.close(current.code, current.reason));
    } else {
      const upstream = tcpConnect(current.port, current.host, () => {
        const lines = [`${req.method} ${req.url} HTTP/1.1`];
        for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
        upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
        upstream.write(head);
        socket.pipe(upstream).pipe(socket);
      });
      upstream.on('error', () => socket.destroy());
      socket.on('close', () => upstream.destroy());
    }
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  handle.origin = `http://${host}:${(server.address() as AddressInfo).port}`;
  return handle;
}
