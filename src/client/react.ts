/**
 * `version-observer/react`: the observer's pending update as React state.
 * Invariants: React is the app's (an optional peer dependency, resolved by the app's bundler),
 * nothing else is imported at run time; on the server (and with no observer) the value is null.
 *
 *   const vo = createVersionObserver({ version: '1.3.2' });
 *   function Toast() { const update = useVersionUpdate(vo); return update && <p>{update.version} is out</p>; }
 */
import { useSyncExternalStore } from 'react';
import type { PendingUpdate, VersionObserver } from './observer.ts';

const none = (): null => null;
const subscribeToNothing = (): (() => void) => () => {};

/** The pending update or rollback of `observer`, or null; the component re-renders when it changes. */
export function useVersionUpdate(observer: VersionObserver | null | undefined): PendingUpdate | null {
  return useSyncExternalStore(observer?.subscribe ?? subscribeToNothing, observer?.getSnapshot ?? none, none);
}
