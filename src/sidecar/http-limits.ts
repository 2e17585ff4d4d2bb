/**
 * The HTTP-level limits of both sidecar ports: Node's header, request, keep-alive and idle
 * timeouts, what a timed-out client is answered, and the admin port's connection cap.
 *
 * Invariants:
 * - Every socket that has not been upgraded is bounded in time: headers within
 *   `headersTimeoutMs`, the whole request within `requestTimeoutMs` (checked every
 *   `connectionsCheckingIntervalMs`, so a slow client is cut at most that much late), idle
 *   keep-alive within `keepAliveTimeoutMs`, no traffic at all within `idleTimeoutMs`. A socket
 *   that never sends a byte counts as slow headers. Upgraded WebSockets leave Node's HTTP
 *   bookkeeping (ws clears the socket timeout); the hub's heartbeat bounds them instead.
 * - A timed-out client gets `408` with a VO_HTTP_TIMEOUT body when no response has started,
 *   then its socket is destroyed; each one is counted by server and logged through
 *   log-throttle.ts, so a flood of slow clients cannot flood the log.
 * - The admin port accepts at most `adminMaxConnections` sockets; Node drops the rest at accept
 *   (no answer), and each drop is counted.
 */
import type { Server, ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import { ERRORS } from '../core/errors.ts';
import type { Logger } from '../platform/logger.ts';
import type { SidecarConfig } from './config.ts';
import type { SidecarMetrics } from './metrics.ts';
import { throttledRefusalLog } from './log-throttle.ts';

export type ServerName = 'public' | 'admin';

type TimeoutSettings = Pick<SidecarConfig, 'headersTimeoutMs' | 'requestTimeoutMs' | 'keepAliveTimeoutMs' | 'idleTimeoutMs'>;

/**
 * How often Node looks for requests past their header/request timeout. Node's default (30 s)
 * would let a slow client live up to 30 s past its limit; a quarter of the shorter timeout,
 * within [50 ms, 1 s], keeps the overshoot small for the cost of one pass over the (few)
 * not-yet-upgraded sockets.
 */
export function connectionsCheckingIntervalMs(config: TimeoutSettings): number {
  return Math.max(50, Math.min(1000, Math.floor(Math.min(config.headersTimeoutMs, config.requestTimeoutMs) / 4)));
}

/** The fastify constructor options that set the timeouts (fastify passes `http` to http.createServer). */
export function timeoutOptions(config: TimeoutSettings): {
  connectionTimeout: number;
  keepAliveTimeout: number;
  requestTimeout: number;
  http: ServerOptions;
} {
  return {
    connectionTimeout: config.idleTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    http: {
      headersTimeout: config.headersTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      keepAliveTimeout: config.keepAliveTimeoutMs,
      connectionsCheckingInterval: connectionsCheckingIntervalMs(config),
    },
  };
}

/** fastify's `clientErrorHandler`: VO_HTTP_TIMEOUT for timeouts, fastify's usual answers otherwise. */
export function clientErrorHandler(server: ServerName, metrics: SidecarMetrics, log: Logger): (err: NodeJS.ErrnoException, socket: Socket) => void {
  const report = throttledRefusalLog(log, { server });
  return (err, socket) => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    let head: string;
    let body: string;
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      metrics.httpConnectionsDropped.inc({ server, reason: 'VO_HTTP_TIMEOUT' });
      report('VO_HTTP_TIMEOUT', socket.remoteAddress, `closed a ${server}-port connection from ${socket.remoteAddress ?? '?'}: ${ERRORS.VO_HTTP_TIMEOUT.message}`);
      head = '408 Request Timeout';
      body = JSON.stringify({ code: 'VO_HTTP_TIMEOUT', message: ERRORS.VO_HTTP_TIMEOUT.message });
    } else if (err.code === 'HPE_HEADER_OVERFLOW') {
      head = '431 Request Header Fields Too Large';
      body = JSON.stringify({ code: 'VO_BAD_REQUEST', message: 'request headers too large' });
    } else {
      head = '400 Bad Request';
      body = JSON.stringify({ code: 'VO_BAD_REQUEST', message: 'malformed HTTP request' });
    }
    // Answer only when no response has started on this socket, as Node itself does.
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
    if (socket.writable && !inFlight?.headersSent) {
      socket.write(`HTTP/1.1 ${head}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    }
    socket.destroy();
  };
}

/** Caps the admin port's open sockets; Node drops the excess at accept and tells us. */
export function capConnections(server: Server, max: number, metrics: SidecarMetrics, log: Logger): void {
  server.maxConnections = max;
  const report = throttledRefusalLog(log, { server: 'admin' });
  server.on('drop', (data?: { remoteAddress?: string }) => {
    metrics.httpConnectionsDropped.inc({ server: 'admin', reason: 'VO_ADMIN_AT_CAPACITY' });
    report('VO_ADMIN_AT_CAPACITY', data?.remoteAddress, `dropped an admin-port connection from ${data?.remoteAddress ?? '?'}: ${ERRORS.VO_ADMIN_AT_CAPACITY.message} (${max})`);
  });
}
