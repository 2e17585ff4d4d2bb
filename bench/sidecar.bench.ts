/**
 * Sidecar vs a bare `ws` server, interleaved (sidecar, bare, sidecar, bare, … ROUNDS rounds each),
 * same Node, same NODE_OPTIONS (SIDECAR_NODE_OPTIONS), same load clients; medians and spread:
 * - idle memory split into anonymous and file-backed pages (smaps_rollup), per process and for the
 *   sidecar container (supervisor + server);
 * - memory per idle socket at 10k and ~18k sockets (LOAD_PROCS client processes, each ≤ 4,000
 *   sockets, well under the 20,000 open-files limit, over many 127.x source addresses);
 * - broadcast: time from the push until each client has the state (p50/p99 over all deliveries);
 * - the derived connection cap for 128Mi/256Mi/512Mi memory limits (a simulated cgroup v2
 *   memory.max via VERSION_OBSERVER_CGROUP_DIR) and how many sockets the server then holds when
 *   filled until it refuses.
 * The machine's load is recorded before each section after a bounded wait for quiet.
 * Env: BENCH_SIDECAR_ROUNDS (default and minimum 3); BENCH_SIDECAR_SCALE (default 1) shrinks the
 * socket counts for a smoke run (its figures are not for the docs).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { generateSigningKey } from '../src/core/signature.ts';
import { pushBody } from '../src/core/push-envelope.ts';
import { deriveConnectionCap, PER_SOCKET_BYTES, STARTUP_ALLOWANCE_BYTES } from '../src/core/connection-cap.ts';
import { SIDECAR_NODE_OPTIONS } from '../src/sidecar/config.ts';
import { SIDECAR_BUNDLE_ARGS } from '../scripts/build.ts';
import type { AppState } from '../src/core/app-state.ts';
import type { BenchResult } from './run.ts';
import { fmt, percentile } from './stats.ts';
import { cpuSeconds } from '../test/support/process-stats.ts';
import { sleep } from '../test/support/wait.ts';
import { BENCH_INSTALLATION, Load, LOAD_PROCS, MiB, mem, quiet, startServer, type Mem, type Server } from './sidecar/servers.ts';

/** The installation the benchmark's sidecars are pinned to. */

const root = new URL('..', import.meta.url).pathname;
const ROUNDS = Math.max(3, Number(process.env.BENCH_SIDECAR_ROUNDS ?? 3));
const SCALE = Math.min(1, Number(process.env.BENCH_SIDECAR_SCALE ?? 1));
const LEVELS = { small: Math.round(1000 * SCALE), medium: Math.round(10_000 * SCALE), large: Math.round(18_000 * SCALE) };
const PUSHES = 20;
const LIMITS_MI = [128, 256, 512];
const key = generateSigningKey();
const now = (): number => performance.timeOrigin + performance.now();

let seq = 0;
async function broadcast(server: Server, load: Load, pushes: number) {
  const sent = new Map<number, number>();
  for (let i = 0; i < pushes; i++) {
    const state: AppState = {
      app: 'bench/storefront', phase: 'converged', version: `1.${++seq}.0`, previousVersion: '1.0.0', change: 'minor',
      serving: { [`1.${seq}.0`]: 3 }, reason: null, epoch: 1, seq, since: new Date().toISOString(),
    };
    const body = pushBody(BENCH_INSTALLATION, state, key);
    const t0 = now();
    const res = await fetch(server.pushUrl, { method: 'PUT', headers: { 'content-type': 'application/json' }, body });
    if (res.status !== 204) throw new Error(`push → ${res.status}`);
    sent.set(seq, t0);
    await sleep(load.open > 5000 ? 600 : 250);
  }
  await sleep(1000);
  const recv = await load.report();
  const all: number[] = [];
  let missing = 0;
  for (const [s, t0] of sent) {
    const ts = recv[s] ?? [];
    missing += load.open - ts.length;
    for (const t of ts) all.push(t - t0);
  }
  return { p50: percentile(all, 50), p99: percentile(all, 99), samples: all.length, missing };
}

interface Round {
  idleServer: Mem;
  idleSupervisor: Mem | null;
  idleCpu: number;
  b1k: Awaited<ReturnType<typeof broadcast>>;
  b10k: Awaited<ReturnType<typeof broadcast>>;
  /** per socket, KiB: RSS and anonymous growth of the serving process */
  rss10k: number; anon10k: number; rss10kAfter: number; rss18k: number; anon18k: number; open18k: number;
}

async function measureRound(kind: 'sidecar' | 'bare', block: number): Promise<Round> {
  const ip = `127.${block}.0.1`;
  // The rounds measure cost per socket, not the cap: the derived default (no memory limit here)
  // would refuse most of them.
  const server = await startServer(kind, ip, key.publicKeyBase64, kind === 'sidecar' ? { VERSION_OBSERVER_MAX_CONNECTIONS: '50000' } : {});
  const load = new Load(server.wsUrl, block);
  const allOpen = async (n: number) => {
    const open = await load.alive();
    if (open !== n) throw new Error(`${server.name}: ${open} of ${n} sockets open`);
  };
  try {
    await sleep(5000);
    const idleServer = mem(server.serverPid);
    const idleSupervisor = server.supervisorPid === undefined ? null : mem(server.supervisorPid);
    const pids = [server.serverPid, ...(server.supervisorPid ? [server.supervisorPid] : [])];
    const c0 = pids.reduce((a, p) => a + cpuSeconds(p), 0);
    await sleep(5000);
    const idleCpu = ((pids.reduce((a, p) => a + cpuSeconds(p), 0) - c0) / 5) * 100;
    await load.grow(LEVELS.small);
    const b1k = await broadcast(server, load, PUSHES);
    await load.grow(LEVELS.medium);
    await sleep(3000);
    await allOpen(LEVELS.medium);
    const m10k = mem(server.serverPid);
    const b10k = await broadcast(server, load, PUSHES);
    await sleep(2000);
    const m10kAfter = mem(server.serverPid);
    await load.grow(LEVELS.large);
    await sleep(3000);
    await allOpen(load.open);
    const m18k = mem(server.serverPid);
    const per = (x: number, base: number, n: number) => ((x - base) * 1024) / n;
    return {
      idleServer, idleSupervisor, idleCpu, b1k, b10k,
      rss10k: per(m10k.rss, idleServer.rss, LEVELS.medium), anon10k: per(m10k.anon, idleServer.anon, LEVELS.medium),
      rss10kAfter: per(m10kAfter.rss, idleServer.rss, LEVELS.medium),
      rss18k: per(m18k.rss, idleServer.rss, load.open), anon18k: per(m18k.anon, idleServer.anon, load.open), open18k: load.open,
    };
  } finally {
    load.stop();
    await server.stop();
  }
}

/** Fills a sidecar under a simulated memory.max until it refuses; what the cap was and what it held. */
async function capUnderLimit(limitMi: number, block: number) {
  const dir = mkdtempSync(join(tmpdir(), 'vo-bench-cgroup-'));
  writeFileSync(join(dir, 'memory.max'), String(limitMi * MiB));
  const ip = `127.${block}.0.1`;
  const server = await startServer('sidecar', ip, key.publicKeyBase64, { VERSION_OBSERVER_CGROUP_DIR: dir });
  const load = new Load(server.wsUrl, block);
  try {
    const line = server.lines.find((l) => typeof l.msg === 'string' && /^connection cap/.test(l.msg))!;
    const cap = line.maxConnections as number;
    const idleContainer = mem(server.serverPid).rss + mem(server.supervisorPid).anon;
    const attempts = Math.min(cap + 250, Math.round(LOAD_PROCS * 4000 * SCALE));
    await load.grow(attempts, true);
    await sleep(2000);
    const held = await load.alive();
    const atCap = mem(server.serverPid).rss + mem(server.supervisorPid).anon;
    // What memory alone would allow (a container's open-file limit is usually far above 20,000).
    const memoryOnly = deriveConnectionCap({ memoryMaxBytes: limitMi * MiB, idleBytes: (line.idleMiB as number) * MiB });
    return { limitMi, cap, limitedByFiles: line.limitedByFiles as boolean, idleMiB: line.idleMiB as number, attempts, held, idleContainer, atCap, memoryOnlyCap: memoryOnly.cap };
  } finally {
    load.stop();
    await server.stop();
  }
}

async function compile(): Promise<void> {
  spawnSync(`${root}node_modules/.bin/tsc`, ['-p', 'tsconfig.json'], { cwd: root, stdio: 'ignore' });
  if (!existsSync(`${root}dist/cli/main.js`)) throw new Error('tsc did not emit dist/cli/main.js');
  const bundled = spawnSync(`${root}node_modules/.bin/esbuild`, SIDECAR_BUNDLE_ARGS, { cwd: root, stdio: 'inherit' });
  if (bundled.status !== 0) throw new Error('the sidecar bundle failed');
  await build({ entryPoints: [`${root}bench/sidecar/bare-ws-server.ts`], bundle: true, platform: 'node', format: 'esm', external: ['ws'], outfile: `${root}dist/bench/bare-ws-server.js`, logLevel: 'silent' });
}

const median = (xs: number[]) => percentile(xs, 50);
/** "median [min–max]" */
function spread(xs: number[], d = 1): string {
  return `${fmt(median(xs), d)} [${fmt(Math.min(...xs), d)}–${fmt(Math.max(...xs), d)}]`;
}

export async function run(): Promise<BenchResult> {
  await compile();
  const block = 100 + Math.floor(Math.random() * 100);
  const loads: string[] = [];
  const rounds: Record<'sidecar' | 'bare', Round[]> = { sidecar: [], bare: [] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const kind of ['sidecar', 'bare'] as const) {
      loads.push(`${kind} round ${r + 1}: ${await quiet()}`);
      console.error(`sidecar bench: ${loads.at(-1)}`);
      rounds[kind].push(await measureRound(kind, block + (r * 2 + (kind === 'bare' ? 1 : 0)) % 50));
    }
  }
  const caps = [];
  for (const [i, limitMi] of LIMITS_MI.entries()) {
    loads.push(`cap ${limitMi}Mi: ${await quiet()}`);
    console.error(`sidecar bench: ${loads.at(-1)}`);
    caps.push(await capUnderLimit(limitMi, 200 + i));
  }

  const s = rounds.sidecar;
  const b = rounds.bare;
  const col = (rs: Round[], f: (x: Round) => number, d = 1) => spread(rs.map(f), d);
  const row = (label: string, f: (x: Round) => number, unit: string, d = 1) => `| ${label} (${unit}) | ${col(s, f, d)} | ${col(b, f, d)} |`;
  const sup = (f: (m: Mem) => number) => s.map((x) => f(x.idleSupervisor!));
  const srv = (f: (m: Mem) => number) => s.map((x) => f(x.idleServer));
  const containerAnon = s.map((x) => x.idleServer.anon + x.idleSupervisor!.anon);
  const containerFile = s.map((x) => Math.max(x.idleServer.file, x.idleSupervisor!.file));
  const perSocket = median(s.map((x) => x.rss10kAfter));
  const missed = (rs: Round[]) => rs.reduce((a, x) => a + x.b1k.missing + x.b10k.missing, 0);
  const samples = (rs: Round[], k: 'b1k' | 'b10k') => Math.min(...rs.map((x) => x[k].samples));

  return {
    title: 'Sidecar: memory, connections and broadcast',
    markdown: `
The sidecar container as it runs (\`version-observer sidecar\`: a supervisor process whose child is the server:
fastify + @fastify/websocket, metrics, limits) against a bare \`ws\` server doing the same work
(\`bench/sidecar/bare-ws-server.ts\`: hello, pong, verify + broadcast serialized once), interleaved sidecar, bare,
sidecar, bare … (${ROUNDS} rounds each), same Node, same flags (\`NODE_OPTIONS=${SIDECAR_NODE_OPTIONS}\`, as the container sets
it), the sidecar as \`npm run build\` emits it, same load clients: ${LOAD_PROCS} client processes (≤ ${LEVELS.large / LOAD_PROCS} sockets each;
the per-process open-file limit here is 20,000) over 40 source addresses 127.x.y.z. Figures are "median [min–max]"
over the rounds. Memory from \`/proc/<pid>/smaps_rollup\`: anonymous = \`Anonymous\` (heap, malloc, stacks: paid by
every container), file-backed = Rss − Anonymous (the \`node\` binary's and libraries' pages: in the page cache once
per node for every container of the same image). Per socket = (value with N idle sockets − value idle) / N, of the
serving process (the supervisor does not change with sockets). In these rounds the sidecar runs with
\`VERSION_OBSERVER_MAX_CONNECTIONS=50000\` (the rounds price sockets; the derived cap is the next table), and every
socket is checked to be open before memory is read.

| | sidecar | bare ws |
| --- | --- | --- |
| idle RSS, serving process (MiB) | ${spread(srv((m) => m.rss))} | ${col(b, (x) => x.idleServer.rss)} |
| idle anonymous, serving process (MiB) | ${spread(srv((m) => m.anon))} | ${col(b, (x) => x.idleServer.anon)} |
| idle file-backed, serving process (MiB) | ${spread(srv((m) => m.file))} | ${col(b, (x) => x.idleServer.file)} |
| idle RSS, supervisor (MiB) | ${spread(sup((m) => m.rss))} | – |
| idle anonymous, supervisor (MiB) | ${spread(sup((m) => m.anon))} | – |
| idle anonymous, whole container (MiB) | ${spread(containerAnon)} | ${col(b, (x) => x.idleServer.anon)} |
| idle file-backed, whole container (MiB, the larger of the two processes: they map the same binary) | ${spread(containerFile)} | ${col(b, (x) => x.idleServer.file)} |
${row('idle CPU, no clients, 5 s', (x) => x.idleCpu, '%', 2)}
${row('RSS per socket at 10k', (x) => x.rss10k, 'KiB', 2)}
${row('anonymous per socket at 10k', (x) => x.anon10k, 'KiB', 2)}
${row('RSS per socket at 10k after 20 broadcasts', (x) => x.rss10kAfter, 'KiB', 2)}
${row(`RSS per socket at ~${LEVELS.large / 1000}k`, (x) => x.rss18k, 'KiB', 2)}
${row(`anonymous per socket at ~${LEVELS.large / 1000}k`, (x) => x.anon18k, 'KiB', 2)}
${row('broadcast 1k: p50', (x) => x.b1k.p50, 'ms')}
${row('broadcast 1k: p99', (x) => x.b1k.p99, 'ms')}
${row('broadcast 10k: p50', (x) => x.b10k.p50, 'ms')}
${row('broadcast 10k: p99', (x) => x.b10k.p99, 'ms')}

Sockets at ~${LEVELS.large / 1000}k: sidecar ${s.map((x) => x.open18k).join(', ')}; bare ${b.map((x) => x.open18k).join(', ')}. Broadcast latency = time
from sending the push until a client has the state, over every delivery of ${PUSHES} pushes per round (at least
${samples(s, 'b1k')} samples per round at 1k and ${samples(s, 'b10k')} at 10k). Missed deliveries: sidecar ${missed(s)}, bare ${missed(b)}.

**What a platform team pays per pod** (medians above): the first sidecar on a node costs its anonymous memory
(${fmt(median(containerAnon))} MiB: supervisor ${fmt(median(sup((m) => m.anon)))} + server ${fmt(median(srv((m) => m.anon)))}) plus the \`node\`
binary's file-backed pages (${fmt(median(containerFile))} MiB, once per node and image); each further sidecar on that node
costs its anonymous memory (${fmt(median(containerAnon))} MiB) plus ~${fmt(perSocket, 1)} KiB of RSS per open browser socket
(+ the kernel's socket memory outside RSS, estimated ~3 KiB, not measured here). A cgroup charges shared file pages to the container that
touched them first, and reclaims them under pressure; the cap derivation below counts them anyway.

**Connection cap from the memory limit** (supervisor + server started with a simulated cgroup v2 \`memory.max\`;
cap = (memory.max − idle − max(8 MiB, 10 %)) / ${PER_SOCKET_BYTES} bytes per socket, idle = the server's RSS when it
starts + the supervisor's private memory + ${STARTUP_ALLOWANCE_BYTES / MiB} MiB still to come; then filled with ${LOAD_PROCS} client processes until
it refused). Here the server's open-file limit (20,000) caps it too; "memory alone" is the cap with no such limit
(a container's limit is usually 1,048,576).

| memory.max | idle counted (MiB) | cap here | memory alone | sockets held when filled (attempts) | container memory idle → at the cap (MiB) |
| --- | --- | --- | --- | --- | --- |
${caps.map((c) => `| ${c.limitMi}Mi | ${fmt(c.idleMiB)} | ${c.cap}${c.limitedByFiles ? ' (open files)' : ''} | ${c.memoryOnlyCap} | ${c.held} (${c.attempts}) | ${fmt(c.idleContainer)} → ${fmt(c.atCap)} |`).join('\n')}

Container memory = server RSS + supervisor anonymous. Projected at the memory-alone cap with the measured
${fmt(perSocket, 1)} KiB/socket: ${caps.map((c) => `${c.limitMi}Mi → ${fmt(c.idleContainer + (c.memoryOnlyCap * perSocket) / 1024, 0)} MiB`).join(', ')}
(+ kernel socket memory, estimated ~3 KiB/socket).

Machine load before each section (1-minute average; wait for < 1.5, at most ${Number(process.env.BENCH_QUIET_MAX_MS ?? 90_000) / 1000} s): ${loads.join('; ')}.
`,
  };
}
