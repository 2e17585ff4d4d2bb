/**
 * The browser client as the sidecar serves it (`/version/client.js`, bundled by
 * `node scripts/build.ts` into dist/client/version-observer.js): the core (core.ts), the pure
 * helpers, the chunk-error handler, and the script tag's auto-start:
 *
 *   <script type="module" src="/version/client.js" data-version="1.3.2" data-banner></script>
 *
 * Invariants:
 * - it exports everything it exported before the core moved to core.ts, so pages that import it
 *   keep working; `startedObserver` is the observer the tag started, or null;
 * - only the `<script>` element that loaded this very module (its `src` resolves to
 *   import.meta.url) can start an observer, and only when it carries `data-version`; nothing
 *   starts outside a browser. Attributes: data-version, data-banner, data-url, data-policy,
 *   data-auto-reload, data-share="false", data-reload-on-chunk-error (presence means on).
 */
import { createVersionObserver, type VersionObserver } from './core.ts';
import { reloadOnChunkError } from './chunk-errors.ts';
import type { Policy } from './decide.ts';

export * from './core.ts';
export { decide, parseVersion, compareVersions, changeBetween, policyAllows, backoffMs, reconnectDelayMs } from './decide.ts';
export { reloadOnChunkError, isChunkLoadError, type ChunkErrorOptions, type ChunkErrorHandler } from './chunk-errors.ts';

function startFromScriptTag(): VersionObserver | null {
  if (typeof document !== 'object') return null;
  const tag = [...document.querySelectorAll<HTMLScriptElement>('script[data-version]')].find((script) => script.src === import.meta.url);
  const data = tag?.dataset;
  if (!data?.version) return null;
  const observer = createVersionObserver({
    version: data.version,
    url: data.url,
    policy: data.policy as Policy | undefined,
    autoReload: 'autoReload' in data,
    share: data.share !== 'false',
    banner: 'banner' in data,
  });
  if ('reloadOnChunkError' in data) reloadOnChunkError({ version: data.version });
  return observer;
}

/** The observer started by `<script type="module" src=".../client.js" data-version="…">`, else null. */
export const startedObserver = startFromScriptTag();
