/**
 * The few framework functions the bindings (react.ts, vue.ts) use, declared so the repository
 * typechecks without the frameworks installed: they are the app's optional peer dependencies.
 * The signatures are those of @types/react 19 and vue 3.5 for these functions; the emitted
 * .d.ts files name only `ShallowRef` from 'vue', which the app's own Vue types then define.
 * tsc emits nothing from this file. test/integration/browser/package.test.ts typechecks the
 * packed bindings against the published framework types.
 */
declare module 'react' {
  export function useSyncExternalStore<Snapshot>(subscribe: (onStoreChange: () => void) => () => void, getSnapshot: () => Snapshot, getServerSnapshot?: () => Snapshot): Snapshot;
}
declare module 'vue' {
  export interface ShallowRef<T = unknown> {
    value: T;
  }
  export function shallowRef<T>(value: T): ShallowRef<T>;
  export function getCurrentScope(): object | undefined;
  export function onScopeDispose(fn: () => void, failSilently?: boolean): void;
}
