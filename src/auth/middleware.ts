// Authentication middleware: who is calling, refused in the shape of the route's surface.
import type { MiddlewareHandler } from 'hono';
import { chargeRequest, countUsage, keyBudgets } from '../budgets/requests';
import type { AppEnv } from '../env';
import { ApiError, INVALID_KEY_PAIR } from '../errors';
import { holdsScope, type OrgKeyScope } from '../keys/scopes';
import type { VerifiedKey } from '../keys/types';
import { verifyKeyPair, verifyProjectKey } from '../keys/verify';
import { keyServiceDeps } from '../middleware/context';
import { addResponseHeader } from '../middleware/response-headers';
import { ACCESS_JWT_HEADER, CLIENT_ID_HEADER, PROJECT_KEY_HEADER, SECRET_HEADER } from './headers';
import { verifyAdminJwt } from './jwt';
import type { KeyPrincipal, UserPrincipal } from './principal';
import { isThrottled, recordAuthFailure, throttledError } from './throttle';

/** The refusal of every bad x-api-key, whatever the reason. */
export const INVALID_PROJECT_KEY = 'Invalid or missing API key';

// The 401s, built once: refusing a flood of bad credentials then costs no error construction
// (stack capture) per request. ApiErrors are immutable, so one instance serves every request.
const REFUSED_KEY_PAIR = new ApiError('UNAUTHORIZED', INVALID_KEY_PAIR);
const REFUSED_PROJECT_KEY = new ApiError('UNAUTHORIZED', INVALID_PROJECT_KEY);
const REFUSED_TOKEN = new ApiError('UNAUTHORIZED', 'invalid or expired token');

/** What a request without credentials is told to send (RFC 9110 WWW-Authenticate). */
const KEY_PAIR_CHALLENGE = `ApiKey headers="${CLIENT_ID_HEADER} ${SECRET_HEADER}", Bearer`;

/** The token of an `Authorization: Bearer` header, if there is one. */
function bearerToken(header: string | undefined): string | undefined {
  const match = header?.match(/^Bearer[ ]+([A-Za-z0-9._~+/=-]+)\s*$/i);
  return match?.[1];
}

type AuthContext = Parameters<MiddlewareHandler<AppEnv>>[0];

/** Sets the principal from a verified key: a principal of the key's kind. */
function setKeyPrincipal<K extends VerifiedKey>(c: AuthContext, key: K): KeyPrincipal & { kind: K['kind'] } {
  const common = { type: 'key', keyId: key.id, organizationId: key.organizationId, permissions: key.permissions } as const;
  const principal: KeyPrincipal =
    key.kind === 'org' ? { ...common, kind: 'org', projectId: null } : { ...common, kind: 'project', projectId: key.projectId };
  c.set('principal', principal);
  // The branch above follows key.kind, which TypeScript does not carry to K.
  return principal as KeyPrincipal & { kind: K['kind'] };
}

/** Whose usage a request with `key` counts as. */
function usageSubject(key: VerifiedKey) {
  return { organizationId: key.organizationId, projectId: key.projectId, keyId: key.id };
}

/**
 * Verifies the organization key pair headers, charges the request to the key's budgets and sets
 * the principal; throws the 401 (or, past a budget, the 429) otherwise.
 */
export async function authenticateKeyPair(c: AuthContext): Promise<KeyPrincipal> {
  const throttled = isThrottled(c);
  const result = await verifyKeyPair(keyServiceDeps(c), c.req.header(CLIENT_ID_HEADER), c.req.header(SECRET_HEADER), {
    isolateOnly: throttled,
  });
  if (!result.ok) {
    if (throttled) throw throttledError(c);
    await recordAuthFailure(c);
    if (result.known) countUsage(c, usageSubject(result.known), 'refused');
    // The body stays the same for every refusal; a caller that sent nothing learns what to send.
    if (result.reason === 'missing') addResponseHeader(c, 'WWW-Authenticate', KEY_PAIR_CHALLENGE);
    throw REFUSED_KEY_PAIR;
  }
  const principal = setKeyPrincipal(c, result.key);
  const charging = chargeRequest(c, keyBudgets(result.key, c.get('config')), usageSubject(result.key));
  if (charging) await charging;
  return principal;
}

/**
 * The Cloudflare Access assertion, when it counts as an admin JWT: only with JWT_JWKS_URL set
 * (Access signs with its own keys, published at the team's JWKS) and no Authorization header
 * (a request that brings its own credential is judged by it alone).
 */
function accessAssertion(c: AuthContext): string | undefined {
  if (!c.get('config').jwksUrl || c.req.header('authorization') !== undefined) return undefined;
  return c.req.header(ACCESS_JWT_HEADER);
}

/** Methods that change nothing: a cross-site request may send them, they cannot act for the user. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Organization key pair or admin JWT. A request carrying either key header is judged as a key
 * pair only (a missing half is refused, not passed to the JWT check).
 */
export function orgKeyOrJwtAuth(): MiddlewareHandler<AppEnv> {
  return async function orgKeyOrJwtAuth(c, next) {
    const authorization = c.req.header('authorization');
    const hasPairHeader = c.req.header(CLIENT_ID_HEADER) !== undefined || c.req.header(SECRET_HEADER) !== undefined;
    if (hasPairHeader || (authorization === undefined && accessAssertion(c) === undefined)) await authenticateKeyPair(c);
    else await authenticateJwt(c, authorization);
    return next();
  };
}

/**
 * Verifies the project key (x-api-key) of exactly the project `organizationId`/`projectId` of the
 * path, charges the request to the project's budget (and the key's own) and sets the principal.
 * Throws the same 401 for a missing, malformed, unknown, revoked or other-project key, and the
 * 429 past a budget.
 */
export async function authenticateProjectKey(
  c: AuthContext,
  organizationId: string,
  projectId: string,
): Promise<KeyPrincipal & { kind: 'project' }> {
  const throttled = isThrottled(c);
  const result = await verifyProjectKey(keyServiceDeps(c), c.req.header(PROJECT_KEY_HEADER), { isolateOnly: throttled });
  const key = result.ok ? result.key : undefined;
  if (!key || key.organizationId !== organizationId || key.projectId !== projectId) {
    if (throttled) throw throttledError(c);
    await recordAuthFailure(c);
    const known = key ?? (result.ok ? undefined : result.known);
    if (known) countUsage(c, usageSubject(known), 'refused');
    throw REFUSED_PROJECT_KEY;
  }
  const principal = setKeyPrincipal(c, key);
  const charging = chargeRequest(c, keyBudgets(key, c.get('config')), usageSubject(key));
  if (charging) await charging;
  return principal;
}

/**
 * On routes under /organizations/{organizationId}: a JWT of another organization is answered
 * 404, exactly like an organization that does not exist.
 */
export function sameOrganization(): MiddlewareHandler<AppEnv> {
  return async function sameOrganization(c, next) {
    if (c.get('principal').organizationId !== c.req.param('organizationId')) {
      throw new ApiError('NOT_FOUND', 'not found');
    }
    return next();
  };
}

/** Admin JWT only (the project surface). */
export function jwtAuth(): MiddlewareHandler<AppEnv> {
  return async function jwtAuth(c, next) {
    await authenticateJwt(c, c.req.header('authorization'));
    return next();
  };
}

/**
 * Verifies the admin JWT (the Authorization Bearer token, else, when JWT_JWKS_URL is set, the
 * Cloudflare Access assertion header) and sets the principal; throws the 401 otherwise.
 * The Access assertion arrives with every request the browser makes (Access adds it from the
 * CF_Authorization cookie), so writes authenticated by it must come from this site: a
 * cross-site one (Sec-Fetch-Site) is refused with 403.
 */
export async function authenticateJwt(c: AuthContext, authorization: string | undefined): Promise<UserPrincipal> {
  const bearer = bearerToken(authorization);
  const assertion = authorization === undefined ? accessAssertion(c) : undefined;
  const token = bearer ?? assertion;
  const result = token ? await verifyAdminJwt(token, c.get('config')) : undefined;
  if (result?.ok === false && result.reason === 'jwks_unavailable') {
    throw new ApiError('SERVICE_UNAVAILABLE', 'the identity provider could not be reached');
  }
  if (!result?.ok) throw REFUSED_TOKEN;
  if (token === assertion && !SAFE_METHODS.has(c.req.method) && isCrossSite(c.req.header('sec-fetch-site'))) {
    throw new ApiError('FORBIDDEN', 'cross-site request refused');
  }
  c.set('principal', result.user);
  return result.user;
}

/** Whether a browser said the request comes from another site (absent: not a browser, or an old one). */
function isCrossSite(secFetchSite: string | undefined): boolean {
  return secFetchSite !== undefined && secFetchSite !== 'same-origin' && secFetchSite !== 'none';
}

/**
 * What an organization key must hold for a route (scoped keys): refused with 403 naming the
 * permission. Admin JWTs are judged by their role (requireAdmin), never here.
 */
export function requireScope(scope: OrgKeyScope): MiddlewareHandler<AppEnv> {
  return async function requireScope(c, next) {
    const principal = c.get('principal');
    if (principal.type === 'key' && !holdsScope(principal.permissions, scope)) throw lacksScope(scope);
    return next();
  };
}

/** The 403 of an organization key without the permission a request needs. */
export function lacksScope(scope: OrgKeyScope): ApiError {
  return new ApiError('FORBIDDEN', `this API key lacks the ${scope} permission`);
}

/** Key management writes: organization keys may, JWT users need the admin role. */
export function requireAdmin(): MiddlewareHandler<AppEnv> {
  return async function requireAdmin(c, next) {
    const principal = c.get('principal');
    if (principal.type === 'user' && principal.role !== 'admin') {
      throw new ApiError('FORBIDDEN', 'admin role required');
    }
    return next();
  };
}
