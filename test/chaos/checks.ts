/**
 * The chaos suite's checks, pure: given what the API server recorded (Deployments, the
 * controller's VersionConverged Events, in resourceVersion order) and what every WebSocket
 * connection received, the violations, each naming the object, the resourceVersions or
 * (epoch, seq) involved and the seed.
 *
 * Invariants:
 * - Ordering is by resourceVersion (one etcd: Deployments and Events share one revision
 *   sequence) or by (epoch, seq); never by local receive times.
 * - Never early is proved through a fence: a converged(V) receipt is matched to the controller's
 *   VersionConverged Event for that announcement (same app, V and previous version), and that
 *   Event must have a resourceVersion above a Deployment status that completes V recorded after
 *   the app's preceding announcement Event; when the recorded Lease history names the holder of
 *   the receipt's epoch, only that holder's Events count. A receipt with no such Event (the recorder's rate
 *   limit, or a create lost in an API outage), or whose Event's window overlaps a stretch of
 *   history the observer's watch may have missed (an API server restart), is counted as
 *   unproven, never passed silently.
 */
import type { V1Deployment } from '@kubernetes/client-node';
import { DEFAULT_VERSION_LABEL } from '../../src/core/labels.ts';
import { deploymentComplete } from '../integration/ordered-facts.ts';
import type { ConnectionRecord } from './client.ts';

export interface DeploymentFact {
  rv: bigint;
  namespace: string;
  name: string;
  version: string | undefined;
  complete: boolean;
  /** this record is the object's creation (so nothing of it is older) */
  created?: boolean;
}

export interface AnnouncementEvent {
  rv: bigint;
  namespace: string;
  name: string;
  instance: string;
  note: string;
}

export const deploymentFact = (rv: bigint, d: V1Deployment): DeploymentFact => ({
  rv,
  namespace: d.metadata!.namespace!,
  name: d.metadata!.name!,
  version: d.spec?.template.metadata?.labels?.[DEFAULT_VERSION_LABEL],
  complete: deploymentComplete(d),
});

export interface EarlyCheck {
  violations: string[];
  /** converged receipts matched to a justified announcement Event */
  proven: number;
  /** converged receipts with no matching Event (or only one whose window the recording did not fully see) */
  unproven: number;
  /** a few of the unproven receipts, to say why */
  unprovenExamples: string[];
  /** announcement Events checked */
  events: number;
}

/** The Event announces `version`; when the receipt names a previous version, from that one (a new leader's re-send may not). */
const noteMatches = (note: string, version: string, previous: string | null): boolean =>
  announcedVersion(note) === version && (previous === null || !note.includes(' from ') || note.includes(` from ${previous});`));

/** The version a VersionConverged note announces ("<app> converged on <V>[ (<change> from <P>)]; announced to its pods"). */
export const announcedVersion = (note: string): string | undefined => / converged on ([^\s;]+)/.exec(note)?.[1];

/**
 * Every VersionConverged Event is justified (a complete status of its version recorded between
 * the app's preceding announcement Event and it), and every converged receipt on a connection
 * of app `namespace/name` maps to a justified Event.
 */
export function checkNeverEarly(
  seed: number,
  deployments: DeploymentFact[],
  events: AnnouncementEvent[],
  connections: Map<string, ConnectionRecord[]>,
  gaps: Array<{ after: bigint; upTo: bigint }> = [],
  /** epoch → the identity that acquired the Lease with it (from the Lease's recorded history) */
  holders: Map<number, string> = new Map(),
): EarlyCheck {
  const violations: string[] = [];
  const justified = new Map<string, AnnouncementEvent[]>();
  const byApp = new Map<string, AnnouncementEvent[]>();
  const unjustifiedInGap = new Set<AnnouncementEvent>();
  for (const e of [...events].sort((a, b) => (a.rv < b.rv ? -1 : 1))) {
    const key = `${e.namespace}/${e.name}`;
    const list = byApp.get(key) ?? [];
    const floor = list.at(-1)?.rv ?? 0n;
    list.push(e);
    byApp.set(key, list);
    const version = announcedVersion(e.note);
    const completing = deployments.find((d) => d.namespace === e.namespace && d.name === e.name && d.rv > floor && d.rv < e.rv && d.complete && d.version === version);
    // A gap in the history matters only after the Deployment's recorded creation.
    const createdRv = deployments.find((d) => d.namespace === e.namespace && d.name === e.name && d.created)?.rv ?? 0n;
    const from = floor > createdRv ? floor : createdRv;
    if (!completing && gaps.some((g) => g.upTo > from && g.after < e.rv)) {
      unjustifiedInGap.add(e); // the completing status may be in the part of the history not seen
      continue;
    }
    if (!completing) {
      violations.push(`early decision: Event rv ${e.rv} (${e.instance}) "${e.note}" on Deployment ${key} has no status completing ${version} recorded between rv ${floor} and rv ${e.rv} (seed ${seed})`);
      continue;
    }
    justified.set(key, [...(justified.get(key) ?? []), e]);
  }
  let proven = 0;
  let unproven = 0;
  const unprovenExamples: string[] = [];
  for (const [key, conns] of connections) {
    const ok = justified.get(key) ?? [];
    const all = byApp.get(key) ?? [];
    for (const c of conns) {
      let last: string | null = null;
      for (const r of c.receipts) {
        if (r.phase !== 'converged' || r.version === null) continue;
        if (r.version === last) continue; // a re-send of what this connection already holds
        last = r.version;
        // The Event of this announcement was written by the leader of the receipt's epoch (when the Lease history names it).
        const holder = holders.get(r.epoch);
        const mine = (e: AnnouncementEvent): boolean => noteMatches(e.note, r.version!, r.previousVersion) && (holder === undefined || e.instance === holder);
        if (ok.some(mine)) proven++;
        else if (all.some((e) => mine(e) && !unjustifiedInGap.has(e))) {
          violations.push(`early receipt: client ${c.client} connection ${c.conn} (${c.source} → ${c.pod}) got converged ${r.version} at (epoch ${r.epoch}, seq ${r.seq}) of ${key}, whose only announcement Events are unjustified (seed ${seed})`);
        } else {
          unproven++;
          if (unprovenExamples.length < 5) unprovenExamples.push(`client ${c.client} connection ${c.conn}: converged ${r.version} from ${r.previousVersion} at (epoch ${r.epoch}, seq ${r.seq}) of ${key}, leader ${holder ?? 'unknown'}`);
        }
      }
    }
  }
  return { violations, proven, unproven, unprovenExamples, events: events.length };
}

/** Never twice, and in order: on each connection the (epoch, seq) of the states received strictly increase. */
export function checkNeverTwice(seed: number, key: string, conns: ConnectionRecord[]): string[] {
  const out: string[] = [];
  for (const c of conns) {
    for (let i = 1; i < c.receipts.length; i++) {
      const a = c.receipts[i - 1]!;
      const b = c.receipts[i]!;
      if (b.epoch > a.epoch || (b.epoch === a.epoch && b.seq > a.seq)) continue;
      const what = b.epoch === a.epoch && b.seq === a.seq ? 'the same state twice' : 'an older state after a newer one';
      out.push(`twice/out of order: client ${c.client} connection ${c.conn} (${c.source} → ${c.pod}) of ${key} received ${what}: (epoch ${a.epoch}, seq ${a.seq}) then (epoch ${b.epoch}, seq ${b.seq}) (seed ${seed})`);
    }
  }
  return out;
}

/** Percentile by nearest rank, or null when the samples cannot support it (p99 needs ≥ 100). */
export function percentile(samples: number[], p: number): number | null {
  if (samples.length === 0) return null;
  if (p >= 0.99 && samples.length < 100) return null;
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
}
