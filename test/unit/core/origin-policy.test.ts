import assert from 'node:assert/strict';
import test from 'node:test';
import { originAllowed, SAME_ORIGIN_ONLY, type OriginPolicy } from '../../../src/core/origin-policy.ts';

const listed: OriginPolicy = { any: false, origins: ['https://shop.example.com'] };

test('no Origin (not a browser): allowed under every policy', () => {
  assert.ok(originAllowed(undefined, 'shop.example.com', SAME_ORIGIN_ONLY));
  assert.ok(originAllowed(undefined, undefined, listed));
});

test('same origin by default: the Origin host[:port] equals Host, default ports folded, case-insensitive', () => {
  assert.ok(originAllowed('https://shop.example.com', 'shop.example.com', SAME_ORIGIN_ONLY));
  assert.ok(originAllowed('https://Shop.Example.com', 'shop.example.com:443', SAME_ORIGIN_ONLY));
  assert.ok(originAllowed('http://127.0.0.1:8787', '127.0.0.1:8787', SAME_ORIGIN_ONLY));
  assert.ok(!originAllowed('http://127.0.0.1:8080', '127.0.0.1:8787', SAME_ORIGIN_ONLY), 'another port is another origin');
  assert.ok(!originAllowed('https://evil.example', 'shop.example.com', SAME_ORIGIN_ONLY));
  assert.ok(!originAllowed('https://shop.example.com.evil.example', 'shop.example.com', SAME_ORIGIN_ONLY));
  assert.ok(!originAllowed('https://shop.example.com', undefined, SAME_ORIGIN_ONLY), 'no Host: nothing to be the same as');
});

test('a list widens the same origin by exact origins; * allows any', () => {
  assert.ok(originAllowed('https://shop.example.com', 'sidecar.internal:8787', listed));
  assert.ok(!originAllowed('http://shop.example.com', 'sidecar.internal:8787', listed), 'scheme matters');
  assert.ok(originAllowed('https://sidecar.internal:8787', 'sidecar.internal:8787', listed), 'same origin still allowed');
  assert.ok(originAllowed('https://anything.example', 'x', { any: true, origins: [] }));
});

test('Origin null and garbage match nothing but *', () => {
  assert.ok(!originAllowed('null', 'null', SAME_ORIGIN_ONLY));
  assert.ok(!originAllowed('not a url', 'not a url', listed));
  assert.ok(originAllowed('null', 'x', { any: true, origins: [] }));
});
