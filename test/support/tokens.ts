// Every token the tests sign, in one place: admin JWTs signed with the test JWT_SECRET (HS256, or
// any HS* alg and payload), RS256 tokens of the identity provider whose JWKS vitest.config.ts
// serves, and the headers that carry them.
import { env } from 'cloudflare:workers';
import { sign } from 'hono/jwt';
import type { HonoJsonWebKey } from 'hono/utils/jwt/jws';

/** An `exp` claim an hour from now. */
export const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

/** The private half of the key the test JWKS publishes (kid test-key-1, from vitest.config.ts). */
export const TEST_PRIVATE_JWK = JSON.parse(env.TEST_JWKS_PRIVATE_KEY) as HonoJsonWebKey;

/** An RS256 JWT, as an identity provider publishing the test JWKS (Cloudflare Access, say) signs it. */
export function rsToken(payload: Record<string, unknown>, jwk: HonoJsonWebKey = TEST_PRIVATE_JWK): Promise<string> {
  return sign(payload, jwk, 'RS256');
}

/** A JWT signed as the test JWT_SECRET (or `secret`) would sign it, with any payload and HS* alg. */
export function hsToken(
  payload: Record<string, unknown>,
  secret: string = env.JWT_SECRET,
  alg: 'HS256' | 'HS512' = 'HS256',
): Promise<string> {
  return sign(payload, secret, alg);
}

/** An admin JWT (HS256, the test JWT_SECRET unless `secret`): sub alice, role admin, an hour long by default. */
export function token(
  claims: { org: string; sub?: string; role?: 'admin' | 'member'; exp?: number },
  secret: string = env.JWT_SECRET,
): Promise<string> {
  return hsToken({ sub: claims.sub ?? 'alice', org: claims.org, role: claims.role ?? 'admin', exp: claims.exp ?? inAnHour() }, secret);
}

export function bearer(jwt: string): Record<string, string> {
  return { authorization: `Bearer ${jwt}` };
}

/** Authorization headers of an admin (or member) of the organization. */
export async function adminHeaders(org: string, claims: { sub?: string; role?: 'admin' | 'member' } = {}): Promise<Record<string, string>> {
  return bearer(await token({ org, ...claims }));
}
