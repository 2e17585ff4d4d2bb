/**
 * The chart documents itself from one source. README.md is what helm-docs (built from its Go
 * module) renders from README.md.gotmpl and the `# --` comments of values.yaml: the test renders
 * a copy and fails with the diff when the committed README differs. Every key values.yaml sets
 * is declared in values.schema.json, and every key the schema declares is in the README's values
 * table (itself or as part of a documented parent such as `resources`), so neither can drift from
 * the other (that the defaults satisfy the schema is `helm lint --strict` in chart.test.ts).
 * Every row of the table has a description.
 */
import { before, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadYaml } from '@kubernetes/client-node';
import { chartDir } from './support.ts';
import { toolsDir } from './tools.ts';

/** The arguments the README (values section) names for regenerating it. */
const HELM_DOCS_ARGS = ['--sort-values-order', 'file', '--log-level', 'warning'];

function renderReadme(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vo-helm-docs-'));
  try {
    cpSync(chartDir, join(dir, 'version-observer'), { recursive: true });
    const r = spawnSync(join(toolsDir(), 'helm-docs'), ['--chart-search-root', dir, ...HELM_DOCS_ARGS], { encoding: 'utf8' });
    assert.equal(r.status, 0, `helm-docs: ${r.stdout}${r.stderr}`);
    return readFileSync(join(dir, 'version-observer/README.md'), 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A line diff good enough to say what to change: the lines only one side has, numbered. */
function lineDiff(want: string, got: string): string {
  const [a, b] = [want.split('\n'), got.split('\n')];
  const out: string[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] === b[i]) continue;
    if (a[i] !== undefined) out.push(`${i + 1}- ${a[i]}`);
    if (b[i] !== undefined) out.push(`${i + 1}+ ${b[i]}`);
  }
  return out.slice(0, 40).join('\n');
}

let generated: string;
/** Keys the generated values table has a row for. */
let documented: string[];
before(() => {
  generated = renderReadme();
  documented = generated.split('\n').filter((l) => /^\| [\w.]+ \| \w+ \| /.test(l)).map((l) => l.split(' | ')[0]!.slice(2));
});

it('README.md is exactly what helm-docs generates from README.md.gotmpl and values.yaml', () => {
  const committed = readFileSync(join(chartDir, 'README.md'), 'utf8');
  assert.ok(committed === generated, `charts/version-observer/README.md is stale; run helm-docs (see its Values section).\n- generated, + committed:\n${lineDiff(generated, committed)}`);
});

it('every value in the generated table has a description', () => {
  const rows = generated.split('\n').filter((l) => /^\| [\w.]+ \| \w+ \| /.test(l));
  assert.ok(rows.length > 40, `values table found (${rows.length} rows)`);
  const undocumented = rows.filter((l) => /\|\s*\|$/.test(l)).map((l) => l.split(' | ')[0]!.slice(2));
  assert.deepEqual(undocumented, [], 'add a `# --` comment above these keys in values.yaml');
});

interface Schema { type?: string | string[]; properties?: Record<string, Schema>; additionalProperties?: boolean | Schema }

/** Key paths of the values the schema does not declare (descending where it has properties). */
function valuePaths(values: Record<string, unknown>, schema: Schema, prefix = ''): string[] {
  return Object.entries(values).flatMap(([key, value]) => {
    const sub = schema.properties?.[key];
    if (!sub) return schema.additionalProperties ? [] : [prefix + key];
    const isMap = value !== null && typeof value === 'object' && !Array.isArray(value);
    return isMap && sub.properties ? valuePaths(value as Record<string, unknown>, sub, `${prefix}${key}.`) : [];
  });
}

/** Leaf property paths the schema declares (objects with properties are descended into). */
function schemaLeaves(schema: Schema, prefix = ''): string[] {
  return Object.entries(schema.properties ?? {}).flatMap(([key, sub]) => (sub.properties && sub.additionalProperties === false ? schemaLeaves(sub, `${prefix}${key}.`) : [`${prefix}${key}`]));
}

it('values.yaml and values.schema.json declare the same keys', () => {
  const values = loadYaml<Record<string, unknown>>(readFileSync(join(chartDir, 'values.yaml'), 'utf8'));
  const schema = JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8')) as Schema;
  assert.deepEqual(valuePaths(values, schema), [], 'keys in values.yaml the schema does not declare');
  // `global` is Helm's own (parent charts pass it down); it has no default here.
  const covered = (p: string) => documented.some((d) => p === d || p.startsWith(`${d}.`));
  const missing = schemaLeaves(schema).filter((p) => p !== 'global' && !covered(p));
  assert.deepEqual(missing, [], 'keys the schema declares that values.yaml neither sets nor documents');
});

it('Chart.yaml carries the Artifact Hub annotations, its image naming the chart\'s own default', () => {
  const chart = loadYaml<{ appVersion: string; annotations: Record<string, string> }>(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8'));
  const values = loadYaml<{ image: { repository: string } }>(readFileSync(join(chartDir, 'values.yaml'), 'utf8'));
  const a = chart.annotations;
  assert.equal(a['artifacthub.io/license'], 'Apache-2.0');
  const links = loadYaml<Array<{ name: string; url: string }>>(a['artifacthub.io/links']!);
  assert.ok(links.some((l) => l.name === 'Source' && /^https:\/\/github\.com\//.test(l.url)));
  const images = loadYaml<Array<{ image: string; platforms: string[] }>>(a['artifacthub.io/images']!);
  assert.deepEqual(images.map((i) => i.image), [`${values.image.repository}:${chart.appVersion}`], 'the image the chart deploys by default');
  assert.deepEqual(images[0]!.platforms, ['linux/amd64', 'linux/arm64'], 'the platforms release.yml builds');
  const changes = loadYaml<Array<{ kind: string; description: string }>>(a['artifacthub.io/changes']!);
  assert.ok(changes.length > 0 && changes.every((c) => ['added', 'changed', 'deprecated', 'removed', 'fixed', 'security'].includes(c.kind) && c.description));
});
