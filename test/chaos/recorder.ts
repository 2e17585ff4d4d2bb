/**
 * A recording that survives API server outages: list, then watch from the list's
 * resourceVersion; when the watch ends (the API server stopped, the client's inactivity
 * timeout), watch again from the last resourceVersion seen. A restarted API server's watch cache
 * starts at the current revision, so a resume from before the restart is answered 410 Gone: the
 * recording then lists again and records the gap — the resourceVersions (after, upTo] whose
 * changes it may have missed.
 *
 * Invariants: every entry is a fact the API server served, with its own resourceVersion, kept in
 * resourceVersion order (an object re-listed unchanged is not recorded twice); every stretch of
 * history the recording may have missed is in gaps(), so a check can tell "not there" from
 * "not seen"; attempts while the API server is down are spaced, never a busy loop.
 */
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { rvOf } from '../integration/ordered-facts.ts';

export interface Entry<T> {
  type: 'LISTED' | 'ADDED' | 'MODIFIED' | 'DELETED';
  rv: bigint;
  object: T;
}

export interface Gap {
  after: bigint;
  upTo: bigint;
}

export interface ResumingRecording<T> {
  entries(): Array<Entry<T>>;
  gaps(): Gap[];
  stop(): void;
}

type Meta = { metadata?: { resourceVersion?: string; namespace?: string; name?: string } };

export async function recordResuming<T extends Meta>(
  kc: KubeConfig,
  path: string,
  list: () => Promise<{ metadata?: { resourceVersion?: string }; items: T[] }>,
  onEntry: (e: Entry<T>) => void = () => {},
  /** every (re)list's items, before their entries: what exists now (objects deleted in a gap are not among them) */
  onList: (items: T[]) => void = () => {},
): Promise<ResumingRecording<T>> {
  const entries: Array<Entry<T>> = [];
  const gaps: Gap[] = [];
  const seen = new Set<string>();
  let resume = '';
  let stopped = false;
  let abort: (() => void) | null = null;
  const push = (e: Entry<T>): void => {
    const id = `${e.object.metadata?.namespace}/${e.object.metadata?.name}@${e.rv}/${e.type === 'DELETED' ? 'd' : ''}`;
    if (seen.has(id)) return;
    seen.add(id);
    if (entries.length > 0 && e.rv < entries.at(-1)!.rv) {
      // A re-listed object changed inside a gap: keep the order by resourceVersion.
      const at = entries.findIndex((x) => x.rv > e.rv);
      entries.splice(at, 0, e);
    } else entries.push(e);
    onEntry(e);
  };
  const relist = async (): Promise<void> => {
    const listed = await list();
    const listRv = rvOf({ metadata: { resourceVersion: listed.metadata?.resourceVersion } });
    // Before the first list nothing was seen either: a check must not read that as "nothing happened".
    gaps.push({ after: resume === '' ? 0n : BigInt(resume), upTo: listRv });
    onList(listed.items);
    for (const object of listed.items) push({ type: 'LISTED', rv: rvOf(object), object });
    resume = String(listRv);
  };
  const watchOnce = async (): Promise<void> => {
    let gone = false;
    const req = await new Watch(kc).watch(
      path,
      { resourceVersion: resume, allowWatchBookmarks: true },
      (type, object: T & { code?: number }) => {
        if (type === 'ERROR') {
          gone = true; // 410: the resume point is older than the (restarted) API server's cache
          return;
        }
        resume = object.metadata!.resourceVersion!;
        if (type !== 'BOOKMARK') push({ type: type as Entry<T>['type'], rv: rvOf(object), object });
      },
      (err) => {
        if (stopped) return;
        setTimeout(() => void again(gone), err || gone ? 250 : 0);
      },
    );
    abort = () => req.abort();
  };
  const again = async (mustRelist: boolean): Promise<void> => {
    for (let attempt = 0; !stopped; attempt++) {
      try {
        if (mustRelist) await relist();
        await watchOnce();
        return;
      } catch {
        // the API server is down: try again, spaced
        await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)));
      }
    }
  };
  await relist();
  await watchOnce();
  return {
    entries: () => entries,
    gaps: () => gaps,
    stop: () => {
      stopped = true;
      abort?.();
    },
  };
}
