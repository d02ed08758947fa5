// A fresh RS256 signing key as JWKs, for the local identity providers the tests stand up (the
// JWKS that vitest.config.ts serves, and the Access JWKS of the browser tests).

/**
 * @param {string} kid the key id both halves carry
 * @returns {Promise<{ publicJwk: JsonWebKey & { kid: string, alg: 'RS256', use: 'sig' }, privateJwk: JsonWebKey & { kid: string, alg: 'RS256' } }>}
 *   the public half for the JWKS, the private half to sign with
 */
export async function rs256KeyPair(kid) {
  const { subtle } = globalThis.crypto;
  const pair = /** @type {CryptoKeyPair} */ (
    await subtle.generateKey(
      { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
      true,
      ['sign', 'verify'],
    )
  );
  return {
    publicJwk: { ...(await subtle.exportKey('jwk', pair.publicKey)), kid, alg: 'RS256', use: 'sig' },
    privateJwk: { ...(await subtle.exportKey('jwk', pair.privateKey)), kid, alg: 'RS256' },
  };
}
