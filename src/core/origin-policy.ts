/**
 * Which browser pages may open a socket, pure.
 *
 * Invariants:
 * - No Origin header: not a browser (browsers always send one on a WebSocket handshake), allowed;
 *   Origin is a browser's statement, not an authentication, so refusing such clients buys nothing.
 * - Same origin is always allowed: the Origin's host[:port] equals the request's Host (case
 *   folded, the scheme's default port dropped on both sides).
 * - Otherwise allowed only when the policy is `any` or lists the origin exactly (scheme, host and
 *   port: `https://shop.example.com` does not admit `http://shop.example.com`).
 * - `Origin: null` (sandboxed frames, file:) and anything unparsable match nothing but `any`.
 */

export interface OriginPolicy {
  /** `*` was configured */
  readonly any: boolean;
  /** normalized origins (`new URL(x).origin`) allowed besides the same origin */
  readonly origins: readonly string[];
}

export const SAME_ORIGIN_ONLY: OriginPolicy = Object.freeze({ any: false, origins: Object.freeze([]) });

const DEFAULT_PORT: Record<string, string> = { 'http:': '80', 'https:': '443', 'ws:': '80', 'wss:': '443' };

/** `host` without the default port of `protocol`, lower case. */
function hostWithoutDefaultPort(host: string, protocol: string): string {
  const h = host.trim().toLowerCase();
  const port = DEFAULT_PORT[protocol];
  return port !== undefined && h.endsWith(`:${port}`) ? h.slice(0, -(port.length + 1)) : h;
}

export function originAllowed(origin: string | undefined, host: string | undefined, policy: OriginPolicy): boolean {
  if (origin === undefined) return true;
  if (policy.any) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.origin === 'null') return false;
  if (host !== undefined && hostWithoutDefaultPort(url.host, url.protocol) === hostWithoutDefaultPort(host, url.protocol)) return true;
  return policy.origins.includes(url.origin);
}
