/**
 * The chaos suite, short (test/chaos/options.ts SHORT): 2 apps × 3 pods with real sidecars,
 * 300 WebSocket clients, 3 controller replicas, 11 steps — each of the 11 fault kinds once, in a seeded
 * order (the seed is printed; CHAOS_SEED=<n> repeats it). The run fails on any violation.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chaosOptions, SHORT } from '../../chaos/options.ts';
import { FAULT_KINDS } from '../../chaos/schedule.ts';
import { figures, runChaos } from '../../chaos/suite.ts';

test('chaos, short: every fault kind during rollouts; 0 violations; every step settles within the bound', async () => {
  const o = chaosOptions(SHORT);
  console.log(`[chaos-short] seed ${o.seed} (repeat with CHAOS_SEED=${o.seed})`);
  const r = await runChaos(o);
  console.log(figures(r));
  assert.deepEqual(r.violations, [], `seed ${r.seed}`);
  // The run did what it says: each kind injected, every step settled, and the fence proved receipts.
  assert.deepEqual(new Set(r.steps.map((s) => s.kind)), new Set(FAULT_KINDS));
  assert.ok(r.steps.every((s) => s.settled.ms !== null));
  assert.ok(r.proven > 0, 'no converged receipt was proven by the fence');
  assert.ok(r.receipts > 0 && r.connections >= o.clients);
});
