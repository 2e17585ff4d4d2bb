/**
 * The version observer: one WebSocket per browser (per socket URL), shared by every tab.
 * Invariants:
 * - the tab holding the Web Lock is the leader and the only one with a socket; it relays every
 *   server message and its status over a BroadcastChannel; when it closes, the lock passes to
 *   another tab, which connects (without Web Locks or BroadcastChannel each tab connects itself);
 * - every tab decides for its own page version (decide.ts), ignores states older in
 *   (epoch, seq) than the last it saw, and emits `update`/`rollback` once per target version;
 * - reconnects use full-jitter backoff 0.5 s → 30 s (within 100 ms after a draining pod's 1001),
 *   and happen at once on `online` and when a tab becomes visible; a socket silent for 90 s (app-level pings every 30 s) is replaced;
 * - auto-reload (opt-in) only ever reloads a hidden tab, after a random delay, at most once per
 *   target version per tab session (no reload loops when a cache still serves the old page).
 */
import { reconnectDelayMs, decide, isOlder, socketUrl, type AppState, type Change, type Policy } from './decide.ts';

export interface ObserverOptions {
  /** the page's own version (required) */
  version: string;
  /** WebSocket URL; default `/version/ws` on the page's origin */
  url?: string;
  /** smallest change announced as `update`; default: the app's policy from the state, else "patch" */
  policy?: Policy;
  /** reload hidden tabs by themselves, after a random delay up to `maxDelayMs` (default 60000); default off */
  autoReload?: boolean | { maxDelayMs?: number };
  /** share one socket across tabs (Web Locks + BroadcastChannel); default true */
  share?: boolean;
  /** append a `<version-banner>` to document.body; default false */
  banner?: boolean;
}

export type Status = 'connecting' | 'open' | 'closed';
export interface UpdateDetail {
  /** the version now served everywhere */
  version: string;
  /** this page's version */
  pageVersion: string;
  change: Change | 'unknown';
  state: AppState;
}
export interface StatusDetail {
  status: Status;
  /** true in the tab that holds the socket */
  leader: boolean;
}

type ServerMsg = { type: 'hello'; podVersion: string; state: AppState | null } | { type: 'state'; state: AppState } | { type: 'pong' };
type PeerMsg = { t: 'm'; m: ServerMsg } | { t: 's'; s: Status } | { t: 'sync' } | { t: 'wake' };

const PING_MS = 30_000;
const SILENT_MS = 90_000;
const RELOADED_KEY = 'version-observer:reloaded';

let latest: VersionObserver | null = null;
/** The most recently created observer (a `<version-banner>` without one binds to it). */
export const currentObserver = (): VersionObserver | null => latest;

export class VersionObserver extends EventTarget {
  readonly version: string;
  readonly url: string;
  /** the newest state seen */
  state: AppState | null = null;
  /** the pending `update`/`rollback` detail, until the page's version is served again */
  pending: (UpdateDetail & { kind: 'update' | 'rollback' }) | null = null;
  status: Status = 'connecting';
  /** true in the tab that holds the socket */
  leader = false;
  /** Stops everything this observer started (socket, timers, listeners, lock). */
  readonly close: () => void;

  constructor(o: ObserverOptions) {
    super();
    if (!o || typeof o.version !== 'string' || !o.version) throw new TypeError('createVersionObserver: `version` (the page version) is required');
    // Internals live in this closure (they minify to nothing and stay private).
    const me = this;
    const version = (this.version = o.version);
    const url = (this.url = socketUrl(location.href, o.url, version));
    const name = `version-observer ${url.replace(/\?.*/, '')}`;
    const doc = document;
    let ws: WebSocket | null = null;
    let bc: BroadcastChannel | null = null;
    let release: (() => void) | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let pinger: ReturnType<typeof setInterval> | undefined;
    let reloader: ReturnType<typeof setTimeout> | undefined;
    let attempt = 0;
    let seen = 0;
    let last: ServerMsg | null = null;
    let closed = false;
    latest = this;

    const emit = (type: string, detail: unknown): void => void me.dispatchEvent(new CustomEvent(type, { detail }));
    const post = (p: PeerMsg): void => bc?.postMessage(p);

    const setStatus = (s: Status): void => {
      if (me.leader) post({ t: 's', s });
      if (s === me.status) return;
      me.status = s;
      emit('status', { status: s, leader: me.leader } satisfies StatusDetail);
    };

    /** Auto-reload: a staggered reload while the tab is hidden, once per target version. */
    const arm = (): void => {
      const ar = o.autoReload;
      const target = me.pending?.version;
      if (!ar || !target || doc.visibilityState !== 'hidden') return;
      try {
        if (sessionStorage.getItem(RELOADED_KEY) === target) return;
      } catch {}
      clearTimeout(reloader);
      reloader = setTimeout(() => {
        if (doc.visibilityState !== 'hidden' || me.pending?.version !== target) return;
        try {
          sessionStorage.setItem(RELOADED_KEY, target);
        } catch {}
        location.reload();
      }, Math.random() * ((typeof ar === 'object' && ar.maxDelayMs) || 60_000));
    };

    const handle = (m: ServerMsg): void => {
      const state = m.type === 'pong' ? null : m.state;
      if (!state || isOlder(state, me.state)) return;
      me.state = state;
      const d = decide(state, version, o.policy);
      if (d.kind === 'progress') emit('progress', { state });
      else if (d.kind === 'current') {
        if (me.pending) {
          me.pending = null;
          emit('current', { state });
        }
      } else if ((d.kind === 'update' || d.kind === 'rollback') && d.version !== me.pending?.version) {
        const detail = { kind: d.kind, version: d.version, pageVersion: version, change: d.change, state };
        me.pending = detail;
        emit(d.kind, detail);
        arm();
      }
    };

    const connect = (): void => {
      if (closed) return;
      setStatus('connecting');
      const s = (ws = new WebSocket(url));
      s.onopen = () => {
        attempt = 0;
        seen = Date.now();
        setStatus('open');
        pinger = setInterval(() => (Date.now() - seen > SILENT_MS ? s.close() : s.send('{"type":"ping"}')), PING_MS);
      };
      s.onmessage = (e: MessageEvent<string>) => {
        seen = Date.now();
        let m: ServerMsg;
        try {
          m = JSON.parse(e.data) as ServerMsg;
        } catch {
          return;
        }
        if (m.type === 'pong') return;
        last = m;
        post({ t: 'm', m });
        handle(m);
      };
      s.onclose = (ev) => {
        clearInterval(pinger);
        if (ws !== s) return;
        ws = null;
        setStatus('closed');
        if (!closed) timer = setTimeout(connect, reconnectDelayMs(attempt++, Math.random(), ev.code));
      };
    };

    const reconnectNow = (): void => {
      clearTimeout(timer);
      attempt = 0;
      const old = ws;
      ws = null;
      old?.close();
      connect();
    };

    const lead = (): void => {
      if (closed) return;
      me.leader = true;
      connect();
    };

    const wake = (): void => {
      if (doc.visibilityState === 'hidden') return arm();
      clearTimeout(reloader);
      if (!me.leader) post({ t: 'wake' });
      else if (!ws || Date.now() - seen > SILENT_MS) reconnectNow();
    };

    addEventListener('online', wake);
    doc.addEventListener('visibilitychange', wake);
    if (o.share !== false && typeof BroadcastChannel === 'function' && navigator.locks) {
      bc = new BroadcastChannel(name);
      bc.onmessage = ({ data: p }: MessageEvent<PeerMsg>) => {
        if (p.t === 'm') handle(p.m);
        else if (p.t === 's') setStatus(p.s);
        else if (me.leader && p.t === 'sync') {
          if (last) post({ t: 'm', m: last });
          post({ t: 's', s: me.status });
        } else if (me.leader && p.t === 'wake' && (!ws || ws.readyState > 1)) reconnectNow();
      };
      post({ t: 'sync' });
      navigator.locks
        .request(name, () => {
          if (closed) return;
          lead();
          return new Promise<void>((r) => (release = r));
        })
        .catch(lead);
    } else lead();

    this.close = () => {
      closed = true;
      clearTimeout(timer);
      clearInterval(pinger);
      clearTimeout(reloader);
      removeEventListener('online', wake);
      doc.removeEventListener('visibilitychange', wake);
      ws?.close(1000);
      bc?.close();
      release?.();
      if (latest === me) latest = null;
    };
  }
}
