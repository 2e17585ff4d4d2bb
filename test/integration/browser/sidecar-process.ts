/**
 * Fixture of the package and chunk-error browser tests: a real sidecar process
 * (`src/cli/main.ts sidecar`, as spa.test.ts starts it) on a random 127.x address, signed pushes
 * to it, and a page server on the same address whose routes the test writes. The page server
 * forwards `GET /version` and `GET /version/client.js` to the sidecar (what an Ingress does for
 * HTTP); pages that need the WebSocket point `url` at the sidecar's port, an allowed origin.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { spawn, type ChildProcess } from 'node:child_process';
import { generateSigningKey } from '../../../src/core/signature.ts';
import type { AppState } from '../../../src/core/app-state.ts';
import { waitFor } from '../../support/wait.ts';
import { INSTALLATION, makeState, push, root, signed } from '../sidecar/helpers.ts';

export interface SidecarProcess {
  /** the page server's origin, e.g. http://127.34.5.6:8080 */
  origin: string;
  /** the sidecar's public WebSocket URL */
  wsUrl: string;
  /** the sidecar's admin URL (metrics, readyz) */
  adminUrl: string;
  /** requests the page server answered, as "METHOD path" in order */
  requests: string[];
  /** Pushes a signed state (the next seq); asserts the sidecar took it. */
  pushState(over: Partial<AppState>): Promise<void>;
  stop(): Promise<void>;
}

/** A route of the page server: answers, or returns false to let the next route (and then 404) answer. */
export type Route = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;

export async function startSidecarProcess(pageRoutes: Route): Promise<SidecarProcess> {
  const ip = `127.${10 + Math.floor(Math.random() * 200)}.${Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
  const origin = `http://${ip}:8080`;
  const sidecarUrl = `http://${ip}:8787`;
  const key = generateSigningKey();
  const child: ChildProcess = spawn(process.execPath, ['src/cli/main.ts', 'sidecar'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '',
      VERSION_OBSERVER_APP: 'storefront', POD_NAMESPACE: 'shop', VERSION_OBSERVER_POD_VERSION: '1.0.0',
      VERSION_OBSERVER_PUBLIC_KEY: key.publicKeyBase64, VERSION_OBSERVER_INSTALLATION: INSTALLATION, VERSION_OBSERVER_LISTEN_HOST: ip,
      VERSION_OBSERVER_ALLOWED_ORIGINS: origin, VERSION_OBSERVER_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const requests: string[] = [];
  const server: Server = createServer(async (req, res) => {
    requests.push(`${req.method} ${req.url}`);
    try {
      if (await pageRoutes(req, res)) return;
      if (req.method === 'GET' && (req.url === '/version' || req.url?.startsWith('/version/client.js'))) {
        const upstream = await fetch(`${sidecarUrl}${req.url}`, { headers: { 'accept-encoding': 'identity' } });
        res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream', 'cache-control': 'no-store' });
        res.end(Buffer.from(await upstream.arrayBuffer()));
        return;
      }
      res.writeHead(404).end();
    } catch (error) {
      res.writeHead(500).end(String(error));
    }
  });
  await new Promise<void>((resolve) => server.listen(8080, ip, resolve));
  await waitFor('the sidecar process', async () => (await fetch(`http://${ip}:8788/readyz`)).ok, 15_000, 50);

  let seq = 0;
  return {
    origin,
    wsUrl: `ws://${ip}:8787/version/ws`,
    adminUrl: `http://${ip}:8788`,
    requests,
    async pushState(over) {
      const r = await push(`http://${ip}:8788`, signed(makeState({ epoch: 1, seq: ++seq, ...over }), key));
      assert.equal(r.status, 204, JSON.stringify(r.body));
    },
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}
