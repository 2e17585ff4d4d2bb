/**
 * The example SPA's server: a tiny static server the process kubelet runs as the app container
 * (image `version-observer/example-spa` → `node examples/spa/server.ts`).
 *
 *   POD_IP (default 127.0.0.1)   address to bind
 *   PORT (default 8080)          port to bind
 *   VERSION or APP_VERSION       the version this page shows and reports (default 0.0.0-dev)
 *   VERSION_OBSERVER_SIDECAR     host:port of the sidecar's public port (default $POD_IP:8787)
 *
 * Routes: `/` (index.html with the version filled in, `Cache-Control: no-cache` so a reload
 * always revalidates and gets the new version), `/healthz`, and `/version`, `/version/*`
 * proxied to the sidecar, including the WebSocket upgrade of `/version/ws`. The proxy is only
 * for the local harness, which has no Ingress: it lets one origin serve the page and the
 * sidecar. In a real cluster an Ingress (or the Service) routes `/version/` to port 8787.
 * Zero dependencies; SIGTERM stops accepting and exits once the sidecar has drained the tunnels.
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { readFileSync } from 'node:fs';

const host = process.env.POD_IP || '127.0.0.1';
const port = Number(process.env.PORT || 8080);
const version = process.env.VERSION || process.env.APP_VERSION || '0.0.0-dev';
const app = process.env.APP_NAME || 'example-spa';
const [sidecarHost, sidecarPort] = (() => {
  const s = process.env.VERSION_OBSERVER_SIDECAR || `${host}:8787`;
  const i = s.lastIndexOf(':');
  return [s.slice(0, i), Number(s.slice(i + 1))] as const;
})();

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = Buffer.from(
  readFileSync(new URL('./index.html', import.meta.url), 'utf8').replaceAll('%VERSION%', esc(version)).replaceAll('%APP%', esc(app)),
);

function proxy(req: IncomingMessage, res: ServerResponse): void {
  const up = request({ host: sidecarHost, port: sidecarPort, method: req.method, path: req.url, headers: req.headers }, (r) => {
    res.writeHead(r.statusCode ?? 502, r.headers);
    r.pipe(res);
  });
  up.on('error', () => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
    res.end('sidecar unavailable\n');
  });
  req.pipe(up);
}

const server = createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/version' || path?.startsWith('/version/')) return proxy(req, res);
  if (path === '/healthz') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
  if (path === '/' || path === '/index.html') {
    return void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache', 'content-length': page.length }).end(page);
  }
  res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
});

// WebSocket upgrade of /version/ws: a byte pipe to the sidecar (it checks Origin itself).
const tunnels = new Set<Duplex>();
server.on('upgrade', (req, socket, head) => {
  tunnels.add(socket);
  socket.on('close', () => tunnels.delete(socket));
  if (!req.url?.startsWith('/version/')) return void socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n');
  const up = connect(sidecarPort, sidecarHost, () => {
    let raw = `${req.method} ${req.url} HTTP/1.1\r\n`;
    for (let i = 0; i < req.rawHeaders.length; i += 2) raw += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
    up.write(`${raw}\r\n`);
    if (head.length) up.write(head);
    up.pipe(socket).pipe(up);
  });
  up.on('error', () => socket.end('HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\n\r\n'));
  socket.on('error', () => up.destroy());
  socket.on('close', () => up.destroy());
  up.on('close', () => socket.destroy());
});

server.listen(port, host, () => console.log(JSON.stringify({ msg: `example SPA ${version} listening on http://${host}:${port}`, sidecar: `${sidecarHost}:${sidecarPort}` })));
const stop = (): void => {
  server.close();
  server.closeIdleConnections();
  // WebSocket tunnels stay up: the sidecar drains them (so the state announcing this very
  // rollout still reaches their browsers) and then closes them with 1001, which ends each tunnel.
  const exitWhenDrained = (): void => {
    if (tunnels.size === 0) process.exit(0);
  };
  for (const s of tunnels) s.once('close', exitWhenDrained);
  exitWhenDrained();
  setTimeout(() => process.exit(0), 4000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
