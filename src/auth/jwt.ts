// Admin JWT verification with Hono's JWT helpers: HS256 with JWT_SECRET, or RS256/ES256 against
// the JWKS at JWT_JWKS_URL (keys cached in the isolate), issuer and audience checked when set.
import { decode, verify, verifyWithJwks } from 'hono/jwt';
import type { HonoJsonWebKey } from 'hono/utils/jwt/jws';
import { z } from 'zod';
import type { Config } from '../env';
import { RESOURCE_ID } from '../ids';
import type { UserPrincipal } from './principal';

/**
 * A user id Keygate will write into createdBy, the audit log and an origin's x-keygate-user-id:
 * printable ASCII without spaces, quotes or separators a log or header could misread (OIDC
 * subjects such as `auth0|5f7c…`, e-mail addresses and UUIDs fit), and never `key:…`, which is
 * how createdBy names a key.
 */
export const USER_ID = /^(?![Kk][Ee][Yy]:)[A-Za-z0-9._@:|+=~-]{1,256}$/;

const claimsSchema = z.object({
  sub: z.string().regex(USER_ID),
  org: z.string().regex(RESOURCE_ID),
  role: z.enum(['admin', 'member']),
  exp: z.number().finite(),
  iat: z.number().finite().optional(),
});

/**
 * The claims Keygate reads, from the top level of the payload or, for Cloudflare Access (which
 * passes an identity provider's claims through under `custom`), from `custom` where the top
 * level lacks them.
 */
function claimsOf(payload: unknown): unknown {
  if (!payload || typeof payload !== 'object') return payload;
  const top = payload as Record<string, unknown>;
  const custom = top.custom && typeof top.custom === 'object' ? (top.custom as Record<string, unknown>) : {};
  return { ...top, org: top.org ?? custom.org, role: top.role ?? custom.role };
}

const JWKS_ALGORITHMS = ['RS256', 'ES256'] as const;
/** How long fetched JWKS keys are trusted before they are fetched again. */
const JWKS_TTL_MS = 5 * 60_000;
/** An unknown kid refetches the JWKS at most this often (key rotation), not on every token. */
const JWKS_REFRESH_MIN_MS = 30_000;

// The JWKS of each URL this isolate has fetched, with the time of the fetch. Lives as long as
// the isolate; one entry per configured URL.
const jwksCache = new Map<string, { keys: HonoJsonWebKey[]; fetchedAt: number }>();

/** A JWKS that has not answered within this is unavailable (503), never a request that hangs. */
const JWKS_FETCH_TIMEOUT_MS = 5_000;

async function fetchJwks(url: string): Promise<HonoJsonWebKey[]> {
  const response = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(JWKS_FETCH_TIMEOUT_MS) });
  if (!response.ok) throw new Error(`JWKS answered ${response.status}`);
  const body = (await response.json()) as { keys?: unknown };
  if (!Array.isArray(body.keys)) throw new Error('JWKS has no keys');
  const keys = body.keys as HonoJsonWebKey[];
  jwksCache.set(url, { keys, fetchedAt: Date.now() });
  return keys;
}

async function jwksKeys(url: string, kid: string | undefined): Promise<HonoJsonWebKey[]> {
  const entry = jwksCache.get(url);
  const age = entry ? Date.now() - entry.fetchedAt : Infinity;
  if (!entry || age > JWKS_TTL_MS) return fetchJwks(url);
  const known = entry.keys.some((k) => k.kid === kid);
  if (!known && age > JWKS_REFRESH_MIN_MS) return fetchJwks(url);
  return entry.keys;
}

function kidOf(token: string): string | undefined {
  try {
    return decode(token).header.kid;
  } catch {
    return undefined;
  }
}

export type JwtResult = { ok: true; user: UserPrincipal } | { ok: false; reason: 'invalid' | 'claims' | 'lifetime' | 'jwks_unavailable' };

/**
 * Verifies an admin JWT and its claims. Never throws for a bad token; a JWKS that cannot be
 * fetched is `jwks_unavailable`, not a bad token.
 */
export async function verifyAdminJwt(token: string, config: Config): Promise<JwtResult> {
  const verification = {
    ...(config.jwtIssuer ? { iss: config.jwtIssuer } : {}),
    ...(config.jwtAudience ? { aud: config.jwtAudience } : {}),
  };
  let payload: unknown;
  try {
    if (config.jwksUrl) {
      let keys: HonoJsonWebKey[];
      try {
        keys = await jwksKeys(config.jwksUrl, kidOf(token));
      } catch (err) {
        console.error(`JWKS unavailable: ${err instanceof Error ? err.name : 'error'}`);
        return { ok: false, reason: 'jwks_unavailable' };
      }
      payload = await verifyWithJwks(token, { keys, verification, allowedAlgorithms: JWKS_ALGORITHMS });
    } else if (config.jwtSecret) {
      payload = await verify(token, config.jwtSecret, { alg: 'HS256', ...verification });
    } else {
      return { ok: false, reason: 'invalid' };
    }
  } catch {
    return { ok: false, reason: 'invalid' };
  }
  const claims = claimsSchema.safeParse(claimsOf(payload));
  if (!claims.success) return { ok: false, reason: 'claims' };
  // A token may live at most JWT_MAX_LIFETIME_SECONDS: from its iat when it has one, and from now.
  const now = Math.floor(Date.now() / 1000);
  const issuedAt = claims.data.iat ?? now;
  if (claims.data.exp - Math.min(issuedAt, now) > config.jwtMaxLifetimeSeconds) return { ok: false, reason: 'lifetime' };
  return {
    ok: true,
    user: { type: 'user', userId: claims.data.sub, organizationId: claims.data.org, role: claims.data.role },
  };
}
