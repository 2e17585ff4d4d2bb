/**
 * `version-observer/svelte`: the observer's pending update as a Svelte store.
 * Invariants: nothing is imported from Svelte; the store keeps Svelte's store contract
 * (subscribe calls `run` at once with the current value and returns the unsubscribe), so `$update`
 * works in Svelte 3, 4 and 5 and the value is the observer's getSnapshot().
 *
 *   const update = versionUpdateStore(createVersionObserver({ version: '1.3.2' }));
 *   {#if $update}{$update.version} is out{/if}
 */
import type { PendingUpdate, VersionObserver } from './observer.ts';

/** Svelte's `Readable` contract (svelte/store), written out so this module imports nothing. */
export interface Readable<T> {
  subscribe(run: (value: T) => void, invalidate?: () => void): () => void;
}

/** A readable store of the pending update or rollback of `observer`, or null. */
export function versionUpdateStore(observer: VersionObserver): Readable<PendingUpdate | null> {
  return {
    subscribe(run) {
      run(observer.getSnapshot());
      return observer.subscribe(() => run(observer.getSnapshot()));
    },
  };
}
