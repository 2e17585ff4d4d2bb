/**
 * The WebSocket fan-out: every browser socket of this pod, the broadcast, the heartbeat and the
 * client-version telemetry.
 * Invariants:
 * - per socket the hub keeps only the `ws` object and a few small fields on it (version label,
 *   pong flag, address, message bucket; no request, no closures: listeners are shared
 *   functions that use `this`);
 * - a broadcast hands one pre-serialized Buffer to every OPEN socket (zero copies);
 * - EVERY write (hello, pong, state, WebSocket ping and pong frames, a policy close) is preceded
 *   by `#withinSendBuffer`, which looks at the socket's unsent bytes: over `sendBufferLimitBytes` the
 *   socket is terminated instead of being written to (a close frame could not reach a peer that
 *   does not read), counted once, logged once with its address. A peer that floods pings and
 *   never reads therefore costs at most the limit plus one frame;
 * - every client message and WebSocket ping frame spends a token of the socket's bucket
 *   (connection-admission.ts) before it is decoded or answered; over the rate the socket is
 *   closed 1008 VO_WS_RATE_LIMITED;
 * - the per-address counts always equal the registered peers per address (a peer is counted
 *   once, uncounted once, whether it closes or is dropped), so the pre-upgrade per-IP check in
 *   public-server.ts reads an exact number;
 * - a socket that missed the previous WebSocket pong is terminated at the next heartbeat;
 * - the label set for client versions never exceeds `clientVersionLabels` (+ "other", "unknown"):
 *   see client-version-counts.ts.
 */
import type { WebSocket } from 'ws';
import { ERRORS, type ErrorCode } from '../core/errors.ts';
import { fullBucket, takeToken, type MessageRate, type TokenBucket } from '../core/connection-admission.ts';
import type { Logger } from '../platform/logger.ts';
import { ClientVersionCounts } from './client-version-counts.ts';
import { throttledRefusalLog, type RefusalLog } from './log-throttle.ts';
import type { SidecarMetrics, ConnectionStats } from './metrics.ts';

const OPEN = 1;
/** The label the peer is counted under in ClientVersionCounts; '' once it was uncounted. */
const kVersionLabel = Symbol('clientVersionLabel');
/** False from a heartbeat's ping until the peer's pong. */
const kAnsweredPing = Symbol('answeredPing');
const kHub = Symbol('hub');
/** The address the peer is counted under (client-address.ts), also what logs name it by. */
const kAddress = Symbol('address');
const kBucket = Symbol('messageBucket');

interface Peer extends WebSocket {
  [kVersionLabel]: string;
  [kAnsweredPing]: boolean;
  [kHub]: Hub;
  [kAddress]: string;
  [kBucket]: TokenBucket;
}

type SentType = 'hello' | 'pong' | 'state';
/** How many peer addresses one aggregated log line names at most. */
const LOGGED_ADDRESSES = 10;

const PING = '{"type":"ping"}';
const PONG = Buffer.from('{"type":"pong"}');
const SEND_TEXT = { binary: false } as const;

export interface HubOptions {
  maxConnections: number;
  sendBufferLimitBytes: number;
  heartbeatIntervalMs: number;
  clientVersionLabels: number;
  messageRate: MessageRate;
}

export class Hub implements ConnectionStats {
  readonly #peers = new Set<Peer>();
  readonly #perAddress = new Map<string, number>();
  readonly #clientVersions: ClientVersionCounts;
  readonly #options: HubOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #reportClose: RefusalLog;
  metrics: SidecarMetrics | null = null;
  #heartbeat: NodeJS.Timeout | null = null;
  #closing = false;

  /** `now` (ms, monotonic enough for a rate) is injectable for tests; default performance.now. */
  constructor(options: HubOptions, log: Logger, now: () => number = () => performance.now()) {
    this.#options = options;
    this.#log = log;
    this.#now = now;
    this.#reportClose = throttledRefusalLog(log, { server: 'public' });
    this.#clientVersions = new ClientVersionCounts(options.clientVersionLabels);
  }

  connections(): number {
    return this.#peers.size;
  }

  /** Open sockets counted under `address`. */
  connectionsFrom(address: string): number {
    return this.#perAddress.get(address) ?? 0;
  }

  connectionsByClientVersion(): ReadonlyMap<string, number> {
    return this.#clientVersions.counts;
  }

  startHeartbeat(): void {
    if (this.#heartbeat) return;
    this.#heartbeat = setInterval(() => this.#pingOrTerminateEach(), this.#options.heartbeatIntervalMs);
    this.#heartbeat.unref();
  }

  /**
   * Takes ownership of an upgraded socket: registers it under `address` and sends hello, or
   * closes it: 1001 while draining; 1013 at the cap only as a backstop, since public-server.ts
   * refuses over the cap before the upgrade, in the same turn of the event loop as this call.
   */
  accept(ws: WebSocket, clientVersion: string | undefined, hello: Buffer, address = 'unknown'): void {
    ws.removeAllListeners('error');
    ws.on('error', onError as (err: Error) => void);
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
    peer[kAddress] = address;
    peer[kBucket] = fullBucket(this.#options.messageRate, this.#now());
    this.#peers.add(peer);
    this.#perAddress.set(address, (this.#perAddress.get(address) ?? 0) + 1);
    peer.on('message', onMessage as (data: unknown, isBinary: boolean) => void);
    peer.on('pong', onPong as () => void);
    peer.on('ping', onControlPing as (data: Buffer) => void);
    peer.on('close', onClose as () => void);
    if (this.#send(peer, hello, 'hello')) this.metrics?.messagesSent.inc({ type: 'hello' });
  }

  /** Sends one frame to every open socket. Returns how many got it. */
  broadcast(frame: Buffer): number {
    const t0 = performance.now();
    const limit = this.#options.sendBufferLimitBytes;
    let sent = 0;
    const dropped: string[] = [];
    let mostBuffered = 0;
    for (const peer of this.#peers) {
      if (peer.readyState !== OPEN) continue;
      const buffered = peer.bufferedAmount;
      if (buffered > limit) {
        dropped.push(peer[kAddress]);
        mostBuffered = Math.max(mostBuffered, buffered);
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
    }
    if (dropped.length) this.#slowConsumers(dropped, 'state', mostBuffered);
    return sent;
  }

  /**
   * The one guarded write for single frames: false (and the peer terminated, counted, logged)
   * when its unsent bytes are over the limit; the frame is not queued then.
   */
  #send(peer: Peer, frame: Buffer, type: SentType): boolean {
    if (!this.#withinSendBuffer(peer, type)) return false;
    peer.send(frame, SEND_TEXT);
    return true;
  }

  /** False, with the peer terminated, counted and logged, when its unsent bytes are over the limit. */
  #withinSendBuffer(peer: Peer, during: SentType | 'close' | 'ping'): boolean {
    const buffered = peer.bufferedAmount;
    if (buffered <= this.#options.sendBufferLimitBytes) return true;
    this.#drop(peer);
    this.#slowConsumers([peer[kAddress]], during, buffered);
    return false;
  }

  /** Spends one of the peer's message tokens; with none left the peer is closed 1008 and false returned. */
  #spend(peer: Peer): boolean {
    const spent = takeToken(peer[kBucket], this.#now(), this.#options.messageRate);
    peer[kBucket] = spent.bucket;
    if (!spent.allowed) this.#closeFor(peer, 'VO_WS_RATE_LIMITED');
    return spent.allowed;
  }

  /** Closes a misbehaving peer with `code`'s close code, or terminates it when a close frame could not reach it. */
  #closeFor(peer: Peer, code: ErrorCode & ('VO_WS_BAD_MESSAGE' | 'VO_WS_RATE_LIMITED')): void {
    this.metrics?.connectionsClosed.inc({ reason: code });
    this.#reportClose(code, peer[kAddress], `closing a socket from ${peer[kAddress]}: ${ERRORS[code].message}`);
    if (this.#withinSendBuffer(peer, 'close')) peer.close(ERRORS[code].close, code);
  }

  /**
   * Counts and logs terminated slow consumers: one line per event, naming their addresses and the
   * most unsent bytes any of them held. Because every write is checked first, that figure is at
   * most the limit plus one frame: the log shows what the guard let a reader that never reads cost.
   */
  #slowConsumers(addresses: readonly string[], during: SentType | 'close' | 'ping', bufferedBytes: number): void {
    this.metrics?.slowConsumersDropped.inc(addresses.length);
    const named = addresses.slice(0, LOGGED_ADDRESSES);
    const more = addresses.length > named.length ? ` and ${addresses.length - named.length} more` : '';
    this.#log.warn(
      { code: 'VO_WS_SLOW_CONSUMER', dropped: addresses.length, peers: named, during, bufferedBytes, limitBytes: this.#options.sendBufferLimitBytes },
      `terminated ${addresses.length} slow consumer(s) (${named.join(', ')}${more}) before a ${during}: ${ERRORS.VO_WS_SLOW_CONSUMER.message}`,
    );
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
      if (peer.readyState === OPEN && this.#withinSendBuffer(peer, 'ping')) peer.ping();
    }
    if (dead) {
      this.metrics?.deadPeersTerminated.inc(dead);
      this.#log.info({ dead }, `terminated ${dead} peer(s) that missed a pong`);
    }
  }

  /** Unregisters and terminates a peer (slow consumer or dead). */
  #drop(peer: Peer): void {
    if (this.#peers.delete(peer)) this.#uncount(peer);
    peer.terminate();
  }

  /** Called exactly once per registered peer, right after it left #peers (close event or drop). */
  #uncount(peer: Peer): void {
    this.#clientVersions.remove(peer[kVersionLabel]);
    peer[kVersionLabel] = '';
    const address = peer[kAddress];
    const left = (this.#perAddress.get(address) ?? 1) - 1;
    if (left > 0) this.#perAddress.set(address, left);
    else this.#perAddress.delete(address);
  }

  /** One client message: spend a token first (before decoding), then answer a ping or close. */
  static onClientMessage(peer: Peer, data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    if (peer.readyState !== OPEN) return;
    const hub = peer[kHub];
    if (!hub.#spend(peer)) return;
    if (!isBinary && isPing(data)) {
      if (hub.#send(peer, PONG, 'pong')) hub.metrics?.messagesSent.inc({ type: 'pong' });
      return;
    }
    hub.#closeFor(peer, 'VO_WS_BAD_MESSAGE');
  }

  /**
   * A WebSocket-level ping frame (the server runs ws with autoPong off, so this is the only way
   * a pong control frame is sent): it spends a token like any message, and its pong is a
   * guarded write.
   */
  static onControlPing(peer: Peer, data: Buffer): void {
    if (peer.readyState !== OPEN) return;
    const hub = peer[kHub];
    if (hub.#spend(peer) && hub.#withinSendBuffer(peer, 'pong')) peer.pong(data);
  }

  /** ws refused a frame over 1 KiB from its header and closes with 1009: count and log it. */
  static onFrameTooLarge(peer: Peer): void {
    const hub = peer[kHub];
    hub.metrics?.connectionsClosed.inc({ reason: 'VO_WS_FRAME_TOO_LARGE' });
    hub.#reportClose('VO_WS_FRAME_TOO_LARGE', peer[kAddress], `ws closed a socket from ${peer[kAddress]} with 1009: ${ERRORS.VO_WS_FRAME_TOO_LARGE.message}`);
  }

  static onClosed(peer: Peer): void {
    const hub = peer[kHub];
    if (hub.#peers.delete(peer)) hub.#uncount(peer);
  }
}

function onMessage(this: Peer, data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
  Hub.onClientMessage(this, data, isBinary);
}

function isPing(data: Buffer | ArrayBuffer | Buffer[]): boolean {
  const text = Buffer.isBuffer(data) ? data.toString() : Array.isArray(data) ? Buffer.concat(data).toString() : Buffer.from(data).toString();
  return text === PING || isPingJson(text);
}

function isPingJson(text: string): boolean {
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === 'object' && v !== null && (v as { type?: unknown }).type === 'ping';
  } catch {
    return false;
  }
}

function onControlPing(this: Peer, data: Buffer): void {
  Hub.onControlPing(this, data);
}

function onPong(this: Peer): void {
  this[kAnsweredPing] = true;
}

function onClose(this: Peer): void {
  Hub.onClosed(this);
}

function onError(this: Peer, err: Error & { code?: string }): void {
  // ws closes the socket itself (1009 for an oversized frame, 1002 for protocol errors); this
  // listener keeps the error from being thrown and counts the oversized frame.
  if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' && this[kHub] !== undefined) Hub.onFrameTooLarge(this);
}
