import assert from 'node:assert/strict';
import test from 'node:test';
import { throttledRefusalLog } from '../../../src/sidecar/log-throttle.ts';
import type { Logger } from '../../../src/platform/logger.ts';

function recorder(): { log: Logger; lines: Array<{ obj: Record<string, unknown>; msg: string }> } {
  const lines: Array<{ obj: Record<string, unknown>; msg: string }> = [];
  const write = (obj: object, msg?: string) => lines.push({ obj: obj as Record<string, unknown>, msg: msg ?? '' });
  const log = { debug: write, info: write, warn: write, error: write, child: () => log } as unknown as Logger;
  return { log, lines };
}

test('per code: the first event of a window is logged with its peer, the rest folded into the next line', () => {
  const { log, lines } = recorder();
  let now = 0;
  const report = throttledRefusalLog(log, { server: 'public' }, 1000, () => now);
  report('VO_A', '10.0.0.1', 'first');
  for (let i = 0; i < 5; i++) report('VO_A', '10.0.0.2', 'again');
  report('VO_B', '10.0.0.3', 'another code is not hidden');
  now = 1000;
  report('VO_A', '10.0.0.4', 'next window');
  assert.deepEqual(lines.map((l) => [l.obj.code, l.obj.peer, l.obj.folded, l.obj.server]), [
    ['VO_A', '10.0.0.1', 0, 'public'], ['VO_B', '10.0.0.3', 0, 'public'], ['VO_A', '10.0.0.4', 5, 'public'],
  ]);
  assert.match(lines[2]!.msg, /^next window \(and 5 more in the previous 1 s\)$/);
});
