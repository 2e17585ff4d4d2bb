/**
 * Opt-in: reload once when a lazily imported chunk is gone because a new version was rolled out
 * (`version-observer/chunk-errors`; the served bundle exports it too). A page that outlives its
 * deploy asks for chunks the new pods no longer have: Vite's `vite:preloadError`, webpack's
 * `ChunkLoadError`, the browser's "Failed to fetch dynamically imported module".
 * Invariants:
 * - nothing is ever swallowed: no event's default is prevented and no error is caught, so the
 *   app's own handlers see every error whatever happens here;
 * - a reload happens only when the sidecar's state (`GET /version`, no-store) is converged at a
 *   version other than the page's: a chunk error while the page's version is still the one
 *   served, or during a rollout, or when the state cannot be read, is the app's to handle;
 * - at most once per target version per tab session (sessionStorage), and at most once per
 *   `guardMs` per target version across the tabs and sessions of the browser (localStorage),
 *   so a cache or service worker that keeps serving the old page cannot cause a reload loop;
 *   without storage to hold that guard, it never reloads;
 * - one state request at a time: the events one failure raises share it.
 */
import { decide } from './decide.ts';

export interface ChunkErrorOptions {
  /** the page's own version (the observer's `version`) */
  version: string;
  /** where the sidecar's state is read; default `/version` on the page's origin */
  stateUrl?: string;
  /** the window in which one reload per target version is allowed across tabs; default 30000 */
  guardMs?: number;
}

export interface ChunkErrorHandler {
  /**
   * For errors the app catches itself (an error boundary, a router's onError): resolves true
   * when it reloads the page, false when the error is the app's to show or re-throw.
   */
  handle(error: unknown): Promise<boolean>;
  /** Removes the window listeners. */
  stop(): void;
}

/** storage key of the last chunk-error reload: `[targetVersion, epochMs]` */
export const CHUNK_RELOAD_KEY = 'version-observer:chunk-reload';
const DEFAULT_GUARD_MS = 30_000;
const CHUNK_MESSAGE = /dynamically imported module|Importing a module script failed|Unable to preload CSS|Loading (CSS )?chunk \S+ failed/i;

/** Vite's, webpack's and the browsers' ways of saying that a chunk could not be loaded. */
export function isChunkLoadError(error: unknown): boolean {
  const { name, message } = (error ?? {}) as { name?: unknown; message?: unknown };
  return name === 'ChunkLoadError' || CHUNK_MESSAGE.test(String(message ?? error));
}

/**
 * Whether a reload for `target` is allowed now, given the markers in this tab's session and in
 * the browser (`null`: no marker or no storage); `now` in ms.
 */
export function reloadAllowed(target: string, now: number, guardMs: number, sessionMark: string | null, browserMark: string | null): boolean {
  const seen = (mark: string | null, windowMs: number): boolean => {
    try {
      const [version, at] = JSON.parse(mark!) as [string, number];
      return version === target && now - at < windowMs;
    } catch {
      return false;
    }
  };
  return !seen(sessionMark, Infinity) && !seen(browserMark, guardMs);
}

const read = (storage: () => Storage): string | null => {
  try {
    return storage().getItem(CHUNK_RELOAD_KEY);
  } catch {
    return null;
  }
};
/** Writes the marker; false when the storage is unavailable. */
const mark = (storage: () => Storage, value: string): boolean => {
  try {
    storage().setItem(CHUNK_RELOAD_KEY, value);
    return true;
  } catch {
    return false;
  }
};

/** Listens for chunk-load errors on `window` and reloads once when the page's version is gone. */
export function reloadOnChunkError(options: ChunkErrorOptions): ChunkErrorHandler {
  const guardMs = options.guardMs ?? DEFAULT_GUARD_MS;
  let inFlight: Promise<boolean> | null = null;

  const check = async (): Promise<boolean> => {
    const response = await fetch(new URL(options.stateUrl ?? '/version', location.href), { cache: 'no-store' });
    const state = response.ok ? (await response.json()).state : null;
    const decision = state && decide(state, options.version, 'any');
    if (!decision || (decision.kind !== 'update' && decision.kind !== 'rollback')) return false;
    const now = Date.now();
    if (!reloadAllowed(decision.version, now, guardMs, read(() => sessionStorage), read(() => localStorage))) return false;
    const value = JSON.stringify([decision.version, now]);
    // both markers: the session's stops this tab, the browser's the others (and new sessions)
    const marked = [mark(() => sessionStorage, value), mark(() => localStorage, value)];
    if (!marked.includes(true)) return false;
    location.reload();
    return true;
  };

  const handle = (error: unknown): Promise<boolean> => {
    if (!isChunkLoadError(error)) return Promise.resolve(false);
    inFlight ??= check().catch(() => false).finally(() => (inFlight = null));
    return inFlight;
  };

  const onEvent = (event: Event): void => {
    const withCause = event as Event & { payload?: unknown; reason?: unknown; error?: unknown; message?: unknown };
    void handle(withCause.payload ?? withCause.reason ?? withCause.error ?? withCause.message);
  };
  const types = ['vite:preloadError', 'unhandledrejection', 'error'];
  for (const type of types) addEventListener(type, onEvent);
  return {
    handle,
    stop: () => {
      for (const type of types) removeEventListener(type, onEvent);
    },
  };
}
