/**
 * `npm run bench [-- name ...]`: runs the benchmarks in bench/*.bench.ts one after another and
 * writes each one's section into docs/benchmarks.md between its markers, so a partial run
 * updates only its own sections. Each section states the machine and the command, and the
 * machine's load before it started: the runner waits (bounded) for quiet first and writes the
 * load and the wait into the section (bench/machine-load.ts), and the load when it ended.
 */
import { readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { execSync } from 'node:child_process';
import { describeLoad, describeQuiet, readLoad, waitForQuiet } from './machine-load.ts';

export interface BenchResult {
  /** Section heading */
  title: string;
  /** Markdown body: tables, comparison, notes */
  markdown: string;
}

const root = new URL('..', import.meta.url).pathname;
/** BENCH_DOC=<file> sends a development run's sections elsewhere, keeping docs/benchmarks.md for full runs. */
const docPath = process.env.BENCH_DOC ?? `${root}docs/benchmarks.md`;
const wanted = process.argv.slice(2);
const files = readdirSync(`${root}bench`)
  .filter((f) => f.endsWith('.bench.ts'))
  .sort()
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)));
if (files.length === 0) {
  console.error(`bench: nothing matches ${wanted.join(', ')}`);
  process.exit(2);
}

const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${safe('uname -sr')}`;
let doc = existsSync(docPath) ? readFileSync(docPath, 'utf8') : '# Benchmarks\n\nFigures measured on this project\'s CI machine kind; each section names the command that produced it.\n';
let failed = false;
for (const f of files) {
  const name = f.replace(/\.bench\.ts$/, '');
  console.error(`\n=== bench ${name}`);
  const quiet = await waitForQuiet(undefined, (l) => console.error(`bench ${name}: ${l}`));
  console.error(describeQuiet(quiet));
  const t0 = performance.now();
  try {
    const mod = (await import(`./${f}`)) as { run: () => Promise<BenchResult> };
    const r = await mod.run();
    const secs = ((performance.now() - t0) / 1000).toFixed(0);
    const after = await readLoad();
    const body = `## ${r.title}\n\n_Measured ${new Date().toISOString().slice(0, 16)}Z on ${machine}; command: \`npm run bench -- ${name}\` (${secs} s)._\n\n_${describeQuiet(quiet)} When it ended: ${describeLoad(after)}._\n\n${r.markdown.trim()}\n`;
    // Re-read: another bench run may have written its own section since this one started.
    if (existsSync(docPath)) doc = readFileSync(docPath, 'utf8');
    doc = upsert(doc, name, body);
    writeFileSync(docPath, doc);
    console.error(body);
  } catch (err) {
    failed = true;
    console.error(`bench ${name} failed:`, err);
  }
}
process.exit(failed ? 1 : 0);

function upsert(text: string, name: string, body: string): string {
  const start = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const block = `${start}\n${body}${end}`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i >= 0 && j > i) return text.slice(0, i) + block + text.slice(j + end.length);
  return `${text.trimEnd()}\n\n${block}\n`;
}

function safe(cmd: string): string {
  try {
    return execSync(cmd, { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}
