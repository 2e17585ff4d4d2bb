/** Shared fast-check generators for the core tests. */
import fc from 'fast-check';

/** A small numeric part, biased to collide so comparisons hit equal cases. */
export const num = fc.oneof(fc.constantFrom(0, 1, 2, 10), fc.nat({ max: 20 }), fc.nat({ max: 2 ** 31 }));

const alnumId = fc
  .stringMatching(/^[0-9A-Za-z-]{1,6}$/)
  .filter((s) => !/^[0-9]+$/.test(s));
const numId = num.map(String);
export const prerelease = fc.array(fc.oneof(fc.constantFrom('rc', 'alpha', 'beta', '0', '1', '2'), alnumId, numId), { minLength: 0, maxLength: 3 });

/** A valid version label (≤ 63 characters), optionally with a leading "v". */
export const versionLabel = fc
  .record({ v: fc.boolean(), major: num, minor: num, patch: num, pre: prerelease })
  .map(({ v, major, minor, patch, pre }) => `${v ? 'v' : ''}${major}.${minor}.${patch}${pre.length ? `-${pre.join('.')}` : ''}`)
  .filter((s) => s.length <= 63);

/** Versions drawn from a small pool so that pairs are often equal or close. */
export const closeVersion = fc
  .record({ major: fc.nat({ max: 2 }), minor: fc.nat({ max: 2 }), patch: fc.nat({ max: 2 }), pre: fc.array(fc.constantFrom('rc', 'alpha', '0', '1', '2'), { maxLength: 2 }) })
  .map(({ major, minor, patch, pre }) => `${major}.${minor}.${patch}${pre.length ? `-${pre.join('.')}` : ''}`);

export const anyVersion = fc.oneof(versionLabel, closeVersion);
