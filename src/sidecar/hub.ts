/**
 * The WebSocket fan-out: every browser socket of this pod, the broadcast, the heartbeat and the
 * client-version telemetry.
 * Invariants:
 * - per socket the hub keeps only the `ws` object and two small fields on it (no request,
 *   no closures: listeners are shared functions that use `this`);
 * - a broadcast hands one pre-serialized Buffer to every OPEN socket (zero copies), and a socket
 *   whose unsent bytes exceed the limit is terminated instead of being written to, so one slow
 *   reader never holds the others back or grows memory without bound;
 * - a socket that missed the previous WebSocket pong is terminated at the next heartbeat;
 * - the label set for client versions never exceeds `clientVersionLabels` (+ "other", "unknown"):
 *   see client-version-counts.ts.
 */
import type { WebSocket } from 'ws';
import { ERRORS } from '../core/errors.ts';
import type { Logger } from '../platform/logger.ts';
import { ClientVersionCounts } from './client-version-counts.ts';
import type { SidecarMetrics, ConnectionStats } from './metrics.ts';

const OPEN = 1;
/** The label the peer is counted under in ClientVersionCounts; '' once it was uncounted. */
const kVersionLabel = Symbol('clientVersionLabel');
/** False from a heartbeat's ping until the peer's pong. */
const kAnsweredPing = Symbol('answeredPing');
const kHub = Symbol('hub');

interface Peer extends WebSocket {
  [kVersionLabel]: string;
  [kAnsweredPing]: boolean;
  [kHub]: Hub;
}

const PING = '{"type":"ping"}';
const PONG = Buffer.from('{"type":"pong"}');
const SEND_TEXT = { binary: false } as const;

export interface HubOptions {
  maxConnections: number;
  sendBufferLimitBytes: number;
  heartbeatIntervalMs: number;
  clientVersionLabels: number;
}

export class Hub implements ConnectionStats {
  readonly #peers = new Set<Peer>();
  readonly #clientVersions: ClientVersionCounts;
  readonly #options: HubOptions;
  readonly #log: Logger;
  metrics: SidecarMetrics | null = null;
  #heartbeat: NodeJS.Timeout | null = null;
  #closing = false;

  constructor(options: HubOptions, log: Logger) {
    this.#options = options;
    this.#log = log;
    this.#clientVersions = new ClientVersionCounts(options.clientVersionLabels);
  }

  connections(): number {
    return this.#peers.size;
  }

  connectionsByClientVersion(): ReadonlyMap<string, number> {
    return this.#clientVersions.counts;
  }

  startHeartbeat(): void {
    if (this.#heartbeat) return;
    this.#heartbeat = setInterval(() => this.#pingOrTerminateEach(), this.#options.heartbeatIntervalMs);
    this.#heartbeat.unref();
  }

  /** Takes ownership of an upgraded socket: refuses it (1001/1013) or registers it and sends hello. */
  accept(ws: WebSocket, clientVersion: string | undefined, hello: Buffer): void {
    ws.removeAllListeners('error');
    ws.on('error', onError);
    if (this.#closing) {
      ws.close(ERRORS.VO_WS_GOING_AWAY.close, 'VO_WS_GOING_AWAY');
      return;
    }
    if (this.#peers.size >= this.#options.maxConnections) {
      this.metrics?.connectionsRefused.inc({ reason: 'VO_WS_AT_CAPACITY' });
      ws.close(ERRORS.VO_WS_AT_CAPACITY.close, 'VO_WS_AT_CAPACITY');
      return;
    }
    const peer = ws as Peer;
    peer[kVersionLabel] = this.#clientVersions.add(clientVersion);
    peer[kAnsweredPing] = true;
    peer[kHub] = this;
    this.#peers.add(peer);
    peer.on('message', onMessage as (data: unknown, isBinary: boolean) => void);
    peer.on('pong', onPong as () => void);
    peer.on('close', onClose as () => void);
    peer.send(hello, SEND_TEXT);
    this.metrics?.messagesSent.inc({ type: 'hello' });
  }

  /** Sends one frame to every open socket. Returns how many got it. */
  broadcast(frame: Buffer): number {
    const t0 = performance.now();
    const limit = this.#options.sendBufferLimitBytes;
    let sent = 0;
    let dropped = 0;
    for (const peer of this.#peers) {
      if (peer.readyState !== OPEN) continue;
      if (peer.bufferedAmount > limit) {
        dropped++;
        this.#drop(peer);
        continue;
      }
      peer.send(frame, SEND_TEXT);
      sent++;
    }
    const metrics = this.metrics;
    if (metrics) {
      metrics.broadcastDuration.observe((performance.now() - t0) / 1000);
      metrics.messagesSent.inc({ type: 'state' }, sent);
      if (dropped) metrics.slowConsumersDropped.inc(dropped);
    }
    if (dropped) this.#log.warn({ code: 'VO_WS_SLOW_CONSUMER', dropped }, `dropped ${dropped} slow consumer(s): ${ERRORS.VO_WS_SLOW_CONSUMER.message}`);
    return sent;
  }

  /** First step of a shutdown: new sockets are refused with 1001; open ones keep receiving. */
  stopAccepting(): void {
    this.#closing = true;
  }

  /**
   * Shutdown: refuse new sockets, close every open one with 1001, resolve when all are gone or
   * after `graceMs`, terminating what is left.
   */
  async closeAll(graceMs: number): Promise<void> {
    this.stopAccepting();
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#heartbeat = null;
    for (const peer of this.#peers) peer.close(ERRORS.VO_WS_GOING_AWAY.close, 'VO_WS_GOING_AWAY');
    const deadline = Date.now() + graceMs;
    while (this.#peers.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const peer of this.#peers) peer.terminate();
  }

  /** One heartbeat: terminates each peer that missed the previous ping's pong, pings the others. */
  #pingOrTerminateEach(): void {
    let dead = 0;
    for (const peer of this.#peers) {
      if (!peer[kAnsweredPing]) {
        dead++;
        this.#drop(peer);
        continue;
      }
      peer[kAnsweredPing] = false;
      if (peer.readyState === OPEN) peer.ping();
    }
    if (dead) {
      this.metrics?.deadPeersTerminated.inc(dead);
      this.#log.info({ dead }, `terminated ${dead} peer(s) that missed a pong`);
    }
  }

  /** Unregisters and terminates a peer (slow consumer or dead). */
  #drop(peer: Peer): void {
    this.#peers.delete(peer);
    this.#uncount(peer);
    peer.terminate();
  }

  /** Called once per registered peer when it leaves (close event or drop). */
  #uncount(peer: Peer): void {
    this.#clientVersions.remove(peer[kVersionLabel]);
    peer[kVersionLabel] = '';
  }

  /** Socket-level handlers, shared by all peers (`this` is the socket). */
  static onPing(peer: Peer): void {
    peer.send(PONG, SEND_TEXT);
    peer[kHub].metrics?.messagesSent.inc({ type: 'pong' });
  }

  static onClosed(peer: Peer): void {
    const hub = peer[kHub];
    if (peer[kVersionLabel] !== '' && hub.#peers.delete(peer)) hub.#uncount(peer);
  }
}

function onMessage(this: Peer, data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
  if (!isBinary) {
    const text = Buffer.isBuffer(data) ? data.toString() : Buffer.concat(data as Buffer[]).toString();
    if (text === PING || isPing(text)) {
      if (this.readyState === OPEN) Hub.onPing(this);
      return;
    }
  }
  this.close(ERRORS.VO_WS_BAD_MESSAGE.close, 'VO_WS_BAD_MESSAGE');
}

function isPing(text: string): boolean {
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === 'object' && v !== null && (v as { type?: unknown }).type === 'ping';
  } catch {
    return false;
  }
}

function onPong(this: Peer): void {
  this[kAnsweredPing] = true;
}

function onClose(this: Peer): void {
  Hub.onClosed(this);
}

function onError(): void {
  // ws closes the socket itself (1009 for an oversized frame, 1002 for protocol errors);
  // this listener only keeps the error from being thrown.
}
