/**
 * The chaos suite's checks, pure: given what the API server recorded (Deployments, the
 * controller's VersionConverged Events, in resourceVersion order) and what every WebSocket
 * connection received, the violations, each naming the object, the resourceVersions or
 * (epoch, seq) involved and the seed.
 *
 * Invariants:
 * - Ordering is by resourceVersion (one etcd: Deployments and Events share one revision
 *   sequence) or by (epoch, seq); never by local receive times.
 * - Never early is proved first through the state's own fence: a converged(V) receipt carrying
 *   resourceVersion R (the Deployment read that decided it) is proven when the recorded history
 *   of that Deployment holds an entry at exactly R that is complete at template version V. An
 *   entry at R that is not complete is an early violation (the controller judged an incomplete
 *   status converged). An entry at R complete at another template (the pod cache still behind a
 *   newer rollout) proves nothing about V either way. R is compared as BigInt, so only an
 *   all-digits R can be looked up.
 * - Otherwise (no R: an older controller or sidecar; R not in the history: a gap or re-list; R
 *   not digits) the Event fence decides: the receipt is matched to the controller's
 *   VersionConverged Event for that announcement (same app, V and previous version), and that
 *   Event must have a resourceVersion above a Deployment status that completes V recorded after
 *   the app's preceding announcement Event; when the recorded Lease history names the holder of
 *   the receipt's epoch, only that holder's Events count. A receipt with no such Event (the
 *   recorder's rate limit, or a create lost in an API outage), or whose Event's window overlaps a
 *   stretch of history the observer's watch may have missed (an API server restart), is counted
 *   as unproven, never passed silently.
 * - Every VersionConverged Event is checked on its own too (an independent check of the
 *   controller's Events), whatever the receipts prove.
 */
import type { V1Deployment } from '@kubernetes/client-node';
import { DEFAULT_VERSION_LABEL } from '../../src/core/labels.ts';
import { deploymentComplete } from '../integration/ordered-facts.ts';
import type { ConnectionRecord, Receipt } from './client.ts';

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
  /** converged receipts proven, by their resourceVersion fence or by a justified announcement Event */
  proven: number;
  /** of `proven`, those proven by their own resourceVersion (no Event needed) */
  provenByResourceVersion: number;
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
  let provenByResourceVersion = 0;
  let unproven = 0;
  const unprovenExamples: string[] = [];
  const history = historyByApp(deployments);
  for (const [key, conns] of connections) {
    const ok = justified.get(key) ?? [];
    const all = byApp.get(key) ?? [];
    for (const c of conns) {
      let last: string | null = null;
      for (const r of c.receipts) {
        if (r.phase !== 'converged' || r.version === null) continue;
        if (r.version === last) continue; // a re-send of what this connection already holds
        last = r.version;
        const fenced = fenceVerdict(history.get(key), r);
        if (fenced === 'proven') {
          proven++;
          provenByResourceVersion++;
          continue;
        }
        if (fenced !== undefined) {
          violations.push(`early receipt: client ${c.client} connection ${c.conn} (${c.source} → ${c.pod}) got converged ${r.version} at (epoch ${r.epoch}, seq ${r.seq}) of ${key}, decided from Deployment rv ${r.resourceVersion}, recorded ${fenced} (seed ${seed})`);
          continue;
        }
        // The Event of this announcement was written by the leader of the receipt's epoch (when the Lease history names it).
        const holder = holders.get(r.epoch);
        const mine = (e: AnnouncementEvent): boolean => noteMatches(e.note, r.version!, r.previousVersion) && (holder === undefined || e.instance === holder);
        if (ok.some(mine)) proven++;
        else if (all.some((e) => mine(e) && !unjustifiedInGap.has(e))) {
          violations.push(`early receipt: client ${c.client} connection ${c.conn} (${c.source} → ${c.pod}) got converged ${r.version} at (epoch ${r.epoch}, seq ${r.seq}) of ${key}, whose only announcement Events are unjustified (seed ${seed})`);
        } else {
          unproven++;
          if (unprovenExamples.length < 5) unprovenExamples.push(`client ${c.client} connection ${c.conn}: converged ${r.version} from ${r.previousVersion} at (epoch ${r.epoch}, seq ${r.seq}) of ${key}, rv ${r.resourceVersion ?? 'none'}${r.resourceVersion === undefined ? '' : ' (not a complete status of it in the history)'}, leader ${holder ?? 'unknown'}`);
        }
      }
    }
  }
  return { violations, proven, provenByResourceVersion, unproven, unprovenExamples, events: events.length };
}

/** Each app's ("namespace/name" of its Deployment) recorded statuses by resourceVersion. */
function historyByApp(deployments: DeploymentFact[]): Map<string, Map<bigint, DeploymentFact>> {
  const out = new Map<string, Map<bigint, DeploymentFact>>();
  for (const d of deployments) {
    const key = `${d.namespace}/${d.name}`;
    const byRv = out.get(key) ?? new Map<bigint, DeploymentFact>();
    byRv.set(d.rv, d);
    out.set(key, byRv);
  }
  return out;
}

/**
 * What the receipt's own fence says: 'proven' (the status at its rv completes its version), a
 * description of the status at that rv when it is not complete (early), or undefined when the
 * fence cannot decide (no rv, not digits, not in the history, complete at another template).
 */
function fenceVerdict(history: Map<bigint, DeploymentFact> | undefined, r: Receipt): 'proven' | string | undefined {
  const rv = r.resourceVersion;
  if (rv === undefined || !/^\d+$/.test(rv)) return undefined;
  const fact = history?.get(BigInt(rv));
  if (!fact) return undefined;
  if (!fact.complete) return `not complete (template ${fact.version})`;
  return fact.version === r.version ? 'proven' : undefined;
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
