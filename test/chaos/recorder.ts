/**
 * A recording that survives API server outages: list, then watch from the list's
 * resourceVersion; when the watch ends (the API server stopped, a timeout), watch again from the
 * last resourceVersion seen, so the history stays complete and in order across the outage.
 *
 * Invariants: entries are appended in the API server's resourceVersion order; a 410 (the
 * resume point was compacted away) or a failed resume marks the recording broken and every
 * reader throws — the observer never concludes from a history with a hole in it.
 */
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { rvOf } from '../integration/ordered-facts.ts';

export interface Entry<T> {
  type: 'LISTED' | 'ADDED' | 'MODIFIED' | 'DELETED';
  rv: bigint;
  object: T;
}

export interface ResumingRecording<T> {
  entries(): Array<Entry<T>>;
  stop(): void;
}

export async function recordResuming<T extends { metadata?: { resourceVersion?: string } }>(
  kc: KubeConfig,
  path: string,
  list: () => Promise<{ metadata?: { resourceVersion?: string }; items: T[] }>,
  onEntry: (e: Entry<T>) => void = () => {},
): Promise<ResumingRecording<T>> {
  const listed = await list();
  let resume = listed.metadata?.resourceVersion ?? '';
  rvOf({ metadata: { resourceVersion: resume } });
  const entries: Array<Entry<T>> = [];
  const push = (e: Entry<T>): void => {
    entries.push(e);
    onEntry(e);
  };
  for (const object of listed.items) push({ type: 'LISTED', rv: rvOf(object), object });
  let broken: string | null = null;
  let stopped = false;
  let abort: (() => void) | null = null;
  const watchOnce = async (): Promise<void> => {
    let gone = false;
    const req = await new Watch(kc).watch(
      path,
      { resourceVersion: resume, allowWatchBookmarks: true },
      (type, object: T & { code?: number }) => {
        if (type === 'ERROR') {
          gone = true;
          broken ??= `watch of ${path} from rv ${resume}: ${JSON.stringify(object)}`;
          return;
        }
        resume = object.metadata!.resourceVersion!;
        if (type !== 'BOOKMARK') push({ type: type as Entry<T>['type'], rv: rvOf(object), object });
      },
      () => {
        if (!stopped && !gone) void again();
      },
    );
    abort = () => req.abort();
  };
  const again = async (): Promise<void> => {
    for (let attempt = 0; !stopped; attempt++) {
      try {
        await watchOnce();
        return;
      } catch {
        // the API server is down: try again shortly, from the same resourceVersion
        await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)));
      }
    }
  };
  await watchOnce();
  return {
    entries: () => {
      if (broken) throw new Error(`incomplete history: ${broken}`);
      return entries;
    },
    stop: () => {
      stopped = true;
      abort?.();
    },
  };
}
