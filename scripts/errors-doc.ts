/** Prints the docs/errors.md table rows for src/core/errors.ts (paste them into the doc). */
import { ERRORS } from '../src/core/errors.ts';
for (const [code, spec] of Object.entries(ERRORS) as Array<[string, { message: string; status?: number; close?: number }]>) {
  const mapsTo = spec.status !== undefined ? `HTTP ${spec.status}` : spec.close !== undefined ? `close ${spec.close}` : '—';
  console.log(`| \`${code}\` | ${mapsTo} | ${spec.message} |`);
}
