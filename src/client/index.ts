/**
 * version-observer browser client: zero dependencies, ESM. Served by the sidecar as
 * `/version/client.js` (bundled by `node scripts/build.ts`) and importable from source.
 *
 *   import { createVersionObserver } from '/version/client.js';
 *   const vo = createVersionObserver({ version: '1.3.2', banner: true });
 *   vo.addEventListener('update', (e) => console.log('now serving', e.detail.version));
 *
 * Importing this module in a non-browser environment (SSR) is safe: nothing runs until
 * createVersionObserver is called.
 */
import { VersionObserver, type ObserverOptions } from './observer.ts';
import { VersionBanner, defineVersionBanner } from './banner.ts';

export { VersionObserver, VersionBanner, defineVersionBanner };
export type { ObserverOptions, UpdateDetail, StatusDetail, Status } from './observer.ts';
export type { AppState, Policy, Phase, Change, Decision } from './decide.ts';
export { decide, parseVersion, compareVersions, changeBetween, policyAllows, backoffMs, reconnectDelayMs } from './decide.ts';

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
