/**
 * Writes the sidecar block that app teams paste when injection is off — in the chart NOTES and in
 * docs/install.md — from the builder the admission webhook uses (src/core/sidecar-container.ts),
 * so the three cannot drift. `node scripts/sidecar-snippet.ts --write` rewrites both blocks;
 * without `--write` it exits 1 when a committed block differs (test/integration/packaging/
 * sidecar-snippet.test.ts runs the same check, and also parses the rendered NOTES).
 *
 * Invariants:
 * - Nothing in a block is typed by hand: every field is the builder's output. The only inputs are
 *   the image and version label (Helm actions in NOTES, the chart's defaults in the docs) and the
 *   trust placeholders below, which the surrounding prose tells app teams how to fill.
 * - A block is delimited by BEGIN/END marker lines; only the lines between them are rewritten.
 *   In NOTES they are template comments (BEGIN prints the blank line before the block, END trims).
 * - The YAML is written by a small emitter in the house style (block mappings; flow style for the
 *   short flat fields a person would write on one line). Its output reads back as the builder's
 *   object: the test parses it with a real YAML parser and compares field by field.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadYaml } from '@kubernetes/client-node';
import { sidecarContainer, type SidecarSpec } from '../src/core/sidecar-container.ts';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
export const NOTES_PATH = 'charts/version-observer/templates/NOTES.txt';
export const DOCS_PATH = 'docs/install.md';
export const REGENERATE = 'node scripts/sidecar-snippet.ts --write';

/**
 * The trust material a person pins by hand (the injector pins the real values). The prose after
 * each block says where to read them; these are the only strings of a block the reader replaces.
 */
export const TRUST_PLACEHOLDERS = {
  publicKeys: ['<publicKeys from the trust ConfigMap>'],
  installation: '<installation from the trust ConfigMap>',
} as const satisfies Pick<SidecarSpec, 'publicKeys' | 'installation'>;

/** Both blocks sit where a pod template's `spec:` fields go (6 spaces under `template:`). */
const INDENT = '      ';

type Scalar = string | number | boolean;
type Value = Scalar | null | undefined | Value[] | { [key: string]: Value };

/** Keys whose value is written on one line, e.g. `args: ["sidecar"]`, `requests: { cpu: 10m, … }`. */
const FLOW_KEYS = new Set(['args', 'requests', 'limits', 'capabilities', 'seccompProfile']);
/** Sequences whose items are written on one line each, e.g. `- { name: vo-public, … }`. */
const FLOW_ITEMS = new Set(['ports']);

function isScalar(v: Value): v is Scalar {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

/**
 * A string is written plain when YAML reads it back as the same string and it has no character
 * that matters in that context; otherwise double-quoted (JSON strings are valid YAML). A string
 * holding a Helm action is written as is: the chart replaces it, and the test parses the result.
 */
export function yamlScalar(v: Scalar, context: 'block' | 'flow'): string {
  if (typeof v !== 'string') return String(v);
  if (v.includes('{{')) return v;
  // No spaces, so never `: ` or ` #`; flow context also forbids `[ ] , :`.
  const safe = context === 'block' ? /^[A-Za-z0-9][A-Za-z0-9._/:@'[\]-]*$/ : /^[A-Za-z0-9][A-Za-z0-9._/-]*$/;
  return safe.test(v) && loadYaml<{ v: unknown }>(`v: ${v}`).v === v ? v : JSON.stringify(v);
}

function flow(v: Value): string {
  if (isScalar(v)) return yamlScalar(v, 'flow');
  // Sequences of strings as JSON arrays (`["ALL"]`), the way Kubernetes docs write args.
  if (Array.isArray(v)) return `[${v.map((x) => (isScalar(x) ? JSON.stringify(x) : flow(x))).join(', ')}]`;
  if (v === null || v === undefined) throw new Error('no null or undefined in a flow value');
  return `{ ${Object.entries(v)
    .filter(([, x]) => x !== undefined)
    .map(([k, x]) => `${k}: ${flow(x)}`)
    .join(', ')} }`;
}

function mapping(obj: { [key: string]: Value }, indent: string): string[] {
  const lines: string[] = [];
  for (const [key, v] of Object.entries(obj)) {
    if (v === undefined) continue;
    if (v === null) throw new Error(`${key}: null is not written`);
    if (isScalar(v)) lines.push(`${indent}${key}: ${yamlScalar(v, 'block')}`);
    else if (FLOW_KEYS.has(key)) lines.push(`${indent}${key}: ${flow(v)}`);
    else if (Array.isArray(v)) lines.push(`${indent}${key}:`, ...sequence(v, `${indent}  `, key));
    else lines.push(`${indent}${key}:`, ...mapping(v, `${indent}  `));
  }
  return lines;
}

function sequence(items: Value[], indent: string, key: string): string[] {
  return items.flatMap((item) => {
    if (isScalar(item) || FLOW_ITEMS.has(key)) return [`${indent}- ${flow(item)}`];
    if (item === null || item === undefined || Array.isArray(item)) throw new Error(`${key}: only mappings and scalars as items`);
    const [first = '', ...rest] = mapping(item, `${indent}  `);
    return [`${indent}- ${first.slice(indent.length + 2)}`, ...rest];
  });
}

/** YAML text for an object, one line per entry, each prefixed by `indent`. */
export function toYaml(obj: { [key: string]: Value }, indent = ''): string {
  return mapping(obj, indent).join('\n');
}

/** The builder's container for a block: the given image and version label, placeholder trust. */
export function snippetContainer(image: string, versionLabel?: string): object {
  return sidecarContainer({ image, versionLabel, ...TRUST_PLACEHOLDERS, publicKeys: [...TRUST_PLACEHOLDERS.publicKeys] });
}

function initContainersYaml(container: object): string {
  // JSON round trip: a plain data object (no undefined fields, no class instances).
  return toYaml({ initContainers: [JSON.parse(JSON.stringify(container)) as Value] }, INDENT);
}

/** The NOTES block: Helm fills the image and version label from the release's values. */
export function notesBlock(): string {
  return initContainersYaml(snippetContainer('{{ include "version-observer.sidecarImage" . }}', '{{ .Values.controller.versionLabel }}'));
}

/** The chart's default image, as `version-observer.image` renders it with default values. */
export function chartDefaultImage(): string {
  const values = loadYaml<{ image: { repository: string; tag: string; digest: string } }>(readFileSync(`${repoRoot}charts/version-observer/values.yaml`, 'utf8'));
  const chart = loadYaml<{ appVersion: string }>(readFileSync(`${repoRoot}charts/version-observer/Chart.yaml`, 'utf8'));
  const { repository, tag, digest } = values.image;
  return digest ? `${repository}@${digest}` : `${repository}:${tag || chart.appVersion}`;
}

/** The docs block: the chart's default image and the builder's default version label. */
export function docsBlock(): string {
  return ['```yaml', initContainersYaml(snippetContainer(chartDefaultImage())), `${INDENT}containers:`, `${INDENT}  - name: app`, `${INDENT}    # … your container, unchanged …`, '```'].join('\n');
}

export interface Region {
  path: string;
  begin: string;
  end: string;
  generate: () => string;
}

export const REGIONS: readonly Region[] = [
  { path: NOTES_PATH, begin: '{{/* BEGIN generated sidecar block', end: '{{- /* END generated sidecar block', generate: notesBlock },
  { path: DOCS_PATH, begin: '<!-- BEGIN generated sidecar block', end: '<!-- END generated sidecar block', generate: docsBlock },
];

function lineIndex(lines: string[], prefix: string, path: string): number {
  const found = lines.flatMap((l, i) => (l.startsWith(prefix) ? [i] : []));
  if (found.length !== 1) throw new Error(`${path}: expected one line starting with ${prefix}, found ${found.length}`);
  return found[0]!;
}

/** The text between a region's marker lines. */
export function committedBlock(text: string, region: Region): string {
  const lines = text.split('\n');
  return lines.slice(lineIndex(lines, region.begin, region.path) + 1, lineIndex(lines, region.end, region.path)).join('\n');
}

/** The file's text with the region's block replaced. */
export function withBlock(text: string, region: Region, block: string): string {
  const lines = text.split('\n');
  const begin = lineIndex(lines, region.begin, region.path);
  const end = lineIndex(lines, region.end, region.path);
  if (end < begin) throw new Error(`${region.path}: END marker before BEGIN`);
  return [...lines.slice(0, begin + 1), block, ...lines.slice(end)].join('\n');
}

function main(write: boolean): number {
  let stale = 0;
  for (const region of REGIONS) {
    const file = `${repoRoot}${region.path}`;
    const text = readFileSync(file, 'utf8');
    const next = withBlock(text, region, region.generate());
    if (next === text) continue;
    if (write) {
      writeFileSync(file, next);
      console.log(`wrote ${region.path}`);
    } else {
      stale++;
      console.error(`${region.path}: the sidecar block differs from src/core/sidecar-container.ts; run ${REGENERATE}`);
    }
  }
  return stale === 0 ? 0 : 1;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = main(process.argv.includes('--write'));
