/**
 * Pieces of bench/e2e-latency.bench.ts that talk to the cluster and to the load processes:
 * - PodTracker: a pod watch in the measuring process (the local informer, src/local/informer.ts;
 *   as test/integration/e2e/story.test.ts measures "last pod Ready": local receipt time of the
 *   first event showing the pod Ready), and the live pod IPs (Ready, not terminating) the load
 *   clients reconnect to;
 * - Load: LOAD_PROCS child processes (bench/e2e/load-client.ts), each with its share of the
 *   WebSocket clients, fed the live pod IPs on every change.
 * - BareSink: a bare `ws` server process (bench/e2e/bare-sink.ts) the same load processes also
 *   connect to, broadcast on demand: the floor of "sidecar applied → every client".
 * Invariant: nothing here blocks the event loop (the process kubelet runs in this process).
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { DEFAULT_VERSION_LABEL } from '../../src/core/labels.ts';
import type { KubeHttp } from '../../src/local/kube-http.ts';
import { startInformer, type LocalInformer } from '../../src/local/informer.ts';
import { ask, reply } from '../../test/support/ipc.ts';

export interface PodInfo {
  name: string;
  version: string;
  ip: string | undefined;
  ready: boolean;
  terminating: boolean;
  /** Date.now() when this process first saw the pod Ready */
  readyAt: number | undefined;
}

export class PodTracker {
  readonly pods = new Map<string, PodInfo>();
  #informer: LocalInformer<V1Pod> | undefined;
  #onLive: (ips: string[]) => void;
  #live = '';

  readonly #kc: KubeConfig;
  readonly #api: KubeHttp;
  readonly #namespace: string;
  readonly #app: string;

  constructor(kc: KubeConfig, api: KubeHttp, namespace: string, app: string, onLive: (ips: string[]) => void) {
    this.#kc = kc;
    this.#api = api;
    this.#namespace = namespace;
    this.#app = app;
    this.#onLive = onLive;
  }

  /** Resolves once the first list has been applied. */
  async start(): Promise<void> {
    const path = `/api/v1/namespaces/${this.#namespace}/pods?labelSelector=${encodeURIComponent(`app=${this.#app}`)}`;
    this.#informer = startInformer<V1Pod>(this.#kc, this.#api, path, {
      add: (pod) => this.#event(false, pod),
      update: (pod) => this.#event(false, pod),
      delete: (pod) => this.#event(true, pod),
    });
    await this.#informer.synced();
  }

  #event(deleted: boolean, pod: V1Pod): void {
    const now = Date.now();
    const name = pod.metadata?.name;
    if (!name) return;
    if (deleted) this.pods.delete(name);
    else {
      const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
      const prev = this.pods.get(name);
      this.pods.set(name, {
        name,
        version: pod.metadata?.labels?.[DEFAULT_VERSION_LABEL] ?? '?',
        ip: pod.status?.podIP,
        ready,
        terminating: !!pod.metadata?.deletionTimestamp,
        readyAt: prev?.readyAt ?? (ready ? now : undefined),
      });
    }
    const live = this.liveIps();
    const key = live.join(',');
    if (key !== this.#live) {
      this.#live = key;
      this.#onLive(live);
    }
  }

  liveIps(): string[] {
    return [...this.pods.values()].filter((p) => p.ready && !p.terminating && p.ip).map((p) => p.ip!).sort();
  }

  /** Every pod runs `version`, is Ready, and none is left over (terminating or not). */
  settled(version: string, replicas: number): boolean {
    const all = [...this.pods.values()];
    return all.length === replicas && all.every((p) => p.version === version && p.ready && !p.terminating);
  }

  ofVersion(version: string): PodInfo[] {
    return [...this.pods.values()].filter((p) => p.version === version);
  }

  async stop(): Promise<void> {
    await this.#informer?.stop();
  }
}

export interface ClientReport {
  firstAt: number[];
  /** per client, same order: the (epoch, seq) its announcement carried; null when none */
  order: Array<[number, number] | null>;
  /** per client: for an announcement in a hello, [when it lost its established socket, connects since, when the new one opened, the lost socket's close code]; else null */
  helloPath: Array<[number, number, number, number] | null>;
  /** per client: the announcement came in the hello of a reconnect (it was not connected when the state was pushed) */
  viaHello: boolean[];
  /** per client, same order: its current pod, last open time, reconnects so far */
  where: Array<{ ip: string; openAt: number; reconnects: number }>;
  extra: string[];
  resends: number;
  reconnects: number;
  stale: number;
  open: number;
}

export class Load {
  readonly procs: ChildProcess[] = [];
  #ips: string[] = [];

  readonly total: number;

  constructor(procs: number, total: number, pageVersion: string) {
    this.total = total;
    const per = Math.ceil(total / procs);
    for (let p = 0; p < procs; p++) {
      const n = Math.min(per, total - p * per);
      this.procs.push(
        fork(new URL('./load-client.ts', import.meta.url).pathname, [], {
          env: { ...process.env, CLIENTS: String(n), OFFSET: String(p * per), PAGE_VERSION: pageVersion },
          stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
        }),
      );
    }
  }

  /** Sends the first pod list (which opens every client) and resolves once all are open. */
  async open(ips: string[]): Promise<void> {
    this.#ips = ips;
    const res = await Promise.all(this.procs.map((p) => ask<{ opened: number; failed: number }>(p, { cmd: 'pods', ips }, reply('opened'))));
    const opened = res.reduce((a, r) => a + r.opened, 0);
    const failed = res.reduce((a, r) => a + r.failed, 0);
    if (opened !== this.total || failed) throw new Error(`load clients: ${opened}/${this.total} open, ${failed} failed`);
  }

  setPods(ips: string[]): void {
    if (this.#ips.length === 0) return; // not opened yet
    this.#ips = ips;
    for (const p of this.procs) if (p.connected) p.send({ cmd: 'pods', ips });
  }

  async count(version: string): Promise<number> {
    const r = await Promise.all(this.procs.map((p) => ask<{ count: number }>(p, { cmd: 'count', version }, reply('count'))));
    return r.reduce((a, x) => a + x.count, 0);
  }

  async report(version: string, since: number): Promise<ClientReport> {
    const r = await Promise.all(this.procs.map((p) => ask<ClientReport>(p, { cmd: 'report', version, since }, reply('report'))));
    return {
      firstAt: r.flatMap((x) => x.firstAt),
      order: r.flatMap((x) => x.order),
      helloPath: r.flatMap((x) => x.helloPath),
      where: r.flatMap((x) => x.where),
      viaHello: r.flatMap((x) => x.viaHello),
      extra: r.flatMap((x) => x.extra),
      resends: r.reduce((a, x) => a + x.resends, 0),
      reconnects: r.reduce((a, x) => a + x.reconnects, 0),
      stale: r.reduce((a, x) => a + x.stale, 0),
      open: r.reduce((a, x) => a + x.open, 0),
    };
  }

  /** Opens `total` sockets to the bare sink, spread over the load processes like the clients. */
  async openBare(url: string): Promise<number> {
    const per = Math.ceil(this.total / this.procs.length);
    const res = await Promise.all(this.procs.map((p, i) => ask<{ opened: number }>(p, { cmd: 'bare', url, n: Math.min(per, this.total - i * per) }, reply('bare-opened'))));
    return res.reduce((a, r) => a + r.opened, 0);
  }

  /** Receive times of bare frame `id` over every load process (forgotten once read). */
  async bareReport(id: number): Promise<number[]> {
    const res = await Promise.all(this.procs.map((p) => ask<{ at: number[] }>(p, { cmd: 'bare-report', id }, reply('bare-report'))));
    return res.flatMap((r) => r.at);
  }

  stop(): void {
    for (const p of this.procs) {
      if (p.connected) p.send({ cmd: 'stop' });
      setTimeout(() => p.exitCode === null && p.kill('SIGKILL'), 1000).unref();
    }
  }
}

export class BareSink {
  readonly proc: ChildProcess;
  #id = 0;
  /** attached at fork, before the child can answer */
  readonly #listening: Promise<{ port: number }>;

  constructor() {
    this.proc = fork(new URL('./bare-sink.ts', import.meta.url).pathname, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    this.#listening = ask<{ port: number }>(this.proc, null, reply('listening'));
  }

  async url(): Promise<string> {
    return `ws://127.0.0.1:${(await this.#listening).port}/`;
  }

  /** Broadcasts one frame of `bytes`; its id and Date.now() just before the send loop. */
  async broadcast(bytes: number): Promise<{ id: number; at: number; loopMs: number; clients: number }> {
    const id = ++this.#id;
    return ask(this.proc, { cmd: 'broadcast', id, bytes }, reply('sent'));
  }

  stop(): void {
    if (this.proc.connected) this.proc.disconnect();
    setTimeout(() => this.proc.exitCode === null && this.proc.kill('SIGKILL'), 1000).unref();
  }
}
