import assert from 'node:assert/strict';
import test from 'node:test';
import { OPTIONS } from '../../../src/sidecar/config.ts';
import { SUPERVISOR_SETTINGS } from '../../../src/sidecar/supervisor-protocol.ts';
import { settingText } from '../../../src/sidecar/supervisor.ts';

test("the supervisor's own settings are the table's rows (names and defaults)", () => {
  for (const k of ['shutdownGrace', 'logLevel'] as const) {
    assert.deepEqual(SUPERVISOR_SETTINGS[k], { flag: OPTIONS[k].flag, env: OPTIONS[k].env, default: OPTIONS[k].default });
  }
});

test('settingText: flag (both spellings) over env, empty means unset', () => {
  const row = SUPERVISOR_SETTINGS.shutdownGrace;
  assert.equal(settingText([], { [row.env]: '3s' }, row), '3s');
  assert.equal(settingText(['--shutdown-grace-ms', '4000'], { [row.env]: '3s' }, row), '4000');
  assert.equal(settingText(['--app=x', '--shutdown-grace-ms=5s'], {}, row), '5s');
  assert.equal(settingText([], { [row.env]: '  ' }, row), undefined);
  assert.equal(settingText([], {}, row), undefined);
});
