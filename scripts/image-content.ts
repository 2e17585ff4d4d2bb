/**
 * Builds the image's filesystem without a Docker engine by running the Dockerfile's own steps:
 *
 *   node scripts/image-content.ts [--out DIR] [--keep] [--context DIR]
 *
 * It reads ./Dockerfile and carries out each instruction of each stage in a directory that
 * stands for that stage's root (`<out>/<stage>/`): COPY from the build context (filtered by
 * .dockerignore, so a file the Dockerfile needs but the context leaves out fails here too),
 * COPY --from=<stage>, WORKDIR, ENV, RUN (in the stage's WORKDIR, `sh -c`). The base image
 * `node:24*` is stood in for by this machine's Node 24 (placed at <stage>/usr/local/bin/node).
 * Then it starts the final stage's ENTRYPOINT + CMD as the image's USER (via setpriv when run as
 * root), with the image's ENV, from a tree the user cannot write to, and requires exit 0.
 *
 * The build context is this repository's working tree (as `docker build .` would see it), or
 * --context DIR (e.g. a `git archive` of a commit).
 *
 * Prints the final stage root on stdout and writes <out>/image.json ({ root, workdir, env,
 * user, entrypoint, cmd, exposed }) for tests. Without --keep and --out the temp dir is removed.
 *
 * Supported: ARG, FROM … AS …, WORKDIR, COPY [--from=…] [--chown=…] [--chmod=…], RUN, ENV,
 * USER, EXPOSE, ENTRYPOINT/CMD (exec form), LABEL. Anything else fails loudly: keep the
 * Dockerfile inside this subset, RUN steps relative to WORKDIR.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative } from 'node:path';

const repoRoot = new URL('..', import.meta.url).pathname.replace(/\/$/, '');

export interface ImageInfo {
  root: string;
  workdir: string;
  env: Record<string, string>;
  user: string;
  entrypoint: string[];
  cmd: string[];
  exposed: number[];
}

interface Stage {
  name: string;
  dir: string;
  workdir: string;
  env: Record<string, string>;
  user: string;
  entrypoint: string[];
  cmd: string[];
  exposed: number[];
}

function log(line: string): void {
  process.stderr.write(`[image-content] ${line}\n`);
}

function fail(msg: string): never {
  throw new Error(`image-content: ${msg}`);
}

/** Logical lines of a Dockerfile: continuations joined, comments and blanks dropped. */
export function dockerfileInstructions(text: string): Array<{ op: string; rest: string; line: number }> {
  const out: Array<{ op: string; rest: string; line: number }> = [];
  let buf = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (buf === '' && /^\s*(#|$)/.test(line)) return;
    if (buf !== '' && /^\s*#/.test(line)) return;
    if (buf === '') start = i + 1;
    if (line.endsWith('\\')) {
      buf += line.slice(0, -1) + ' ';
      return;
    }
    buf += line;
    const m = /^\s*([A-Za-z]+)\s+([\s\S]*)$/.exec(buf);
    if (!m) fail(`Dockerfile line ${start}: cannot parse "${buf.trim()}"`);
    out.push({ op: m[1]!.toUpperCase(), rest: m[2]!.trim(), line: start });
    buf = '';
  });
  return out;
}

/** .dockerignore semantics (enough of them): last matching pattern wins; a match on a parent dir counts. */
export function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pat = posix.normalize((negate ? l.slice(1) : l).replace(/^\/+/, '')).replace(/\/+$/, '');
      const re = new RegExp(
        '^' +
          pat
            .split(/(\*\*\/|\*\*|\*|\?)/)
            .map((part) => (part === '**/' ? '(?:.*/)?' : part === '**' ? '.*' : part === '*' ? '[^/]*' : part === '?' ? '[^/]' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
            .join('') +
          '$',
      );
      return { negate, re };
    });
  return (path: string) => {
    const parts = path.split('/');
    let excluded = false;
    for (const { negate, re } of rules) {
      for (let n = 1; n <= parts.length; n++) {
        if (re.test(parts.slice(0, n).join('/'))) {
          excluded = !negate;
          break;
        }
      }
    }
    return excluded;
  };
}

function splitArgs(rest: string): string[] {
  return rest.split(/\s+/).filter(Boolean);
}

function execForm(rest: string, op: string): string[] {
  try {
    const v: unknown = JSON.parse(rest);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  } catch {
    // fall through
  }
  return fail(`${op} must use the exec form (["…"]), got ${rest}`);
}

function parseEnv(rest: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const re = /([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/gy;
  let s = rest.trim();
  if (!s.includes('=')) {
    const [k, ...v] = splitArgs(s);
    return [[k!, v.join(' ')]];
  }
  let m: RegExpExecArray | null;
  re.lastIndex = 0;
  while ((m = re.exec(s)) !== null) {
    let v = m[2]!;
    if (v.startsWith('"')) v = JSON.parse(v) as string;
    out.push([m[1]!, v]);
    const ws = /\s*/y;
    ws.lastIndex = re.lastIndex;
    ws.exec(s);
    re.lastIndex = ws.lastIndex;
    if (re.lastIndex >= s.length) break;
  }
  if (out.length === 0) fail(`cannot parse ENV ${rest}`);
  s = '';
  return out;
}

function substitute(s: string, vars: Record<string, string>): string {
  return s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, a: string | undefined, b: string | undefined) => vars[(a ?? b)!] ?? m);
}

/** Places this machine's node where the base image has it. Hard link when possible. */
function provideNode(stageDir: string): void {
  const bin = join(stageDir, 'usr/local/bin');
  mkdirSync(bin, { recursive: true });
  const target = join(bin, 'node');
  if (existsSync(target)) return;
  try {
    linkSync(process.execPath, target);
  } catch {
    copyFileSync(process.execPath, target);
    chmodSync(target, 0o755);
  }
}

function copyIn(src: string, dest: string, destIsDir: boolean, filter?: (abs: string) => boolean): void {
  const st = statSync(src);
  if (st.isDirectory()) {
    mkdirSync(dest, { recursive: true });
    cpSync(src, dest, { recursive: true, verbatimSymlinks: true, filter: filter ? (s) => filter(s) : undefined });
  } else {
    const to = destIsDir ? join(dest, src.split('/').pop()!) : dest;
    mkdirSync(dirname(to), { recursive: true });
    cpSync(src, to);
  }
}

/** Runs the Dockerfile of `context` (default: this repository) into `out`. */
export function buildImageContent(opts: { out: string; context?: string }): ImageInfo {
  const root = opts.context ?? repoRoot;
  const text = readFileSync(join(root, 'Dockerfile'), 'utf8');
  const ignored = dockerignore(existsSync(join(root, '.dockerignore')) ? readFileSync(join(root, '.dockerignore'), 'utf8') : '');
  const args: Record<string, string> = {};
  const stages = new Map<string, Stage>();
  let stage: Stage | undefined;
  const hostPath = `${dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}`;
  const map = (s: Stage, p: string) => (p.startsWith('/') ? join(s.dir, p) : join(s.dir, s.workdir, p));

  for (const { op, rest, line } of dockerfileInstructions(text)) {
    const where = `Dockerfile:${line} ${op}`;
    if (op === 'ARG') {
      const [k, v] = rest.split('=', 2) as [string, string | undefined];
      if (v !== undefined || !(k in args)) args[k] = v ?? '';
      continue;
    }
    if (op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      if (!m) fail(`${where}: cannot parse`);
      const image = substitute(m[1]!, args);
      if (!/^node:24(\b|[-.])/.test(image)) fail(`${where}: only node:24* base images can be stood in for locally, got ${image}`);
      const name = m[2] ?? `stage${stages.size}`;
      const dir = join(opts.out, name);
      mkdirSync(dir, { recursive: true });
      provideNode(dir);
      stage = { name, dir, workdir: '/', env: { PATH: `${join(dir, 'usr/local/bin')}:/usr/local/bin:/usr/bin:/bin` }, user: 'root', entrypoint: ['docker-entrypoint.sh'], cmd: ['node'], exposed: [] };
      stages.set(name, stage);
      log(`stage ${name} (${image})`);
      continue;
    }
    if (!stage) fail(`${where}: before FROM`);
    const s = stage;
    switch (op) {
      case 'WORKDIR': {
        s.workdir = posix.resolve(s.workdir, rest);
        mkdirSync(map(s, s.workdir), { recursive: true });
        break;
      }
      case 'ENV': {
        for (const [k, v] of parseEnv(rest)) {
          // $VAR refers to the stage env; absolute paths of dirs made in the stage point into it.
          const expanded = substitute(v, { ...s.env, PATH: s.env.PATH! });
          s.env[k] = expanded
            .split(':')
            .map((part) => (part.startsWith('/') && !part.startsWith(s.dir) && /^\/(app|src|opt|home)(\/|$)/.test(part) ? join(s.dir, part) : part))
            .join(':');
        }
        break;
      }
      case 'COPY': {
        const words = splitArgs(rest);
        let from: string | undefined;
        while (words[0]?.startsWith('--')) {
          const flag = words.shift()!;
          if (flag.startsWith('--from=')) from = flag.slice(7);
          else if (!/^--(chown|chmod|link)(=|$)/.test(flag)) fail(`${where}: unsupported flag ${flag}`);
        }
        if (words.length < 2) fail(`${where}: needs a source and a destination`);
        const destRaw = words.pop()!;
        const destIsDir = destRaw.endsWith('/') || words.length > 1 || destRaw === '.';
        const dest = map(s, destRaw);
        for (const src of words) {
          if (from) {
            const other = stages.get(from) ?? fail(`${where}: no stage ${from}`);
            const abs = map(other, src);
            if (!existsSync(abs)) fail(`${where}: ${src} does not exist in stage ${from}`);
            copyIn(abs, dest, destIsDir);
          } else {
            const rel = posix.normalize(src).replace(/\/$/, '');
            if (rel.startsWith('..') || rel.startsWith('/')) fail(`${where}: ${src} is outside the build context`);
            if (ignored(rel)) fail(`${where}: ${src} is excluded by .dockerignore`);
            const abs = join(root, rel);
            if (!existsSync(abs)) fail(`${where}: ${src} does not exist in the build context`);
            copyIn(abs, dest, destIsDir, (p) => !ignored(relative(root, p)));
          }
        }
        break;
      }
      case 'RUN': {
        const cmd = rest.replace(/--mount=\S+\s*/g, '');
        const t0 = performance.now();
        log(`${s.name}: RUN ${cmd}`);
        const env = { ...process.env, ...s.env, PATH: s.env.PATH!.replace(/:\/usr\/local\/bin:/, `:${hostPath}:`) };
        const r = spawnSync('sh', ['-c', cmd], { cwd: map(s, s.workdir), env, stdio: ['ignore', 'inherit', 'inherit'] });
        if (r.status !== 0) fail(`${where}: "${cmd}" exited ${r.status ?? r.signal}`);
        log(`${s.name}: RUN done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
        break;
      }
      case 'USER':
        s.user = rest;
        break;
      case 'EXPOSE':
        s.exposed.push(...splitArgs(rest).map((p) => Number(p.split('/')[0])));
        break;
      case 'ENTRYPOINT':
        s.entrypoint = execForm(rest, op);
        s.cmd = [];
        break;
      case 'CMD':
        s.cmd = execForm(rest, op);
        break;
      case 'LABEL':
        break;
      default:
        fail(`${where}: unsupported instruction (scripts/image-content.ts supports a subset)`);
    }
  }
  if (!stage) fail('Dockerfile has no FROM');
  const info: ImageInfo = { root: stage.dir, workdir: stage.workdir, env: stage.env, user: stage.user, entrypoint: stage.entrypoint, cmd: stage.cmd, exposed: stage.exposed };
  writeFileSync(join(opts.out, 'image.json'), JSON.stringify(info, null, 2));
  return info;
}

/** Command + options that run `argv` (after the entrypoint) the way the image would. */
export function imageCommand(info: ImageInfo, argv: string[], extraEnv: Record<string, string> = {}): { command: string; args: string[]; cwd: string; env: Record<string, string> } {
  const [entry, ...entryArgs] = info.entrypoint;
  if (!entry) fail('image has no ENTRYPOINT');
  const resolved = entry.includes('/') ? join(info.root, entry) : info.env.PATH!.split(':').map((d) => join(d, entry)).find((p) => existsSync(p) && p.startsWith(info.root));
  if (!resolved) fail(`ENTRYPOINT ${entry} is not on the image's PATH (${info.env.PATH})`);
  const env = { ...info.env, HOME: '/nonexistent', ...extraEnv };
  const full = [resolved, ...entryArgs, ...argv];
  const cwd = join(info.root, info.workdir);
  const m = /^(\d+)(?::(\d+))?$/.exec(info.user);
  if (process.getuid?.() === 0 && m) {
    const uid = m[1]!;
    const gid = m[2] ?? uid;
    return { command: 'setpriv', args: [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--', ...full], cwd, env };
  }
  return { command: full[0]!, args: full.slice(1), cwd, env };
}

/** Every path from / to the tree must be traversable by the image user (mkdtemp makes 0700). */
function openUp(out: string): void {
  let p = out;
  while (p !== '/' && p.startsWith(tmpdir())) {
    chmodSync(p, 0o755);
    p = dirname(p);
  }
}

function walkWritableBy(dir: string, uid: number): string[] {
  const bad: string[] = [];
  const visit = (p: string) => {
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) return;
    if (st.uid === uid) bad.push(p);
    if (st.isDirectory()) for (const e of readdirSync(p)) visit(join(p, e));
  };
  visit(dir);
  return bad;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const argv = process.argv.slice(2);
  const outIdx = argv.indexOf('--out');
  const out = outIdx >= 0 ? argv[outIdx + 1]! : mkdtempSync(join(tmpdir(), 'vo-image-'));
  const keep = argv.includes('--keep') || outIdx >= 0;
  const ctxIdx = argv.indexOf('--context');
  const context = ctxIdx >= 0 ? argv[ctxIdx + 1] : undefined;
  let code = 0;
  try {
    mkdirSync(out, { recursive: true });
    const t0 = performance.now();
    const info = buildImageContent({ out, context });
    openUp(out);
    const uid = Number(/^(\d+)/.exec(info.user)?.[1] ?? NaN);
    if (!Number.isInteger(uid) || uid === 0) fail(`USER must be a numeric non-root uid, got "${info.user}"`);
    const writable = walkWritableBy(info.root, uid);
    if (writable.length) fail(`files owned by the image user (would be writable): ${writable.slice(0, 5).join(', ')}`);
    const c = imageCommand(info, info.cmd);
    const r = spawnSync(c.command, c.args, { cwd: c.cwd, env: c.env, encoding: 'utf8' });
    if (r.status !== 0 || !r.stdout.includes('usage: version-observer')) fail(`${info.entrypoint.join(' ')} ${info.cmd.join(' ')} as ${info.user} exited ${r.status}: ${r.stdout}${r.stderr}`);
    log(`image content ready in ${((performance.now() - t0) / 1000).toFixed(1)} s; '${[...info.entrypoint, ...info.cmd].join(' ')}' runs as ${info.user}`);
    console.log(info.root);
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    code = 1;
  } finally {
    if (!keep) rmSync(out, { recursive: true, force: true });
  }
  process.exit(code);
}
