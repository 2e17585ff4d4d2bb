import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { createLogger, jsonLineOptions } from '../../../src/platform/logger.ts';

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function sink(): { stream: Writable; lines: () => Array<Record<string, unknown>> } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString('utf8');
      done();
    },
  });
  return { stream, lines: () => text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

function assertLine(line: Record<string, unknown>, level: string): void {
  assert.equal(line.level, level, JSON.stringify(line));
  assert.equal(typeof line.time, 'string', JSON.stringify(line));
  assert.match(line.time as string, ISO_UTC);
  assert.ok(Math.abs(Date.parse(line.time as string) - Date.now()) < 60_000, 'the time is now, not an epoch number');
}

test('createLogger: every level is a string name, every time ISO 8601 UTC; bindings and children keep both', () => {
  const out = sink();
  const log = createLogger({ level: 'debug', base: { component: 'controller' } }, out.stream);
  log.debug({ a: 1 }, 'd');
  log.info({}, 'i');
  log.warn({}, 'w');
  log.child({ app: 'shop/web' }).error({ err: 'x' }, 'e');
  const lines = out.lines();
  assert.deepEqual(lines.map((l) => l.msg), ['d', 'i', 'w', 'e']);
  for (const [i, level] of ['debug', 'info', 'warn', 'error'].entries()) assertLine(lines[i]!, level);
  assert.equal(lines[3]!.component, 'controller');
  assert.equal(lines[3]!.app, 'shop/web');
});

test("fastify's logger built from jsonLineOptions writes the same shape (the sidecar's and its request lines)", async () => {
  const out = sink();
  const app = Fastify({ logger: { ...jsonLineOptions({ base: { component: 'sidecar' } }), stream: out.stream } });
  app.get('/x', () => ({ ok: true }));
  await app.inject({ method: 'GET', url: '/x' });
  app.log.warn({}, 'own line');
  await app.close();
  const lines = out.lines();
  assert.ok(lines.length >= 3, 'request, response and own lines');
  for (const line of lines) {
    assertLine(line, line.msg === 'own line' ? 'warn' : 'info');
    assert.equal(line.component, 'sidecar');
  }
});
