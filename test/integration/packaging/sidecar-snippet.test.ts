/**
 * The sidecar block app teams paste when injection is off — printed by the chart NOTES and shown
 * in docs/install.md — is the container the webhook injects (src/core/sidecar-container.ts):
 * - the committed blocks are what scripts/sidecar-snippet.ts writes from the builder;
 * - the NOTES of a real `helm install --dry-run` (the local API server, as dry-run.test.ts does),
 *   parsed as YAML, equal the builder's container field by field, for default and non-default
 *   image and version label;
 * - the docs block, parsed, equals the builder's container with the chart's default image.
 * Only the documented trust placeholders stand in for values; they are the builder's input too.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadYaml } from '@kubernetes/client-node';
import { startCluster, type Cluster } from '../../../src/local/cluster.ts';
import { silentLogger } from '../../../src/platform/logger.ts';
import { chartDir, helmPath, repoRoot, runOk } from './support.ts';
import { chartDefaultImage, committedBlock, DOCS_PATH, REGENERATE, REGIONS, snippetContainer, TRUST_PLACEHOLDERS, toYaml, yamlScalar } from '../../../scripts/sidecar-snippet.ts';

/** Plain data: what a YAML parser gives back for the builder's object. */
function plain(o: object): unknown {
  return JSON.parse(JSON.stringify(o));
}

/** The one container under `initContainers:` in a YAML text (the lines from that key on, at its indent or deeper). */
function initContainerIn(text: string): unknown {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trimStart() === 'initContainers:');
  assert.ok(start >= 0, `no initContainers: in\n${text}`);
  const indent = lines[start]!.length - lines[start]!.trimStart().length;
  const block: string[] = [lines[start]!];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() !== '' && line.length - line.trimStart().length <= indent) break;
    block.push(line);
  }
  const parsed = loadYaml<{ initContainers: unknown[] }>(block.map((l) => l.slice(indent)).join('\n'));
  assert.equal(parsed.initContainers.length, 1, block.join('\n'));
  return parsed.initContainers[0];
}

it('the committed NOTES and docs blocks are what the script writes from the builder', () => {
  for (const region of REGIONS) {
    const committed = committedBlock(readFileSync(`${repoRoot}${region.path}`, 'utf8'), region);
    assert.equal(committed, region.generate(), `${region.path}: the sidecar block differs from src/core/sidecar-container.ts; run ${REGENERATE}`);
  }
});

it('the emitter writes strings YAML reads back unchanged', () => {
  const tricky = ['true', 'null', '8787', '1e3', '--max-semi-space-size=1', 'a: b', 'x #y', '<public key(s): see below>', "metadata.labels['a.b/c']", 'reg.example:5000/vo@sha256:ab', '', ' lead', '[x]', '{y}', 'yes', '~'];
  const obj = { s: tricky, m: Object.fromEntries(tricky.map((v, i) => [`k${i}`, v])), args: tricky, limits: { a: 'x, y', b: '8787' } };
  assert.deepEqual(loadYaml(toYaml(obj)), obj, toYaml(obj));
  assert.equal(yamlScalar('10m', 'flow'), '10m');
  assert.equal(yamlScalar('8787', 'block'), '"8787"');
});

describe('rendered NOTES (injection off) and docs/install.md', () => {
  let cluster: Cluster;
  before(async () => {
    cluster = await startCluster({ kubelet: false, logger: silentLogger });
  });
  after(async () => {
    await cluster?.stop();
  });

  async function notesOf(set: string[]): Promise<string> {
    const helm = await helmPath();
    const r = runOk(helm, ['install', 'vo', chartDir, '--dry-run=server', '--namespace', 'version-observer', '--kubeconfig', cluster.kubeconfigPath, '--set', 'injection.enabled=false', ...set.flatMap((s) => ['--set', s])]);
    return r.stdout.slice(r.stdout.indexOf('NOTES:'));
  }

  it('default values: the builder container with the chart default image (as values.yaml and Chart.yaml give it) and version label', async () => {
    const notes = await notesOf([]);
    assert.deepEqual(initContainerIn(notes), plain(snippetContainer(chartDefaultImage())), notes);
  });

  it('another image, sidecar image and version label reach the block', async () => {
    const repoTag = await notesOf(['image.repository=registry.example/vo', 'image.tag=9.9.9', 'controller.versionLabel=example.com/release']);
    assert.deepEqual(initContainerIn(repoTag), plain(snippetContainer('registry.example/vo:9.9.9', 'example.com/release')), repoTag);
    const sidecarImage = await notesOf(['injection.sidecarImage=registry.example:5000/vo-sidecar@sha256:0123456789abcdef']);
    assert.deepEqual(initContainerIn(sidecarImage), plain(snippetContainer('registry.example:5000/vo-sidecar@sha256:0123456789abcdef')), sidecarImage);
  });

  it('the trust placeholders are the only values a reader replaces, and the prose says how', async () => {
    const notes = await notesOf([]);
    for (const placeholder of [...TRUST_PLACEHOLDERS.publicKeys, TRUST_PLACEHOLDERS.installation]) assert.ok(notes.includes(`"${placeholder}"`), placeholder);
    assert.match(notes, /The values to pin .*\n.*get configmap version-observer-trust -o jsonpath=/, 'the prose names the command that prints the values to pin');
    assert.doesNotMatch(notes, /\{\{|\}\}/, 'every Helm action rendered');
  });

  it('docs/install.md: the fenced block is the builder container with the chart default image', async () => {
    const docs = readFileSync(`${repoRoot}${DOCS_PATH}`, 'utf8');
    const region = REGIONS.find((r) => r.path === DOCS_PATH)!;
    const fenced = committedBlock(docs, region).replace(/^```yaml\n/, '').replace(/\n```$/, '');
    const documented = initContainerIn(fenced);
    assert.deepEqual(documented, plain(snippetContainer(chartDefaultImage())));
    // and what the NOTES of a default install print
    assert.deepEqual(documented, initContainerIn(await notesOf([])));
  });
});
