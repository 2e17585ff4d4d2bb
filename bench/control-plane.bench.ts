/**
 * Local control plane: warm start time (binaries cached) over several starts, and memory of the
 * running control plane. It does not build the binaries: the build record next to them
 * (BUILD_TIMES, written by scripts/build-binaries.sh) is quoted with its path and date as a record,
 * never as a cold-build figure of this run — this bench cannot know whether that build's caches
 * were empty.
 */
import { readFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startCluster } from '../src/local/cluster.ts';
import { ensureBinaries } from '../src/local/binaries.ts';
import type { BenchResult } from './run.ts';
import { fmt, summary } from './stats.ts';
import { rssMiB } from '../test/support/process-stats.ts';
import { sleep } from '../test/support/wait.ts';
import { silentLogger } from '../src/platform/logger.ts';

export async function run(): Promise<BenchResult> {
  const bins = await ensureBinaries();
  const starts: number[] = [];
  let memory = '';
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const cluster = await startCluster({ logger: silentLogger });
    starts.push((performance.now() - t0) / 1000);
    if (i === 0) {
      await sleep(5000); // let the controllers settle
      const rows = cluster.pids().map((pid) => {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').find((a) => /etcd|kube-/.test(a)) ?? String(pid);
        return [cmd.split('/').pop()!, rssMiB(pid)] as const;
      });
      const total = rows.reduce((a, [, m]) => a + m, 0);
      memory = rows.map(([n, m]) => `| ${n} | ${fmt(m, 0)} |`).join('\n') + `\n| **total** | **${fmt(total, 0)}** |`;
    }
    await cluster.stop();
  }
  const s = summary(starts);
  const record = join(bins.etcd, '..', 'BUILD_TIMES');
  const build = existsSync(record) ? readFileSync(record, 'utf8').trim() : 'not recorded (binaries came from KUBEBUILDER_ASSETS or an older cache)';
  const recordedAt = existsSync(record) ? statSync(record).mtime.toISOString().slice(0, 16) + 'Z' : 'unknown';
  return {
    title: 'Local control plane',
    markdown: `
Warm start (binaries cached) of etcd + kube-apiserver + kube-controller-manager + process kubelet + service proxy, until \`/readyz\` answers and the default ServiceAccount exists — ${s.n} starts. Target: under 10 s.

| p50 | max | min |
| --- | --- | --- |
| ${fmt(s.p50)} s | ${fmt(s.max)} s | ${fmt(s.min)} s |

Memory (RSS, MiB) of the idle control plane 5 s after start:

| process | RSS MiB |
| --- | --- |
${memory}

Build of the binaries: **not measured by this bench** (it uses the cached binaries). The record below was written by
\`scripts/build-binaries.sh\` when the cached binaries were built (\`${record}\`, ${recordedAt}); whether that build
started from empty module and build caches is not recorded, so it is quoted as a record, not as a cold-build time:

\`\`\`
${build}
\`\`\`
`,
  };
}
