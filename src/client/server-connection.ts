/**
 * The leader tab's WebSocket to the sidecar: connect, app-level pings, silence detection and
 * reconnects.
 * Invariants:
 * - at most one current socket; each socket owns its timers (handshake, pings). A socket that is
 *   replaced (reconnectNow) or closed is detached first: its timers are cleared and its handlers
 *   removed, so its late events neither set a status, nor schedule a reconnect, nor touch its
 *   successor;
 * - every message but `pong` is handed on, in arrival order; a frame that is not JSON is ignored;
 * - a connection is healthy once its `hello` arrives; one with no hello within
 *   HANDSHAKE_TIMEOUT_MS of its creation (not open, or open and mute) is closed as a failure;
 * - while open, a ping every PING_INTERVAL_MS; a socket silent for over SILENCE_LIMIT_MS is
 *   closed and replaced (after the usual delay) at the next ping tick;
 * - reconnect delays come from reconnectDelayMs (decide.ts). `attempt` counts the connections
 *   that ended since the last hello, so a server that accepts and closes at once, refuses the
 *   upgrade, or never completes the handshake keeps the backoff growing; only a hello resets it;
 * - a server's overload hint (1013, `retry-after=`) is a floor nothing undercuts: until it has
 *   passed, reconnectNow does nothing;
 * - after close() nothing connects again, and no status follows the final 'closed'.
 */
import type { AppState } from '../core/app-state.ts';
import { overloadHintMs, reconnectDelayMs } from './decide.ts';
import { HANDSHAKE_TIMEOUT_MS, PING_FRAME, PING_INTERVAL_MS, SILENCE_LIMIT_MS } from './constants.ts';

/** What the sidecar sends on /version/ws. */
export type ServerMessage =
  | { type: 'hello'; podVersion: string; state: AppState | null }
  | { type: 'state'; state: AppState }
  | { type: 'pong' };
/** A server message that carries news (every one but `pong`). */
export type NewsMessage = Exclude<ServerMessage, { type: 'pong' }>;
export type Status = 'connecting' | 'open' | 'closed';

export { PING_INTERVAL_MS, SILENCE_LIMIT_MS, HANDSHAKE_TIMEOUT_MS };

export interface ServerConnection {
  /** Opens the first socket (this tab became the leader). */
  open(): void;
  /**
   * Drops the current socket, if any, and connects at once (the tab woke, the network came
   * back). The backoff is not reset (only a hello does that); does nothing while a server's
   * overload hint is running.
   */
  reconnectNow(): void;
  /** True when there is no socket or nothing was heard for over SILENCE_LIMIT_MS. */
  isSilent(): boolean;
  /** True when there is no socket or it is closing or closed. */
  isDown(): boolean;
  /** Stops for good: no more reconnects, timers cleared, the socket closed with 1000, status 'closed'. */
  close(): void;
}

export function connectToServer(url: string, onNews: (message: NewsMessage) => void, onStatus: (status: Status) => void): ServerConnection {
  let socket: WebSocket | null = null;
  /** Detaches the current socket (timers, handlers) and closes it. */
  let detach: ((code?: number) => void) | undefined;
  let reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  let attempt = 0;
  let lastHeardAt = 0;
  /** no reconnectNow before this time (a server's overload hint) */
  let holdUntil = 0;
  let stopped = false;

  const connect = (): void => {
    if (stopped) return;
    onStatus('connecting');
    let pingTimer: ReturnType<typeof setInterval> | undefined;
    const current = (socket = new WebSocket(url));
    const ended = (code?: number, reason?: string): void => {
      detach!();
      socket = null;
      onStatus('closed');
      const hint = overloadHintMs(code, reason);
      const delay = reconnectDelayMs(attempt++, Math.random(), code, reason);
      holdUntil = hint && Date.now() + delay;
      reconnectTimer = setTimeout(connect, delay);
    };
    const handshakeTimer = setTimeout(ended, HANDSHAKE_TIMEOUT_MS);
    detach = (code) => {
      clearTimeout(handshakeTimer);
      clearInterval(pingTimer);
      current.onopen = current.onmessage = current.onclose = null;
      current.close(code);
    };
    current.onopen = () => {
      lastHeardAt = Date.now();
      onStatus('open');
      // a silent socket is given up at once: a half-open one may take minutes to report its close
      pingTimer = setInterval(() => (Date.now() - lastHeardAt > SILENCE_LIMIT_MS ? ended() : current.send(PING_FRAME)), PING_INTERVAL_MS);
    };
    current.onmessage = (event: MessageEvent<string>) => {
      lastHeardAt = Date.now();
      let message: ServerMessage;
      try {
        message = JSON.parse(event.data) as ServerMessage;
      } catch {
        return;
      }
      if (message.type === 'hello') {
        attempt = 0;
        clearTimeout(handshakeTimer);
      }
      if (message.type !== 'pong') onNews(message);
    };
    current.onclose = (event) => ended(event.code, event.reason);
  };

  return {
    open: connect,
    reconnectNow() {
      if (Date.now() < holdUntil) return;
      clearTimeout(reconnectTimer);
      detach?.();
      connect();
    },
    isSilent: () => !socket || Date.now() - lastHeardAt > SILENCE_LIMIT_MS,
    isDown: () => !socket || socket.readyState > 1, // past OPEN: CLOSING or CLOSED
    close() {
      stopped = true;
      clearTimeout(reconnectTimer);
      if (!socket) return;
      detach!(1000);
      socket = null;
      onStatus('closed');
    },
  };
}
