/**
 * The browser client's constants: times, close codes, the ping frame, a storage key. This module holds constants
 * only, so esbuild inlines them where they are used (a constant declared beside code is kept as a
 * variable, which costs the bundle bytes). The modules that use them re-export the ones tests
 * and readers look for there.
 */

/** The client sends a ping this often while its socket is open. */
export const PING_INTERVAL_MS = 30_000;
/** A socket on which nothing has arrived for longer is replaced. */
export const SILENCE_LIMIT_MS = 90_000;
/** From a socket's creation to its hello; a handshake that takes longer counts as a failure. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
export const PING_FRAME = '{"type":"ping"}';

/** Close code of a server that is going away (a draining pod); its peers are up. */
export const GOING_AWAY = 1001;
/** The window the first reconnect after a 1001 is spread over. */
export const GOING_AWAY_WINDOW_MS = 100;
/** Close code of a server at its connection cap ("try again later"). */
export const OVERLOADED = 1013;
/** The wait a 1013 implies when its reason carries no `retry-after=<s>`. */
export const OVERLOAD_HINT_MS = 5_000;
/** The longest wait a server's hint can impose. */
export const MAX_HINT_MS = 600_000;

/** sessionStorage key of the version a tab last auto-reloaded for */
export const RELOADED_KEY = 'version-observer:reloaded';
/** Auto-reload's default longest random delay. */
export const DEFAULT_MAX_DELAY_MS = 60_000;
