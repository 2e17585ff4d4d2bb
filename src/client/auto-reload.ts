/**
 * Opt-in auto-reload of hidden tabs when an update or rollback is pending.
 * Invariants:
 * - only a hidden tab reloads, and only if the same target version is still pending when its
 *   random delay (uniform up to `maxDelayMs`, default 60 s) ends, so tabs do not all reload at once;
 * - at most once per target version per tab session (sessionStorage): a cache that still serves
 *   the old page cannot cause a reload loop; where storage is unavailable that guard is skipped;
 * - arming again restarts the delay; cancel() (the tab became visible) stops it.
 */
import type { ObserverOptions } from './observer.ts';
import { isHidden } from './page-wake.ts';

import { DEFAULT_MAX_DELAY_MS, RELOADED_KEY } from './constants.ts';

export interface AutoReload {
  /** Starts the delayed reload when auto-reload is on, a version is pending and the tab is hidden. */
  armIfHidden(): void;
  cancel(): void;
}

export function createAutoReload(option: ObserverOptions['autoReload'], pendingVersion: () => string | undefined): AutoReload {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return {
    armIfHidden() {
      const target = pendingVersion();
      if (!option || !target || !isHidden()) return;
      try {
        if (sessionStorage.getItem(RELOADED_KEY) === target) return;
      } catch {}
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (!isHidden() || pendingVersion() !== target) return;
        try {
          sessionStorage.setItem(RELOADED_KEY, target);
        } catch {}
        location.reload();
      }, Math.random() * ((typeof option === 'object' && option.maxDelayMs) || DEFAULT_MAX_DELAY_MS));
    },
    cancel: () => clearTimeout(timer),
  };
}
