/** What a sidecar trusts: only what is pinned; what is missing is named for the one log line and the 401 detail. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateSigningKey } from '../../../src/core/signature.ts';
import { PinnedTrust } from '../../../src/sidecar/keys.ts';

test('pinned keys and installation; kids in key order; missing pins are named', () => {
  const [a, b] = [generateSigningKey(), generateSigningKey()];
  const full = new PinnedTrust([a.publicKey, b.publicKey], 'inst');
  assert.deepEqual(full.kids, [a.kid, b.kid]);
  assert.equal(full.missing, null);
  assert.equal(new PinnedTrust([], 'inst').missing, 'VERSION_OBSERVER_PUBLIC_KEY not set');
  assert.equal(new PinnedTrust([a.publicKey], null).missing, 'VERSION_OBSERVER_INSTALLATION not set');
  assert.equal(new PinnedTrust([], null).missing, 'VERSION_OBSERVER_PUBLIC_KEY and VERSION_OBSERVER_INSTALLATION not set');
});
