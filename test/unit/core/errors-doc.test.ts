import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ERRORS } from '../../../src/core/errors.ts';

// docs/errors.md holds one table row per code: | `VO_X` | status or close | meaning |
const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
const rows = [...doc.matchAll(/^\|\s*`(VO_[A-Z0-9_]+)`\s*\|\s*([^|]*)\|/gm)].map((m) => ({ code: m[1]!, mapsTo: m[2]!.trim() }));

test('every error code is documented in docs/errors.md, once', () => {
  const documented = rows.map((r) => r.code);
  assert.deepEqual([...new Set(documented)].sort(), documented.slice().sort(), 'a code is documented twice');
  assert.deepEqual(documented.slice().sort(), Object.keys(ERRORS).sort());
});

test('the documented HTTP status / close code matches the table', () => {
  for (const { code, mapsTo } of rows) {
    const spec = ERRORS[code as keyof typeof ERRORS] as { status?: number; close?: number };
    const expected = spec.status !== undefined ? `HTTP ${spec.status}` : spec.close !== undefined ? `close ${spec.close}` : '—';
    assert.equal(mapsTo, expected, `${code} in docs/errors.md`);
  }
});

test('no two codes share a message', () => {
  const messages = Object.values(ERRORS).map((e) => e.message);
  assert.equal(new Set(messages).size, messages.length);
});
