/**
 * No tracked doc shows or links a file git ignores: such a file exists only on the machine that
 * generated it (test-results/, dist/, …), so a reader of the repository finds a broken picture
 * or a dead link. Checked: every Markdown file `git ls-files` lists; in it, every link or image
 * target (`[text](target)`, `![alt](target)`, reference definitions `[id]: target`, and HTML
 * `src=`/`href=`) that names a path in the repository (no scheme, not only an #anchor).
 * `git check-ignore` decides, so the rules are exactly .gitignore's. Naming a generated file in
 * prose (in backticks) is fine: it tells the reader how to make it, it does not show it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));

interface Reference {
  file: string;
  line: number;
  target: string;
  /** The target as a path from the repository root. */
  path: string;
}

const LINK = /!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g;
const DEFINITION = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$/g;
const HTML = /\b(?:src|href)\s*=\s*["']([^"']+)["']/g;

/** Link and image targets in one Markdown text that point into the repository. */
function repositoryReferences(file: string, text: string): Reference[] {
  const refs: Reference[] = [];
  let fenced = false;
  text.split('\n').forEach((line, i) => {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    if (fenced) return;
    for (const re of [LINK, DEFINITION, HTML]) {
      for (const m of line.matchAll(re)) {
        const target = m[1]!;
        if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#') || target.startsWith('//')) continue;
        const bare = decodeURIComponent(target.replace(/[#?].*$/, ''));
        if (!bare) continue;
        const path = posix.normalize(bare.startsWith('/') ? bare.slice(1) : posix.join(posix.dirname(file), bare));
        // Paths that climb out of the repository are outside-references.test.ts's concern.
        if (path.startsWith('..')) continue;
        refs.push({ file, line: i + 1, target, path });
      }
    }
  });
  return refs;
}

/** The subset of `paths` git ignores (tracked files are never ignored). */
function ignoredPaths(paths: string[]): Set<string> {
  if (paths.length === 0) return new Set();
  const r = spawnSync('git', ['check-ignore', '--stdin', '-z'], { cwd: root, input: paths.join('\0') + '\0', encoding: 'utf8' });
  // 0: some ignored, 1: none ignored, anything else: git failed.
  assert.ok(r.status === 0 || r.status === 1, `git check-ignore exited ${r.status}: ${r.stderr}`);
  return new Set(r.stdout.split('\0').filter(Boolean));
}

function ignoredReferences(refs: Reference[]): string[] {
  const ignored = ignoredPaths([...new Set(refs.map((r) => r.path))]);
  return refs.filter((r) => ignored.has(r.path)).map((r) => `${r.file}:${r.line}: ${r.target} (git ignores ${r.path})`);
}

test('the check finds links and images of ignored files, and only those', () => {
  const text = [
    '![shot](../test-results/banner.png)',
    'See [the bundle](../dist/client/version-observer.js "built") and [the guide](install.md#upgrade).',
    '[logs]: ../server.log',
    '<img src="../node_modules/x/logo.svg" alt="">',
    '[site](https://example.com/dist/x.png) [top](#top) `test-results/banner.png`',
    '```md',
    '![in a code block](../test-results/fenced.png)',
    '```',
  ].join('\n');
  const refs = repositoryReferences('docs/example.md', text);
  assert.deepEqual(refs.map((r) => r.path), ['test-results/banner.png', 'dist/client/version-observer.js', 'docs/install.md', 'server.log', 'node_modules/x/logo.svg']);
  assert.deepEqual(ignoredReferences(refs), [
    'docs/example.md:1: ../test-results/banner.png (git ignores test-results/banner.png)',
    'docs/example.md:2: ../dist/client/version-observer.js (git ignores dist/client/version-observer.js)',
    'docs/example.md:3: ../server.log (git ignores server.log)',
    'docs/example.md:4: ../node_modules/x/logo.svg (git ignores node_modules/x/logo.svg)',
  ]);
});

test('no tracked Markdown file links or shows a file git ignores', () => {
  const docs = execFileSync('git', ['ls-files', '-z', '--', '*.md'], { cwd: root, encoding: 'utf8' }).split('\0').filter(Boolean);
  assert.ok(docs.includes('docs/client.md') && docs.includes('README.md'), 'the docs are found');
  const refs = docs.flatMap((file) => repositoryReferences(file, readFileSync(`${root}${file}`, 'utf8')));
  assert.ok(refs.length > 10, `links found (${refs.length})`);
  assert.deepEqual(ignoredReferences(refs), []);
});
