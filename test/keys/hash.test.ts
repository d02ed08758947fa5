// Hashing secrets (src/keys/hash.ts): the stored SHA-256 must be the standard one in lower-case
// hex (D1 rows and KV keys of existing deployments, and GitHub's token_hash, are compared with it).
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sha256Hex, timingSafeEqualString } from '../../src/keys/hash';

describe('sha256Hex', () => {
  it.each([
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
  ])('FIPS 180-2 vector %j', async (input, expected) => {
    expect(await sha256Hex(input)).toBe(expected);
  });

  it('is the lower-case hex of the Web Crypto digest for any string (UTF-8)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme', maxLength: 80 }), async (input) => {
        const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(input)));
        const expected = Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('');
        expect(await sha256Hex(input)).toBe(expected);
      }),
      { numRuns: 200 },
    );
  });
});

describe('timingSafeEqualString', () => {
  it('is string equality', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        expect(timingSafeEqualString(a, b)).toBe(a === b);
        expect(timingSafeEqualString(a, a)).toBe(true);
      }),
    );
  });
});
