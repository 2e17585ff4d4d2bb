/**
 * When a tab wakes: it becomes visible, or the network comes back. A hidden tab is not awake;
 * an `online` event while hidden counts as hidden again.
 * Invariant: the returned function removes both listeners.
 */

export const isHidden = (): boolean => document.visibilityState === 'hidden';

/** Calls `onHidden` or `onAwake` on every `visibilitychange` and `online`; returns the unsubscribe. */
export function watchPageWake(onHidden: () => void, onAwake: () => void): () => void {
  const listener = (): void => (isHidden() ? onHidden() : onAwake());
  addEventListener('online', listener);
  document.addEventListener('visibilitychange', listener);
  return () => {
    removeEventListener('online', listener);
    document.removeEventListener('visibilitychange', listener);
  };
}
