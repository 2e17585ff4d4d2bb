/**
 * The version of the package this code ships in. package.json sits two levels above this file
 * both in the source tree (src/platform) and in the image (dist/platform), so one relative URL
 * serves both; read once, on first use.
 */
import { readFileSync } from 'node:fs';

let cached: string | undefined;

export function packageVersion(): string {
  if (cached === undefined) {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    cached = typeof pkg.version === 'string' ? pkg.version : 'unknown';
  }
  return cached;
}
