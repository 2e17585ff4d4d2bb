/**
 * The core browser client, `version-observer/client` on npm: zero dependencies, ESM.
 *
 *   import { createVersionObserver } from 'version-observer/client';
 *   const vo = createVersionObserver({ version: '1.3.2', banner: true });
 *   vo.addEventListener('update', (e) => console.log('now serving', e.detail.version));
 *
 * Invariants:
 * - its minified, gzipped bundle stays ≤ 4096 B (test/unit/client/size.test.ts): what is
 *   optional (the script tag's auto-start, the chunk-error handler, the pure helpers the served
 *   bundle also exports) lives in index.ts and chunk-errors.ts, not here;
 * - importing it in a non-browser environment (SSR) is safe: nothing runs until
 *   createVersionObserver is called (registering `<version-banner>` is a no-op there).
 */
import { VersionObserver, type ObserverOptions } from './observer.ts';
import { VersionBanner, defineVersionBanner } from './banner.ts';

export { VersionObserver, VersionBanner, defineVersionBanner };
export type { ObserverOptions, UpdateDetail, StatusDetail, StateDetail, Status, PendingUpdate, VersionObserverEventMap } from './observer.ts';
export type { AppState, Policy, Phase, Change, Decision } from './decide.ts';

defineVersionBanner();

/**
 * Starts observing. Returns an EventTarget with events `update`, `rollback` (detail:
 * UpdateDetail), `progress` ({ state }), `current` ({ state }: the page's own version is served
 * again), and `status` (StatusDetail). Unbound `<version-banner>` elements attach to it.
 */
export function createVersionObserver(options: ObserverOptions): VersionObserver {
  const vo = new VersionObserver(options);
  for (const b of document.querySelectorAll('version-banner')) if (b instanceof VersionBanner && !b.observer) b.observer = vo;
  if (options.banner) {
    const b = document.createElement('version-banner') as VersionBanner;
    b.observer = vo;
    document.body.append(b);
  }
  return vo;
}
