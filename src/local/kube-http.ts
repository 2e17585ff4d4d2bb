/**
 * A minimal JSON client for the Kubernetes API, used by the process kubelet and the service
 * proxy on their hot paths (thousands of status writes in benchmarks). It takes the TLS and
 * auth settings from a client-node KubeConfig, keeps connections alive, and returns parsed
 * JSON as-is (no client-side model conversion, so timestamps stay RFC 3339 strings, as they
 * arrive on watches).
 *
 * Invariants: every non-2xx answer rejects with a KubeApiError carrying the HTTP status and
 * the API's Status reason; nothing here retries (callers decide).
 */
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export class KubeApiError extends Error {
  /** HTTP status code (0 when the request never got an answer). */
  readonly status: number;
  /** `reason` of the API's Status object, e.g. "Conflict", "NotFound", "AlreadyExists". */
  readonly reason: string;
  constructor(status: number, reason: string, message: string) {
    super(message);
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = reason;
  }
}

export interface KubeHttp {
  request<T = unknown>(method: string, path: string, body?: unknown, contentType?: string): Promise<T>;
  /** Closes idle keep-alive sockets. */
  close(): void;
}

export const MERGE_PATCH = 'application/merge-patch+json';

export async function createKubeHttp(kc: KubeConfig, maxSockets = 16): Promise<KubeHttp> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const base = new URL(cluster.server);
  const opts: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  const secure = base.protocol === 'https:';
  const agent = secure
    ? new https.Agent({
        keepAlive: true,
        maxSockets,
        ca: opts.ca,
        cert: opts.cert,
        key: opts.key,
        ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}),
        ...(opts.servername ? { servername: opts.servername } : {}),
      })
    : new http.Agent({ keepAlive: true, maxSockets });
  const baseHeaders: Record<string, string> = {};
  for (const [k, v] of Object.entries((opts.headers ?? {}) as Record<string, unknown>)) {
    if (typeof v === 'string') baseHeaders[k] = v;
  }
  const basePath = base.pathname.replace(/\/$/, '');

  function request<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const headers: Record<string, string | number> = { ...baseHeaders, accept: 'application/json' };
      if (payload) {
        headers['content-type'] = contentType;
        headers['content-length'] = payload.length;
      }
      const reqOpts: https.RequestOptions = {
        method,
        host: base.hostname.replace(/^\[|\]$/g, ''),
        port: base.port || (secure ? 443 : 80),
        path: basePath + path,
        headers,
        agent,
        ...(opts.auth ? { auth: opts.auth } : {}),
      };
      const req = (secure ? https : http).request(reqOpts, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          let parsed: unknown;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            parsed = undefined;
          }
          if (status >= 200 && status < 300) {
            resolve(parsed as T);
            return;
          }
          const st = (parsed ?? {}) as { reason?: string; message?: string };
          reject(new KubeApiError(status, st.reason ?? '', `${method} ${path}: ${status} ${st.message ?? text.slice(0, 200)}`));
        });
      });
      req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: timed out after 30 s`)));
      req.on('error', (err) => reject(err instanceof KubeApiError ? err : new KubeApiError(0, 'NetworkError', `${method} ${path}: ${err.message}`)));
      req.end(payload);
    });
  }

  return {
    request,
    close() {
      agent.destroy();
    },
  };
}

export function isStatus(err: unknown, status: number): boolean {
  return err instanceof KubeApiError && err.status === status;
}

/**
 * A timestamp in the API's wire format (RFC 3339, seconds). client-node's models type
 * timestamps as Date, but this client sends and receives plain JSON, so they are strings.
 */
export function wireTime(d: Date = new Date()): Date {
  return rfc3339(d) as unknown as Date;
}

/** A timestamp as the API writes it (RFC 3339, seconds), as a string. */
export function rfc3339(d: Date = new Date()): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z');
}
