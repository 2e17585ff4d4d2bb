/**
 * Counts and times every request the controller makes to the Kubernetes API — informer lists,
 * Events, the Lease, the signing-key Secret (all built by `makeApiClient`) and watches (which
 * client-node opens with its own fetch; the informer reports those through `apiObserverOf`).
 *
 * Invariants: the API clients are client-node's own, built from its public configuration
 * (createConfiguration with a timing `httpApi` around the default one), so requests, auth and
 * TLS are unchanged; only the User-Agent names us. Instrument the KubeConfig before any client
 * is made from it.
 */
import {
  createConfiguration,
  ServerConfiguration,
  setHeaderMiddleware,
  type HttpLibrary,
  type KubeConfig,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';
import { Observable } from '@kubernetes/client-node';
import { packageVersion } from '../platform/version.ts';

/** verb: GET, POST, PUT, PATCH, DELETE or WATCH; code: the HTTP status, or "error" when none came back. */
export type ApiObserver = (verb: string, code: string, seconds: number) => void;

const observers = new WeakMap<KubeConfig, ApiObserver>();

/** The observer of an instrumented KubeConfig (for the watches), if any. */
export function apiObserverOf(kc: KubeConfig): ApiObserver | undefined {
  return observers.get(kc);
}

/** The status code of a failed request, as client-node reports it (ApiException.code, the watch's statusCode). */
export function codeOfError(err: unknown): string {
  const e = err as { code?: unknown; statusCode?: unknown } | null;
  const status = typeof e?.statusCode === 'number' ? e.statusCode : typeof e?.code === 'number' ? e.code : undefined;
  return status === undefined ? 'error' : String(status);
}

function timed(inner: HttpLibrary, observe: ApiObserver): HttpLibrary {
  return {
    send(request: RequestContext): Observable<ResponseContext> {
      const verb = String(request.getHttpMethod());
      const t0 = performance.now();
      const sent = inner.send(request).toPromise();
      return new Observable(
        sent.then(
          (response) => {
            observe(verb, String(response.httpStatusCode), (performance.now() - t0) / 1000);
            return response;
          },
          (err: unknown) => {
            observe(verb, 'error', (performance.now() - t0) / 1000);
            throw err;
          },
        ),
      );
    },
  };
}

/** Makes every API client built from `kc` from now on report each request to `observe`. */
export function instrumentKubeConfig(kc: KubeConfig, observe: ApiObserver): void {
  observers.set(kc, observe);
  const userAgent = `version-observer/${packageVersion()}`;
  kc.makeApiClient = function makeApiClient<T>(apiClientType: new (config: ReturnType<typeof createConfiguration>) => T): T {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('No active cluster!');
    const config = createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: kc },
      middleware: [setHeaderMiddleware('User-Agent', userAgent)],
      httpApi: timed(createConfiguration().httpApi, observe),
    });
    return new apiClientType(config);
  } as KubeConfig['makeApiClient'];
}
