/**
 * Builds the image's filesystem without a Docker engine by running the Dockerfile's own steps:
 *
 *   node scripts/image-content.ts [--out DIR] [--keep] [--context DIR] [--build-arg K=V ...]
 *
 * It reads ./Dockerfile and carries out each instruction of each stage in a directory that
 * stands for that stage's root (`<out>/<stage>/`): COPY from the build context (filtered by
 * .dockerignore, so a file the Dockerfile needs but the context leaves out fails here too),
 * COPY --from=<stage>, WORKDIR, ENV, LABEL, RUN (in the stage's WORKDIR, `sh -c`). The bases
 * are stood in for by this machine's Node 24 (see BASES): `node:24*` with the host's shell and
 * npm for RUN; distroless `nodejs24` with the node binary alone and no RUN at all, as the real
 * base has no shell — so the final tree holds exactly what the Dockerfile copies, plus node.
 * Then it starts the final stage's ENTRYPOINT + CMD as the image's USER (via setpriv when run as
 * root), with the image's ENV, from a tree the user cannot write to, and requires exit 0.
 *
 * The build context is this repository's working tree (as `docker build .` would see it), or
 * --context DIR (e.g. a `git archive` of a commit).
 *
 * Prints the final stage root on stdout and writes <out>/image.json ({ base, root, workdir, env,
 * user, entrypoint, cmd, exposed, labels }) for tests. Without --keep and --out the temp dir is removed.
 *
 * Supported: ARG, FROM [--platform=…] … AS …, WORKDIR, COPY [--from=…] [--chown=…] [--chmod=…], RUN, ENV,
 * USER, EXPOSE, ENTRYPOINT/CMD (exec form), LABEL. Anything else fails loudly: keep the
 * Dockerfile inside this subset, RUN steps relative to WORKDIR.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative } from 'node:path';
import dockerignoreModule from '@balena/dockerignore';

const repoRoot = new URL('..', import.meta.url).pathname.replace(/\/$/, '');

export interface ImageInfo {
  /** The final stage's FROM image, after build-arg substitution. */
  base: string;
  root: string;
  workdir: string;
  env: Record<string, string>;
  user: string;
  entrypoint: string[];
  cmd: string[];
  exposed: number[];
  labels: Record<string, string>;
}

interface Stage {
  name: string;
  base: string;
  /** The base has a shell (node:24*); a distroless base has none, so RUN cannot work there. */
  hasShell: boolean;
  dir: string;
  workdir: string;
  env: Record<string, string>;
  user: string;
  entrypoint: string[];
  cmd: string[];
  exposed: number[];
  labels: Record<string, string>;
}

/**
 * The bases this emulation can stand in for, and how. node:24* (Debian with Node, npm and a
 * shell): this machine's node at /usr/local/bin/node, RUN through the host's shell and npm.
 * gcr.io/distroless/nodejs24-*: node at /nodejs/bin/node and nothing else — the real image has
 * no shell and no package manager, so the stand-in has none either and RUN there fails.
 * Either way the tree holds what the Dockerfile put there and the node binary, nothing more.
 */
const BASES: Array<{ image: RegExp; node: string; hasShell: boolean; path: string[]; entrypoint: string[] }> = [
  { image: /^node:24(\b|[-.@])/, node: 'usr/local/bin/node', hasShell: true, path: [], entrypoint: ['docker-entrypoint.sh'] },
  { image: /^gcr\.io\/distroless\/nodejs24-debian\d+(:[\w.-]+)?(@sha256:[0-9a-f]{64})?$/, node: 'nodejs/bin/node', hasShell: false, path: ['/usr/local/bin', '/usr/bin', '/bin'], entrypoint: ['/nodejs/bin/node'] },
];

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

/**
 * The context filter `docker build` applies, by @balena/dockerignore: a port of moby's own
 * pattern matcher (Go filepath.Match globs plus `**`, patterns anchored at the context root,
 * last match wins, `!` re-includes), so this emulation and the real build agree on what the
 * context holds. Paths are relative to the context root, `/`-separated.
 */
export function dockerignore(text: string): (path: string) => boolean {
  // A CommonJS package whose types declare `export default`: under nodenext the default import
  // is module.exports, and the factory is also its own `.default` at run time.
  const matcher = dockerignoreModule.default().add(text.split('\n'));
  return (path: string) => path !== '' && matcher.ignores(path);
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
  // Keys with dots and dashes too: LABEL keys (org.opencontainers.image.source) use this parser.
  const re = /([A-Za-z_][A-Za-z0-9_.-]*)=("(?:[^"\\]|\\.)*"|\S*)/gy;
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

/** Places this machine's node where the base image has it (`rel`). Hard link when possible. */
function provideNode(stageDir: string, rel: string): void {
  const target = join(stageDir, rel);
  mkdirSync(dirname(target), { recursive: true });
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
export function buildImageContent(opts: { out: string; context?: string; buildArgs?: Record<string, string> }): ImageInfo {
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
      // A --build-arg wins over the Dockerfile's default, as with `docker build`.
      const [k, v] = rest.split('=', 2) as [string, string | undefined];
      args[k] = opts.buildArgs?.[k] ?? v ?? args[k] ?? '';
      continue;
    }
    if (op === 'FROM') {
      // --platform only picks which variant of the base runs the stage; the stand-in is this machine's.
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      if (!m) fail(`${where}: cannot parse`);
      const image = substitute(m[1]!, args);
      const base = BASES.find((b) => b.image.test(image)) ?? fail(`${where}: only node:24* and distroless nodejs24 bases can be stood in for locally, got ${image}`);
      const name = m[2] ?? `stage${stages.size}`;
      const dir = join(opts.out, name);
      mkdirSync(dir, { recursive: true });
      provideNode(dir, base.node);
      // A shell base's RUN steps see the host's tools after the stage's own; a distroless
      // stage's PATH stays inside its tree, so nothing of the host is reachable from it.
      const path = base.hasShell ? `${join(dir, 'usr/local/bin')}:/usr/local/bin:/usr/bin:/bin` : base.path.map((d) => join(dir, d)).join(':');
      stage = { name, base: image, hasShell: base.hasShell, dir, workdir: '/', env: { PATH: path }, user: 'root', entrypoint: base.entrypoint, cmd: base.hasShell ? ['node'] : [], exposed: [], labels: {} };
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
        if (!s.hasShell) fail(`${where}: stage ${s.name} is based on ${s.base}, which has no shell to RUN in`);
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
        for (const [k, v] of parseEnv(rest)) s.labels[k] = substitute(v, args);
        break;
      default:
        fail(`${where}: unsupported instruction (scripts/image-content.ts supports a subset)`);
    }
  }
  if (!stage) fail('Dockerfile has no FROM');
  const info: ImageInfo = { base: stage.base, labels: stage.labels, root: stage.dir, workdir: stage.workdir, env: stage.env, user: stage.user, entrypoint: stage.entrypoint, cmd: stage.cmd, exposed: stage.exposed };
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
  // There is no chroot here: an absolute path the ENTRYPOINT names (the script node runs) means
  // the one inside the image tree.
  const inImage = (arg: string) => (arg.startsWith('/') && existsSync(join(info.root, arg)) ? join(info.root, arg) : arg);
  const full = [resolved, ...entryArgs.map(inImage), ...argv];
  const cwd = join(info.root, info.workdir);
  const m = /^(\d+)(?::(\d+))?$/.exec(info.user);
  if (process.getuid?.() === 0 && m) {
    const uid = m[1]!;
    const gid = m[2] ?? uid;
    // setpriv is the host's (looked up on the host's PATH: the image's PATH holds no host tool).
    const setpriv = (process.env.PATH ?? '/usr/bin:/bin').split(':').map((d) => join(d, 'setpriv')).find((p) => existsSync(p)) ?? fail('setpriv is not on PATH (util-linux)');
    return { command: setpriv, args: [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--', ...full], cwd, env };
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
  const buildArgs = Object.fromEntries(argv.flatMap((a, i) => (argv[i - 1] === '--build-arg' ? [a.split(/=(.*)/s).slice(0, 2) as [string, string]] : [])));
  let code = 0;
  try {
    mkdirSync(out, { recursive: true });
    const t0 = performance.now();
    const info = buildImageContent({ out, context, buildArgs });
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
