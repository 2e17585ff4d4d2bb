/**
 * The version observer: one WebSocket per browser (per socket URL), shared by every tab. This
 * module turns server messages into events; the parts it wires live beside it:
 * server-connection.ts (the socket), tab-sharing.ts (leader lock and relay between tabs),
 * auto-reload.ts, page-wake.ts (visibility and `online`), decide.ts (pure decisions).
 * Invariants:
 * - the tab holding the Web Lock is the leader and the only one with a socket; it relays every
 *   server message and its status to the other tabs; when it closes, the lock passes to
 *   another tab, which connects (without Web Locks or BroadcastChannel each tab connects itself);
 * - every tab decides for its own page version (decide.ts), ignores states older in
 *   (epoch, seq) than the last it saw, and emits `update`/`rollback` once per target version;
 * - reconnects back off from the last failure (only a hello resets the backoff), wait at least a
 *   server's overload hint, are spread over 100 ms after a draining pod's 1001, and happen at
 *   once on `online` and when a tab becomes visible (server-connection.ts); a socket silent for
 *   90 s (app-level pings every 30 s) is replaced;
 * - auto-reload (opt-in) only ever reloads a hidden tab, after a random delay, at most once per
 *   target version per tab session (no reload loops when a cache still serves the old page);
 * - getSnapshot() is `pending`: the same object until an `update`, `rollback` or `current`
 *   changes it, which is when subscribe()'s listeners run (what useSyncExternalStore and stores need).
 */
import type { AppState, Change, Policy } from '../core/app-state.ts';
import { isOlder } from '../core/order.ts';
import { decide, socketUrl } from './decide.ts';
import { connectToServer, type NewsMessage, type Status } from './server-connection.ts';
import { joinTabs, type TabChannel, type TabMessage } from './tab-sharing.ts';
import { createAutoReload } from './auto-reload.ts';
import { watchPageWake } from './page-wake.ts';

export type { Status };

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
/** `pending` and getSnapshot(): the announced update or rollback, until the page's version is served again. */
export type PendingUpdate = UpdateDetail & { kind: 'update' | 'rollback' };
export interface StateDetail {
  state: AppState;
}

/** The events of a VersionObserver, each a CustomEvent, so `e.detail.version` typechecks. */
export interface VersionObserverEventMap {
  update: CustomEvent<UpdateDetail>;
  rollback: CustomEvent<UpdateDetail>;
  progress: CustomEvent<StateDetail>;
  current: CustomEvent<StateDetail>;
  status: CustomEvent<StatusDetail>;
}

/** The events after which getSnapshot() may differ (the banner listens to the same). */
export const SNAPSHOT_EVENTS = ['update', 'rollback', 'current'] as const;

let latest: VersionObserver | null = null;
/** The most recently created observer (a `<version-banner>` without one binds to it). */
export const currentObserver = (): VersionObserver | null => latest;

// Typed listeners (declaration merging: types only, nothing in the bundle).
export interface VersionObserver {
  addEventListener<K extends keyof VersionObserverEventMap>(type: K, listener: (this: VersionObserver, event: VersionObserverEventMap[K]) => unknown, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof VersionObserverEventMap>(type: K, listener: (this: VersionObserver, event: VersionObserverEventMap[K]) => unknown, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}

// The fields are `declare`d and set in the constructor: initialised fields would cost the bundle
// a defineProperty helper and a call per field (the client targets ES2020).
export class VersionObserver extends EventTarget {
  declare readonly version: string;
  declare readonly url: string;
  /** the newest state seen */
  declare state: AppState | null;
  /** the pending `update`/`rollback` detail, until the page's version is served again */
  declare pending: PendingUpdate | null;
  declare status: Status;
  /** true in the tab that holds the socket */
  declare leader: boolean;
  /** Stops everything this observer started (socket, timers, listeners, lock). */
  declare readonly close: () => void;
  /**
   * Calls `listener` whenever getSnapshot() may have changed; returns the unsubscribe. Bound, so
   * `useSyncExternalStore(vo.subscribe, vo.getSnapshot)` works as is.
   */
  declare readonly subscribe: (listener: () => void) => () => void;
  /** The pending update or rollback (`pending`), or null. Bound. */
  declare readonly getSnapshot: () => PendingUpdate | null;

  constructor(options: ObserverOptions) {
    super();
    if (!options || typeof options.version !== 'string' || !options.version) throw new TypeError('createVersionObserver: `version` (the page version) is required');
    this.state = this.pending = null;
    this.status = 'connecting';
    this.leader = false;
    // Internals live in this closure and the modules it wires (they minify well and stay private).
    const version = (this.version = options.version);
    const url = (this.url = socketUrl(location.href, options.url, version));
    let tabs: TabChannel | null = null;
    /** the last server message this tab relayed as the leader, for tabs that join later */
    let lastRelayed: NewsMessage | null = null;
    let closed = false;
    latest = this;

    const emit = (type: string, detail: unknown): void => void this.dispatchEvent(new CustomEvent(type, { detail }));
    const tellTabs = (message: TabMessage): void => tabs?.send(message);

    const setStatus = (status: Status): void => {
      if (this.leader) tellTabs({ kind: 'status', status });
      if (status === this.status) return;
      this.status = status;
      emit('status', { status, leader: this.leader } satisfies StatusDetail);
    };

    const autoReload = createAutoReload(options.autoReload, () => this.pending?.version);

    const applyNews = (message: NewsMessage): void => {
      const state = message.state;
      if (!state || isOlder(state, this.state)) return;
      this.state = state;
      const decision = decide(state, version, options.policy);
      if (decision.kind === 'progress') emit('progress', { state });
      else if (decision.kind === 'current') {
        if (this.pending) {
          this.pending = null;
          emit('current', { state });
        }
      } else if ((decision.kind === 'update' || decision.kind === 'rollback') && decision.version !== this.pending?.version) {
        const detail = { kind: decision.kind, version: decision.version, pageVersion: version, change: decision.change, state };
        this.pending = detail;
        emit(decision.kind, detail);
        autoReload.armIfHidden();
      }
    };

    const connection = connectToServer(
      url,
      (message) => {
        lastRelayed = message;
        tellTabs({ kind: 'server-message', message });
        applyNews(message);
      },
      setStatus,
    );

    const lead = (): void => {
      if (closed) return;
      this.leader = true;
      connection.open();
    };

    const onTabMessage = (message: TabMessage): void => {
      if (message.kind === 'server-message') applyNews(message.message);
      else if (message.kind === 'status') setStatus(message.status);
      else if (this.leader && message.kind === 'sync') {
        if (lastRelayed) tellTabs({ kind: 'server-message', message: lastRelayed });
        tellTabs({ kind: 'status', status: this.status });
      } else if (this.leader && message.kind === 'wake' && connection.isDown()) connection.reconnectNow();
    };

    const stopWatchingWake = watchPageWake(autoReload.armIfHidden, () => {
      autoReload.cancel();
      if (!this.leader) tellTabs({ kind: 'wake' });
      else if (connection.isSilent()) connection.reconnectNow();
    });

    if (options.share !== false) tabs = joinTabs(`version-observer ${url.replace(/\?.*/, '')}`, onTabMessage, lead);
    if (!tabs) lead();

    this.getSnapshot = () => this.pending;
    this.subscribe = (listener) => {
      for (const type of SNAPSHOT_EVENTS) this.addEventListener(type, listener);
      return () => {
        for (const type of SNAPSHOT_EVENTS) this.removeEventListener(type, listener);
      };
    };

    this.close = () => {
      closed = true;
      connection.close();
      autoReload.cancel();
      stopWatchingWake();
      tabs?.close();
      if (latest === this) latest = null;
    };
  }
}
