/**
 * One local cluster and one scratch directory per test file: started before the first test,
 * stopped after the last, with a check that no process it ran is left behind. Records are
 * printed when VO_TEST_LOG is set.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { startCluster, type Cluster } from '../../../src/local/cluster.ts';
import { formatLine, recordLogger, type LogRecord } from '../../../src/local/log.ts';
import { alive } from '../../support/local-k8s.ts';

export interface ClusterFixture {
  cluster: Cluster;
  /** scratch directory, removed after the file's tests */
  dir: string;
}

export function useCluster(dirPrefix: string): ClusterFixture {
  const records: LogRecord[] = [];
  const fixture = {} as ClusterFixture;
  before(async () => {
    fixture.dir = mkdtempSync(join(tmpdir(), dirPrefix));
    fixture.cluster = await startCluster({ logger: recordLogger((r) => records.push(r)) });
  });
  after(async () => {
    const pids = fixture.cluster?.pids() ?? [];
    await fixture.cluster?.stop();
    if (fixture.dir) rmSync(fixture.dir, { recursive: true, force: true });
    if (process.env.VO_TEST_LOG) console.log(records.map(formatLine).join('\n'));
    assert.deepEqual(pids.filter(alive), [], 'no process left behind');
  });
  return fixture;
}
