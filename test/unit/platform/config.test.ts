/**
 * The settings reader every command uses: precedence, conversions and their one-line errors,
 * and the usage text, on a small table of plain values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { VoError } from '../../../src/core/errors.ts';
import { asksForHelp, formatDuration, LOG_LEVEL_SETTING, parseDuration, readSettings, usageText, type SettingTable } from '../../../src/platform/config.ts';

const TABLE = {
  name: { kind: 'text', flag: 'name', env: 'T_NAME', help: 'a name', default: 'anon' },
  color: { kind: 'text', flag: 'color', env: 'T_COLOR', help: 'a color', oneOf: ['red', 'blue'] },
  port: { kind: 'int', flag: 'port', env: 'T_PORT', help: 'a port', default: 80, min: 0, max: 65_535 },
  wait: { kind: 'duration', flag: 'wait', env: 'T_WAIT', help: 'a wait', default: 15_000 },
  pingMs: { kind: 'duration', bareMs: true, flag: 'ping-ms', env: 'T_PING_MS', help: 'a ping', default: 1000, min: 100, max: 60_000 },
  tags: { kind: 'list', flag: 'tags', env: 'T_TAGS', help: 'tags' },
  only: { kind: 'text', flag: 'only-flag', help: 'no env' },
  logLevel: LOG_LEVEL_SETTING,
} as const satisfies SettingTable;

const read = (argv: string[], env: Record<string, string | undefined> = {}) => readSettings(TABLE, argv, env).values;

/** A VoError VO_CONFIG_INVALID whose one-line message matches. */
const refuses = (argv: string[], env: Record<string, string | undefined>, message: RegExp): void =>
  assert.throws(() => read(argv, env), { name: VoError.name, code: 'VO_CONFIG_INVALID', message: new RegExp(`^[^\\n]*${message.source}[^\\n]*$`) });

test('Go durations', () => {
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('0'), 0);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration('2h'), 7_200_000);
  for (const bad of ['', '10', 's', '1x', '1s2', '-1s', '1 s']) assert.throws(() => parseDuration(bad), /is not a duration/, bad);
  assert.equal(formatDuration(0), '0');
  assert.equal(formatDuration(90_000), '1m30s');
  assert.equal(formatDuration(3_600_250), '1h250ms');
  fc.assert(fc.property(fc.nat({ max: 1e12 }), (ms) => parseDuration(formatDuration(ms)) === ms));
});

test('defaults when nothing is given; a list is empty, a setting without default undefined', () => {
  assert.deepEqual({ ...read([]) }, { name: 'anon', color: undefined, port: 80, wait: 15_000, pingMs: 1000, tags: [], only: undefined, logLevel: 'info' });
});

test('flag > env > default; both flag forms; values trimmed', () => {
  const env = { T_NAME: 'from-env', T_PORT: '81', T_WAIT: '1m', T_TAGS: ' a, ,b ' };
  assert.equal(read([], env).name, 'from-env');
  assert.equal(read(['--name', 'from-flag'], env).name, 'from-flag');
  assert.equal(read(['--name= spaced '], env).name, 'spaced');
  assert.equal(read(['--port=8080'], env).port, 8080);
  assert.equal(read([], env).wait, 60_000);
  assert.deepEqual(read([], env).tags, ['a', 'b']);
  assert.equal(read(['--only-flag', 'x']).only, 'x');
});

test('an empty value counts as unset; an empty flag does not fall back to the env', () => {
  assert.equal(read([], { T_NAME: '   ' }).name, 'anon');
  assert.equal(read(['--name='], { T_NAME: 'from-env' }).name, 'anon');
  assert.equal(read(['--port', ''], { T_PORT: '81' }).port, 80);
});

test('bareMs durations take a plain integer as ms or a Go duration, within bounds', () => {
  assert.equal(read([], { T_PING_MS: '250' }).pingMs, 250);
  assert.equal(read([], { T_PING_MS: '10s' }).pingMs, 10_000);
  assert.equal(read(['--ping-ms=1m'], {}).pingMs, 60_000);
  refuses([], { T_PING_MS: '99' }, /^invalid configuration: T_PING_MS must be between 100ms and 1m, got "99"$/);
  refuses([], { T_PING_MS: 'soon' }, /T_PING_MS must be a duration like 500ms, 10s or 1m30s or whole milliseconds, got "soon"/);
  refuses([], { T_WAIT: '10' }, /T_WAIT must be a duration like 500ms, 10s or 1m30s, got "10"/);
});

test('errors name the flag or env variable that supplied the value', () => {
  refuses([], { T_PORT: '70000' }, /T_PORT must be an integer in \[0, 65535\], got "70000"/);
  refuses(['--port', '70000'], { T_PORT: '1' }, /--port must be an integer/);
  for (const bad of ['1e3', '0x10', '-1', '8.0', '+5']) refuses([], { T_PORT: bad }, /T_PORT must be an integer/);
  refuses([], { T_COLOR: 'green' }, /T_COLOR must be one of red, blue, got "green"/);
  refuses(['--log-level', 'loud'], {}, /--log-level must be one of fatal, error/);
  refuses(['--nope', '1'], {}, /unknown flag --nope \(see --help\)/);
  refuses(['-n'], {}, /unknown flag -n/);
  refuses(['--name'], {}, /--name needs a value/);
  refuses(['stray'], {}, /unexpected argument "stray"/);
});

test('positional arguments only where the command takes them', () => {
  const r = readSettings(TABLE, ['http://x/', '--port', '1'], {}, { positionals: 1 });
  assert.deepEqual(r.positionals, ['http://x/']);
  assert.equal(r.values.port, 1);
  assert.throws(() => readSettings(TABLE, ['a', 'b'], {}, { positionals: 1 }), /unexpected argument "b"/);
});

test('help: asked for anywhere; usage lists every flag with its default and env', () => {
  assert.ok(asksForHelp(['--port', '1', '--help']));
  assert.ok(asksForHelp(['-h']));
  assert.ok(!asksForHelp(['--port', '1']));
  const text = usageText('demo', TABLE);
  assert.match(text, /^usage: version-observer demo \[flags\]/);
  for (const s of Object.values(TABLE)) assert.match(text, new RegExp(`--${s.flag}\\s`));
  assert.match(text, /--wait\s+a wait \(default 15s\)\s+\[\$T_WAIT\]/);
  assert.match(text, /--port\s+a port \(default 80\)\s+\[\$T_PORT\]/);
  assert.match(text, /--only-flag\s+no env$/m);
});
