/**
 * The repository carries its own contract: no tracked doc, source file or chart file may send a
 * reader to a file outside the repository. docs/protocol.md is the contract; a reference to a
 * file that users of the repository do not have is a dead end.
 *
 * What counts as an outside reference (per line):
 * - the old contract and style guide by name: the upper-case words "design" and "style", with
 *   or without `.md`, which comments also used as short names (the repository has no file of
 *   either name; docs/protocol.md and CONTRIBUTING.md replace them);
 * - a path into the sibling `shared` folder the old contract lived in;
 * - any relative path (`../…`) that, resolved from the directory of the file it is written in,
 *   climbs above the repository root.
 *
 * Files scanned: every file `git ls-files` lists that is Markdown, source (TypeScript,
 * JavaScript, shell, HTML) or under charts/ (and the manifests rendered from it, and CI
 * workflows). The names are assembled at run time so that this
 * file does not match itself. The failure message lists file:line for every line with a hit.
 *
 * The same reasoning keeps references inside the repository honest: a Markdown link (with its
 * #anchor) and a backticked repository path in a doc must name something that exists, so the
 * contract follows the code when files move. Targets git ignores (generated output such as
 * test-results/) are allowed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { posix } from 'node:path';

const root = fileURLToPath(new URL('../../../', import.meta.url));

const OLD_NAMES = ['design', 'style'].map((w) => w.toUpperCase());
const SHARED = ['..', 'shared'].join('/');
/** The old contract's names as words, with or without `.md` (also inside a path). */
const NAMED = new RegExp(`\\b(?:${OLD_NAMES.join('|')})(?:\\.md)?\\b`, 'g');
/** A path into the sibling folder, even written without its own dots (e.g. an absolute path). */
const SHARED_DIR = new RegExp(`(?<![\\w.-])((?:\\.\\./)*shared/(?:${OLD_NAMES.join('|')}))`, 'g');
/** A relative path that starts by climbing: `../x`, `../../`, `../..`. */
const CLIMBING = /(?<![\w.\-/])((?:\.\.\/)+[^\s'"`()[\]<>,;*{}|\\]*)/g;

const SOURCE_EXT = /\.(?:ts|mts|cts|js|mjs|cjs|sh|html)$/;

/** Which tracked files are docs, sources or chart files. */
function isScanned(file: string): boolean {
  return file.endsWith('.md') || SOURCE_EXT.test(file) || ['charts/', 'manifests/', '.github/'].some((dir) => file.startsWith(dir));
}

interface Hit {
  file: string;
  line: number;
  text: string;
  why: string;
}

/** Every line of one file's text with an outside reference; `file` is its path from the repository root. */
function outsideReferences(file: string, text: string): Hit[] {
  const dir = posix.dirname(file);
  const hits: Hit[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const found: string[] = [];
    const why = new Set<string>();
    for (const m of line.matchAll(NAMED)) {
      found.push(m[0]);
      why.add('names a file that is not in the repository');
    }
    for (const m of line.matchAll(SHARED_DIR)) {
      found.push(m[1] as string);
      why.add(`points into ${SHARED}`);
    }
    for (const m of line.matchAll(CLIMBING)) {
      const target = m[1] as string;
      const resolved = posix.normalize(posix.join(dir, target));
      if (resolved !== '..' && !resolved.startsWith('../')) continue;
      found.push(target);
      why.add(`climbs above the repository root from ${dir === '.' ? 'the root' : `${dir}/`}`);
    }
    if (found.length > 0) hits.push({ file, line: i + 1, text: [...new Set(found)].join(', '), why: [...why].join('; ') });
  }
  return hits;
}

function trackedFiles(): string[] {
  return execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' }).split('\0').filter(Boolean);
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}

function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const m = !fenced && /^#{1,6}\s+(.*)$/.exec(line);
    if (m) anchors.add(slug(m[1] as string));
  }
  return anchors;
}

/** Top-level folders whose paths docs write in backticks, e.g. `src/core/evaluate.ts`. */
const REPO_PATH = /`((?:src|test|bench|scripts|charts|docs|examples|manifests)\/[A-Za-z0-9_.\/-]*)/g;
const LINK = /\]\(([^)\s]+)\)/g;

interface DocRef {
  file: string;
  line: number;
  /** Path from the repository root ('' = the file itself). */
  path: string;
  anchor: string | null;
}

/** Links and backticked repository paths in one Markdown file. */
function docReferences(file: string, text: string): DocRef[] {
  const refs: DocRef[] = [];
  const dir = posix.dirname(file);
  text.split('\n').forEach((line, i) => {
    for (const m of line.matchAll(LINK)) {
      const target = m[1] as string;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
      const [path = '', anchor] = target.split('#');
      refs.push({ file, line: i + 1, path: path === '' ? '' : posix.normalize(posix.join(dir, path)), anchor: anchor ?? null });
    }
    for (const m of line.matchAll(REPO_PATH)) refs.push({ file, line: i + 1, path: (m[1] as string).replace(/\/$/, ''), anchor: null });
  });
  return refs;
}

test('the scanner finds each kind of outside reference and passes references inside the repository', () => {
  const up = (n: number): string => '../'.repeat(n);
  const design = `${OLD_NAMES[0]}.md`;
  const style = `${OLD_NAMES[1]}.md`;
  const found = (file: string, text: string): string[] => outsideReferences(file, text).map((h) => `${h.line}:${h.text}`);

  assert.deepEqual(found('README.md', `see \`${SHARED}/${design}\``), [`1:${design}, ${SHARED}/${OLD_NAMES[0]}, ${SHARED}/${design}`]);
  assert.deepEqual(found('docs/a.md', `\n\nfrom /elsewhere/shared/${design}`), [`3:${design}, shared/${OLD_NAMES[0]}`]);
  assert.deepEqual(found('src/core/x.ts', `/**\n * habits: ${style} §3\n */`), [`2:${style}`]);
  assert.deepEqual(found('src/core/x.ts', `// (${OLD_NAMES[1]}: one config)`), [`1:${OLD_NAMES[1]}`]);
  assert.deepEqual(found('docs/a.md', `[x](${up(2)}elsewhere/a.md)`), [`1:${up(2)}elsewhere/a.md`]);
  assert.deepEqual(found('charts/c/templates/NOTES.txt', `read ${up(4)}notes`), [`1:${up(4)}notes`]);
  assert.deepEqual(found('README.md', `cd ${up(1)}..`), [`1:${up(1)}..`]);

  // Inside the repository: relative paths that stay at or below the root, and ordinary words.
  assert.deepEqual(found('docs/install.md', `[chart](${up(1)}charts/version-observer/README.md)`), []);
  assert.deepEqual(found('test/unit/core/x.test.ts', `new URL('${up(3)}docs/errors.md', import.meta.url)`), []);
  assert.deepEqual(found('test/e2e/kind.sh', `cd "$(dirname "$0")/${up(2)}"`), []);
  assert.deepEqual(found('src/x.ts', `import { a } from '${up(1)}core/a.ts'; // design, style, Design.md-ish words`), []);
  assert.deepEqual(found('docs/protocol.md', 'the shared informer; shared by every tab'), []);
});

test('no tracked doc, source or chart file refers to a file outside the repository', () => {
  const files = trackedFiles().filter(isScanned);
  assert.ok(files.length > 50, `git ls-files listed only ${files.length} docs/sources/chart files; is ${root} the repository?`);
  const hits: Hit[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(`${root}${file}`, 'utf8');
    } catch {
      continue; // tracked but deleted in the work tree: nothing to read
    }
    hits.push(...outsideReferences(file, text));
  }
  const report = hits.map((h) => `  ${h.file}:${h.line}: "${h.text}" ${h.why}`).join('\n');
  assert.equal(hits.length, 0, `${hits.length} reference(s) to files outside the repository; point them at docs/protocol.md (or CONTRIBUTING.md for habits):\n${report}`);
});

test('links and repository paths in the docs name files, folders and headings that exist', () => {
  const tracked = trackedFiles();
  const files = new Set(tracked);
  const folders = new Set(tracked.flatMap((f) => f.split('/').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('/'))));
  const docs = tracked.filter((f) => f.endsWith('.md'));
  const texts = new Map(docs.map((f) => [f, readFileSync(`${root}${f}`, 'utf8')]));
  const refs = docs.flatMap((f) => docReferences(f, texts.get(f) as string));
  assert.ok(refs.length > 50, `found only ${refs.length} references in ${docs.length} docs: is the scanner broken?`);

  const missing = refs.filter((r) => r.path !== '' && !files.has(r.path) && !folders.has(r.path));
  // Generated output (git-ignored) may be linked: it exists once the tests or benchmarks ran.
  const ignored = new Set(
    missing.length === 0
      ? []
      : execFileSync('git', ['check-ignore', '--no-index', '--stdin'], { cwd: root, encoding: 'utf8', input: missing.map((r) => r.path).join('\n') + '\n' })
          .split('\n')
          .filter(Boolean),
  );
  const problems = missing.filter((r) => !ignored.has(r.path)).map((r) => `  ${r.file}:${r.line}: ${r.path} does not exist`);
  for (const r of refs) {
    if (r.anchor === null) continue;
    const target = r.path === '' ? r.file : r.path;
    const text = texts.get(target);
    if (text !== undefined && !anchorsOf(text).has(r.anchor)) problems.push(`  ${r.file}:${r.line}: ${target} has no heading for #${r.anchor}`);
  }
  assert.equal(problems.length, 0, `${problems.length} doc reference(s) to nothing; fix the doc in the change that moved the file:\n${problems.join('\n')}`);
});
