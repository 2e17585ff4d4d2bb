import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatLine, lineLogger, recordLogger } from '../../../src/local/log.ts';
import type { LogRecord } from '../../../src/local/log.ts';
import { silentLogger } from '../../../src/platform/logger.ts';

test('records carry bindings, then fields, then level and message; debug is dropped at info', () => {
  const records: LogRecord[] = [];
  const log = recordLogger((r) => records.push(r)).child({ component: 'kubelet' }).child({ pod: 'default/web' });
  log.debug({ x: 1 }, 'hidden');
  log.info({ container: 'app', pid: 42 }, 'started');
  log.warn({ pod: 'other/p' }, 'override');
  assert.deepEqual(records, [
    { component: 'kubelet', pod: 'default/web', container: 'app', pid: 42, level: 'info', msg: 'started' },
    { component: 'kubelet', pod: 'other/p', level: 'warn', msg: 'override' },
  ]);
});

test('a debug-level sink keeps debug records', () => {
  const records: LogRecord[] = [];
  recordLogger((r) => records.push(r), { level: 'debug' }).debug({}, 'seen');
  assert.equal(records.length, 1);
});

test('lines read as component: message key=value, quoting what needs it', () => {
  assert.equal(
    formatLine({ level: 'warn', msg: 'start failed; retrying', component: 'kubelet', pod: 'default/web', message: 'exec "x": not found', delayMs: 1000, gone: undefined }),
    'kubelet: start failed; retrying pod=default/web message="exec \\"x\\": not found" delayMs=1000',
  );
  assert.equal(formatLine({ level: 'info', msg: 'cluster ready', ok: true, list: [1, 2], err: new Error('bad thing') }), 'cluster ready ok=true list=[1,2] err="bad thing"');
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  assert.equal(formatLine({ level: 'info', msg: 'm', circular }), 'm circular=?');
});
