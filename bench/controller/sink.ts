/**
 * Push sink for the controller benchmarks (forked): the test receiver (test/support/receiver.ts:
 * every push judged by core's checkPush — shape, signature, then core's (epoch, seq) order — the
 * one decision the sidecar's admin route also asks; nothing is re-implemented here) listening on the wildcard
 * address, so it answers pushes to *every* 127.x.y.z pod IP at the port given to the controller
 * as --push-port. Connections from anything outside 127.0.0.0/8 are destroyed on accept, so in
 * effect it serves loopback only.
 *
 * IPC: sends { port } once listening; answers { cmd: 'stats' } with counts since the last
 * { cmd: 'reset' }: { n, firstMs, lastMs, byStatus }.
 */
import { startReceiver } from '../../test/support/receiver.ts';

const r = await startReceiver({ host: '0.0.0.0', port: 0, publicKeys: (process.env.PUBLIC_KEY ?? '').split(',').filter(Boolean) });
r.server.keepAliveTimeout = 72_000; // as fastify (the sidecar) answers: the controller's keep-alive sockets stay open
r.server.on('connection', (s) => {
  if (!/^(::ffff:)?127\./.test(s.remoteAddress ?? '')) s.destroy();
});
let from = 0;
process.on('message', (m: { cmd: string }) => {
  if (m.cmd === 'reset') {
    from = r.received.length;
    process.send!({ ok: true });
  } else if (m.cmd === 'stats') {
    const got = r.received.slice(from);
    const byStatus: Record<string, number> = {};
    for (const x of got) byStatus[x.status] = (byStatus[x.status] ?? 0) + 1;
    process.send!({ n: got.length, firstMs: got[0]?.atMs ?? 0, lastMs: got.at(-1)?.atMs ?? 0, byStatus });
  }
});
process.on('disconnect', () => process.exit(0));
const addr = r.server.address();
process.send!({ port: typeof addr === 'object' && addr ? addr.port : 0 });
