/**
 * A hostile stand-in for a sidecar's admin port, for the pusher's tests and benchmark: a real
 * HTTP server on host:port that reads each push in full and then
 *   - 'hang':    never answers (holds the request open until the client gives up),
 *   - 'trickle': answers 200 headers at once, then one body byte every `trickleMs`, for ever
 *                (an idle timeout never fires; only an absolute deadline ends it),
 *   - 'flood':   answers 200 and streams an endless body as fast as the socket takes it,
 *   - 'slow':    answers 204 after `delayMs`.
 * It records what it saw, so a test can prove a push was in flight (`pending`: pushes read and not
 * yet answered or closed) without reading any timing.
 */
import http from 'node:http';

export type SlowMode = 'hang' | 'trickle' | 'flood' | 'slow';

export interface SlowReceiver {
  /** Pushes read in full, by arrival (local ms). */
  arrivals: number[];
  /** Pushes read and still open (not answered, not closed by the client). */
  pending(): number;
  /** Connections the client closed before an answer ended. */
  closedEarly(): number;
  close(): Promise<void>;
}

export async function startSlowReceiver(o: { host: string; port: number; mode: SlowMode; delayMs?: number; trickleMs?: number }): Promise<SlowReceiver> {
  const arrivals: number[] = [];
  let pending = 0;
  let closedEarly = 0;
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      arrivals.push(Date.now());
      pending++;
      let open = true;
      const done = () => {
        if (!open) return;
        open = false;
        pending--;
      };
      res.on('close', () => {
        if (!res.writableFinished) closedEarly++;
        done();
      });
      switch (o.mode) {
        case 'hang':
          return;
        case 'slow': {
          const t = setTimeout(() => res.writeHead(204).end(), o.delayMs ?? 10_000);
          timers.add(t);
          return;
        }
        case 'trickle': {
          res.writeHead(200, { 'content-type': 'text/plain' });
          const t = setInterval(() => res.write('.'), o.trickleMs ?? 50);
          timers.add(t);
          res.on('close', () => clearInterval(t));
          return;
        }
        case 'flood': {
          res.writeHead(200, { 'content-type': 'application/octet-stream' });
          const chunk = Buffer.alloc(64 * 1024, 120);
          const pump = () => {
            while (!res.destroyed && res.write(chunk));
          };
          res.on('drain', pump);
          pump();
          return;
        }
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  return {
    arrivals,
    pending: () => pending,
    closedEarly: () => closedEarly,
    close: async () => {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
