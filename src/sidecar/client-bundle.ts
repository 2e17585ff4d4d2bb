/**
 * The browser client as the sidecar serves it (`GET /version/client.js`): read once at start
 * from `dist/client/version-observer.js` (built by `node scripts/build.ts`), with a content-hash
 * ETag and a gzip copy made once. The path resolves the same from `src/sidecar/` and from the
 * compiled `dist/sidecar/`.
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

export interface ClientBundle {
  readonly body: Buffer;
  readonly gzip: Buffer;
  /** first 16 hex chars of sha256(body) */
  readonly hash: string;
  readonly etag: string;
}

export const DEFAULT_BUNDLE_PATH = fileURLToPath(new URL('../../dist/client/version-observer.js', import.meta.url));

/** Returns null when the file is missing (the route then answers 503 and says how to build it). */
export function loadClientBundle(path: string = DEFAULT_BUNDLE_PATH): ClientBundle | null {
  let body: Buffer;
  try {
    body = readFileSync(path);
  } catch {
    return null;
  }
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 16);
  return { body, gzip: gzipSync(body, { level: 9 }), hash, etag: `"${hash}"` };
}
