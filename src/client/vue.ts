/**
 * `version-observer/vue`: the observer's pending update as a read-only shallow ref.
 * Invariants: Vue is the app's (an optional peer dependency, resolved by the app's bundler);
 * the subscription ends with the effect scope that called the composable (a component's
 * setup), and lives as long as the observer when called outside one.
 *
 *   const vo = createVersionObserver({ version: '1.3.2' });
 *   const update = useVersionUpdate(vo);   // in <script setup>; `update.value?.version`
 */
import { getCurrentScope, onScopeDispose, shallowRef, type ShallowRef } from 'vue';
import type { PendingUpdate, VersionObserver } from './observer.ts';

/** The pending update or rollback of `observer`, or null, kept current. */
export function useVersionUpdate(observer: VersionObserver | null | undefined): Readonly<ShallowRef<PendingUpdate | null>> {
  const update = shallowRef(observer?.getSnapshot() ?? null);
  const unsubscribe = observer?.subscribe(() => (update.value = observer.getSnapshot()));
  if (unsubscribe && getCurrentScope()) onScopeDispose(unsubscribe);
  return update;
}
