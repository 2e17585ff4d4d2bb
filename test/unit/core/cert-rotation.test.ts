/**
 * planRotation over a simulated year of checks: at every instant the serving certificate chains
 * to a CA in the bundle and is valid, a new CA signs only after it has propagated, and expired
 * CAs leave the bundle; plus the single decisions (first start, renewal at 2/3).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BACKDATE_MS, planRotation, renewalDueAt, type RotationPlan, type Validity } from '../../../src/core/cert-rotation.ts';

const H = 3_600_000;
const settings = { servingValidityMs: 24 * H, caValidityMs: 240 * H, propagationMs: 60_000 };
type Ca = Validity & { id: number };

test('first start: a new CA and a serving certificate from it', () => {
  const plan = planRotation<Ca>({ cas: [], serving: null }, 0, settings);
  assert.deepEqual(plan, { newCa: true, keepCas: [], issueServingFrom: 'new' });
});

test('renewal is due at two thirds of the lifetime', () => {
  assert.equal(renewalDueAt({ notBeforeMs: 0, notAfterMs: 30 }), 20);
  const ca: Ca = { id: 1, notBeforeMs: 0, notAfterMs: 240 * H };
  const serving = { notBeforeMs: 0, notAfterMs: 24 * H, issuer: 0 };
  assert.equal(planRotation({ cas: [ca], serving }, 16 * H - 1, settings).issueServingFrom, null);
  assert.equal(planRotation({ cas: [ca], serving }, 16 * H, settings).issueServingFrom, 0);
});

test('simulated: the served certificate is always valid and trusted; CAs overlap', () => {
  let nextId = 0;
  let cas: Ca[] = [];
  let serving: (Validity & { issuer: number }) | null = null as (Validity & { issuer: number }) | null;
  const bundleSince = new Map<number, number>();
  const step = 10 * 60_000;
  for (let now = 0; now < 2000 * H; now += step) {
    const plan: RotationPlan<Ca> = planRotation<Ca>({ cas, serving }, now, settings);
    const servingCa: Ca | undefined = serving ? cas[serving.issuer] : undefined;
    cas = [...plan.keepCas];
    if (plan.newCa) {
      const ca = { id: nextId++, notBeforeMs: now - BACKDATE_MS, notAfterMs: now + settings.caValidityMs };
      cas.push(ca);
      bundleSince.set(ca.id, now);
    }
    if (plan.issueServingFrom !== null) {
      const idx: number = plan.issueServingFrom === 'new' ? cas.length - 1 : plan.issueServingFrom;
      const signer: Ca = cas[idx]!;
      if (cas.length > 1 || now > 0) assert.ok(now - bundleSince.get(signer.id)! >= settings.propagationMs || cas.length === 1, `CA ${signer.id} signs only after propagating`);
      serving = { notBeforeMs: now - BACKDATE_MS, notAfterMs: Math.min(now + settings.servingValidityMs, signer.notAfterMs), issuer: idx };
    } else if (serving && servingCa) {
      serving = { notBeforeMs: serving.notBeforeMs, notAfterMs: serving.notAfterMs, issuer: cas.indexOf(servingCa) };
    }
    assert.ok(serving, 'a serving certificate exists');
    assert.ok(serving.issuer >= 0, 'its issuer is in the bundle');
    const issuer = cas[serving.issuer]!;
    assert.ok(serving.notAfterMs > now && issuer.notAfterMs > now, `valid at ${now / H} h`);
    assert.ok(cas.length <= 2, 'at most two CAs overlap');
  }
  assert.ok(nextId >= 8, `CAs rotated (${nextId})`);
});
