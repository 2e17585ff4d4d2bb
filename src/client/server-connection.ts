/**
 * The leader tab's WebSocket to the sidecar: connect, app-level pings, silence detection and
 * reconnects.
 * Invariants:
 * - at most one current socket; a socket that was replaced (reconnectNow) or closed no longer
 *   sets the status or schedules a reconnect when its close event comes;
 * - every message but `pong` is handed on, in arrival order; a frame that is not JSON is ignored;
 * - while open, a ping every PING_INTERVAL_MS; a socket silent for over SILENCE_LIMIT_MS is
 *   closed at the next ping tick, and its close schedules the reconnect;
 * - reconnect delays come from reconnectDelayMs (decide.ts); `attempt` (0 = the first retry
 *   after a close) resets when a socket opens and on reconnectNow;
 * - after close() nothing connects again.
 */
import type { AppState } from '../core/app-state.ts';
import { reconnectDelayMs } from './decide.ts';

/** What the sidecar sends on /version/ws. */
export type ServerMessage =
  | { type: 'hello'; podVersion: string; state: AppState | null }
  | { type: 'state'; state: AppState }
  | { type: 'pong' };
/** A server message that carries news (every one but `pong`). */
export type NewsMessage = Exclude<ServerMessage, { type: 'pong' }>;
export type Status = 'connecting' | 'open' | 'closed';

export const PING_INTERVAL_MS = 30_000;
export const SILENCE_LIMIT_MS = 90_000;
const PING_FRAME = '{"type":"ping"}';

export interface ServerConnection {
  /** Opens the first socket (this tab became the leader). */
  open(): void;
  /** Drops the current socket, if any, and connects at once with the backoff reset. */
  reconnectNow(): void;
  /** True when there is no socket or nothing was heard for over SILENCE_LIMIT_MS. */
  isSilent(): boolean;
  /** True when there is no socket or it is closing or closed. */
  isDown(): boolean;
  /** Stops for good: no more reconnects, timers cleared, the socket closed with 1000. */
  close(): void;
}

export function connectToServer(url: string, onNews: (message: NewsMessage) => void, onStatus: (status: Status) => void): ServerConnection {
  let socket: WebSocket | null = null;
  let reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  // One ping timer per connection, not per socket (as before the split into modules): a socket
  // replaced by reconnectNow keeps its timer until its own close event, which clears whichever
  // timer is current by then. Known; left as it is until the client's reconnects are hardened.
  let pingTimer: ReturnType<typeof setInterval> | undefined;
  let attempt = 0;
  let lastHeardAt = 0;
  let stopped = false;

  const connect = (): void => {
    if (stopped) return;
    onStatus('connecting');
    const current = (socket = new WebSocket(url));
    current.onopen = () => {
      attempt = 0;
      lastHeardAt = Date.now();
      onStatus('open');
      pingTimer = setInterval(() => (Date.now() - lastHeardAt > SILENCE_LIMIT_MS ? current.close() : current.send(PING_FRAME)), PING_INTERVAL_MS);
    };
    current.onmessage = (event: MessageEvent<string>) => {
      lastHeardAt = Date.now();
      let message: ServerMessage;
      try {
        message = JSON.parse(event.data) as ServerMessage;
      } catch {
        return;
      }
      if (message.type !== 'pong') onNews(message);
    };
    current.onclose = (event) => {
      clearInterval(pingTimer);
      if (socket !== current) return;
      socket = null;
      onStatus('closed');
      if (!stopped) reconnectTimer = setTimeout(connect, reconnectDelayMs(attempt++, Math.random(), event.code));
    };
  };

  return {
    open: connect,
    reconnectNow() {
      clearTimeout(reconnectTimer);
      attempt = 0;
      const replaced = socket;
      socket = null;
      replaced?.close();
      connect();
    },
    isSilent: () => !socket || Date.now() - lastHeardAt > SILENCE_LIMIT_MS,
    isDown: () => !socket || socket.readyState > WebSocket.OPEN,
    close() {
      stopped = true;
      clearTimeout(reconnectTimer);
      clearInterval(pingTimer);
      socket?.close(1000);
    },
  };
}
