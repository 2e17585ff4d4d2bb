/**
 * Push fairness: announcement latency in a fast namespace with and without a slow namespace
 * hogging pushes, in the same run, interleaved (A B C A B C …).
 *
 * The product's own Pusher (src/controller/pusher.ts) with its defaults (64 slots in total, a
 * share of 16 per namespace, which a namespace alone may exceed by borrowing idle slots up to 48;
 * 5 s push deadline) pushes real signed states over real sockets on loopback
 * IPs; no Kubernetes (the subject is the pusher's scheduling, and the cluster's own latency is in
 * "Announcement latency"). Each condition gets a fresh pusher, warmed by one announcement
 * that is not counted.
 *   A  the fast namespace alone: 20 pods, real receivers (test/support/receiver.ts) that verify
 *      every signature;
 *   B  the same, while a hostile namespace of 200 pods that read every push and never answer
 *      (test/support/slow-receiver.ts, 'hang') keeps pushes in flight;
 *   C  as B, with the per-namespace share switched off (share = all 64 slots): the old,
 *      one-queue behaviour, to show what the share prevents (few samples: each waits for a
 *      hostile push's deadline).
 * Latency = the fast app's new state handed to the pusher → every one of its 20 pods acknowledged
 * (the pusher's own announcement callback), performance.now(), same process.
 */
import os from 'node:os';
import { Pusher } from '../src/controller/pusher.ts';
import type { AppState } from '../src/core/app-state.ts';
import { defaultPerNamespace } from '../src/core/push-fairness.ts';
import { pushBody } from '../src/core/push-envelope.ts';
import { generateSigningKey } from '../src/core/signature.ts';
import { startReceiver, type Receiver } from '../test/support/receiver.ts';
import { startSlowReceiver, type SlowReceiver } from '../test/support/slow-receiver.ts';
import type { BenchResult } from './run.ts';
import { fmt, summary } from './stats.ts';

const ROUNDS = 3;
/** The controller's default --push-concurrency (src/controller/config.ts). */
const CONCURRENCY = 64;
const SHARE = defaultPerNamespace(CONCURRENCY);
/** What a namespace alone may hold by borrowing idle slots: one whole share always stays free (push-fairness.ts, Lending). */
const BORROWED_MAX = CONCURRENCY - SHARE;
const FAST_PODS = 20;
const HOSTILE_PODS = 200;
const SAMPLES: Record<Condition, number> = { A: 40, B: 40, C: 3 };
type Condition = 'A' | 'B' | 'C';
const TITLES: Record<Condition, string> = {
  A: 'A: fast namespace alone',
  B: `B: + ${HOSTILE_PODS} hostile pods (never answer)`,
  C: 'C: as B, no per-namespace share (one shared queue)',
};

const key = generateSigningKey();
const port = 20000 + Math.floor(Math.random() * 20000);
const fastIp = (i: number) => `127.0.5.${i + 1}`;
const hostileIp = (i: number) => `127.0.${6 + Math.floor(i / 250)}.${(i % 250) + 1}`;
const pod = (namespace: string, name: string, podIP: string) => ({ name, namespace, versionLabel: '1.0.0', ready: true, terminating: false, podIP, phase: 'Running' });
let seq = 0;
const state = (app: string): AppState => ({
  app, phase: 'converged', version: `1.0.${++seq}`, previousVersion: null, change: 'patch', serving: {}, reason: null, epoch: 1, seq, since: new Date().toISOString(),
});

export async function run(): Promise<BenchResult> {
  const t0 = performance.now();
  const loadStart = (os.loadavg()[0] ?? 0).toFixed(1);
  const fast: Receiver[] = [];
  const hostile: SlowReceiver[] = [];
  try {
    for (let i = 0; i < FAST_PODS; i++) fast.push(await startReceiver({ host: fastIp(i), port, publicKeys: [key.publicKeyBase64] }));
    for (let i = 0; i < HOSTILE_PODS; i++) hostile.push(await startSlowReceiver({ host: hostileIp(i), port, mode: 'hang' }));
    const latencies: Record<Condition, number[][]> = { A: [], B: [], C: [] };
    const hostileOpen: Record<Condition, number[]> = { A: [], B: [], C: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of ['A', 'B', 'C'] as const) {
        const r = await measure(c, fast, hostile);
        latencies[c].push(r.latencies);
        hostileOpen[c].push(...r.hostileOpen);
        console.error(`round ${round + 1} ${c}: median ${fmt(summary(r.latencies).p50)} ms over ${r.latencies.length}`);
      }
    }
    return { title: 'Push fairness (a hostile namespace vs an announcement elsewhere)', markdown: report(latencies, hostileOpen, loadStart, t0) };
  } finally {
    for (const r of [...fast, ...hostile]) await r.close();
  }
}

async function measure(c: Condition, fast: Receiver[], hostile: SlowReceiver[]): Promise<{ latencies: number[]; hostileOpen: number[] }> {
  const states = new Map<string, AppState>();
  const pusher = new Pusher({
    port, concurrency: CONCURRENCY, namespaceConcurrency: c === 'C' ? CONCURRENCY : undefined, timeoutMs: 5000, resyncMs: 0,
    stateOf: (app) => states.get(app), body: (s) => pushBody('bench-installation', s, key),
  });
  const announce = () => new Promise<number>((resolve) => {
    const start = performance.now();
    states.set('shop/web', state('shop/web'));
    pusher.stateChanged('shop/web', () => resolve(performance.now() - start));
  });
  try {
    pusher.start();
    for (let i = 0; i < FAST_PODS; i++) pusher.upsertPod('shop/web', pod('shop', `w${i}`, fastIp(i)));
    await announce(); // warm: keep-alive sockets to the fast pods
    if (c !== 'A') {
      for (let i = 0; i < HOSTILE_PODS; i++) pusher.upsertPod('hostile/tarpit', pod('hostile', `h${i}`, hostileIp(i)));
      states.set('hostile/tarpit', state('hostile/tarpit'));
      pusher.stateChanged('hostile/tarpit');
      // B: the hostile namespace is alone until the first announcement, so it borrows up to its cap
      const want = c === 'B' ? BORROWED_MAX : CONCURRENCY;
      while (open(hostile) < want) await new Promise((r) => setTimeout(r, 5));
    }
    const latencies: number[] = [];
    const hostileOpen: number[] = [];
    for (let i = 0; i < SAMPLES[c]; i++) {
      latencies.push(await announce());
      hostileOpen.push(open(hostile));
      if (c !== 'A') {
        // keep the hostile namespace busy: a new state for it too (coalesced into its next pushes)
        states.set('hostile/tarpit', state('hostile/tarpit'));
        pusher.stateChanged('hostile/tarpit');
      }
    }
    return { latencies, hostileOpen };
  } finally {
    pusher.close();
    while (open(hostile) > 0) await new Promise((r) => setTimeout(r, 5));
  }
}

const open = (hostile: SlowReceiver[]) => hostile.reduce((n, r) => n + r.pending(), 0);

function report(latencies: Record<Condition, number[][]>, hostileOpen: Record<Condition, number[]>, loadStart: string, t0: number): string {
  const rows = (['A', 'B', 'C'] as const).map((c) => {
    const all = latencies[c].flat();
    const s = summary(all);
    const medians = latencies[c].map((r) => summary(r).p50);
    const tail = `${s.tail.label}: ${fmt(s.tail.value)}`;
    const openS = summary(hostileOpen[c]);
    return `| ${TITLES[c]} | ${s.n} | **${fmt(s.p50)}** | ${medians.map((m) => fmt(m)).join(' / ')} (spread ${fmt(Math.max(...medians) - Math.min(...medians))}) | ${tail} | ${c === 'A' ? '0' : `${openS.min}–${openS.max}`} |`;
  });
  const a = summary(latencies.A.flat()).p50;
  const b = summary(latencies.B.flat()).p50;
  const spread = (c: Condition) => {
    const medians = latencies[c].map((r) => summary(r).p50);
    return Math.max(...medians) - Math.min(...medians);
  };
  const openB = summary(hostileOpen.B);
  return `
${FAST_PODS} fast pods (real receivers verifying every signature) in one namespace; the product's Pusher with its
defaults (${CONCURRENCY} slots, a share of ${SHARE} per namespace, 5 s push deadline); ${HOSTILE_PODS} hostile pods in another namespace read
every push and never answer. ${ROUNDS} rounds, conditions interleaved A B C per round, a fresh pusher per
condition (one uncounted warm-up announcement). Latency = new state handed to the pusher → all ${FAST_PODS} pods
acknowledged (the pusher's announcement callback). Loopback, one process: this is the pusher's scheduling
cost, not the cluster's (see "Announcement latency" for that).

| condition | samples | median ms | per-round medians (spread) | tail ms | hostile pushes open at each sample |
| --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

With the hostile namespace holding ${openB.min}–${openB.max} pushes open at every B sample (its share is ${SHARE}; alone, it borrows
idle slots up to ${BORROWED_MAX}, so ${SHARE} stay free for another namespace), the fast
namespace's median is ${fmt(b)} ms against ${fmt(a)} ms alone (B/A ${fmt(b / Math.max(a, 0.001), 2)}×; the round medians spread
${fmt(spread('A'))} ms in A and ${fmt(spread('B'))} ms in B). Without the per-namespace share (C) the hostile pods take every
slot and each announcement elsewhere waits for one of their deadlines (≤ 5 s).
Load average during the run: ${loadStart} → ${(os.loadavg()[0] ?? 0).toFixed(1)} (2 cores, shared).
Total ${((performance.now() - t0) / 1000).toFixed(0)} s.
`;
}
