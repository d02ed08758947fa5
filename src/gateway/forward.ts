// Forwarding authorized requests to the operator's origin (service binding ORIGIN, else
// ORIGIN_URL) with the caller's identity, credentials stripped and client-sent x-keygate-* dropped.
import type { Context } from 'hono';
import { ACCESS_JWT_HEADER, CLIENT_ID_HEADER, PROJECT_KEY_HEADER, SECRET_HEADER } from '../auth/headers';
import type { KeyPrincipal, UserPrincipal } from '../auth/principal';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { effectiveScopes } from '../keys/scopes';
import { BODILESS_METHODS } from '../middleware/body-limit';
import { withAddedHeaders } from '../middleware/response-headers';

/** Headers that carry credentials: never sent on to the origin. */
export const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set([
  PROJECT_KEY_HEADER,
  SECRET_HEADER,
  CLIENT_ID_HEADER,
  'authorization',
  'proxy-authorization',
  ACCESS_JWT_HEADER,
  // Behind Cloudflare Access it holds CF_Authorization, the token whose header copy is stripped.
  'cookie',
]);
/** Headers that ask a server to treat the request as another method: the policy judged the real one. */
export const METHOD_OVERRIDE_HEADERS: ReadonlySet<string> = new Set(['x-http-method-override', 'x-http-method', 'x-method-override']);
/** Client-address headers: set from CF-Connecting-IP, never passed on as the client wrote them. */
const CLIENT_ADDRESS_HEADERS: ReadonlySet<string> = new Set([
  'x-forwarded-for',
  'forwarded',
  'x-real-ip',
  'true-client-ip',
  'x-forwarded-host',
]);
const IDENTITY_PREFIX = 'x-keygate-';

/**
 * A header name as CGI, WSGI, Rack and PHP read it: lower case, `_` and `-` alike. A client's
 * `x_keygate_org_id` is the origin's `x-keygate-org-id` there, so names are judged in this form.
 */
export function canonicalHeaderName(name: string): string {
  return name.includes('_') ? name.toLowerCase().replace(/_/g, '-') : name.toLowerCase();
}

/** Whether a client-sent header is dropped before the request reaches the origin. */
export function isDroppedHeader(name: string): boolean {
  const canonical = canonicalHeaderName(name);
  return (
    canonical.startsWith(IDENTITY_PREFIX) ||
    CREDENTIAL_HEADERS.has(canonical) ||
    METHOD_OVERRIDE_HEADERS.has(canonical) ||
    CLIENT_ADDRESS_HEADERS.has(canonical)
  );
}

export type IdentityHeaders = Record<`x-keygate-${string}`, string>;

export function orgKeyIdentity(key: KeyPrincipal): IdentityHeaders {
  return {
    'x-keygate-org-id': key.organizationId,
    'x-keygate-key-id': key.keyId,
    'x-keygate-key-kind': 'org',
    'x-keygate-permissions': effectiveScopes(key.permissions).join(','),
  };
}

export function projectKeyIdentity(key: KeyPrincipal & { kind: 'project' }): IdentityHeaders {
  return {
    'x-keygate-org-id': key.organizationId,
    'x-keygate-project-id': key.projectId,
    'x-keygate-key-id': key.keyId,
    'x-keygate-key-kind': 'project',
    'x-keygate-permissions': key.permissions.join(','),
    'x-keygate-visibility': 'published',
  };
}

export function userIdentity(user: UserPrincipal): IdentityHeaders {
  return {
    'x-keygate-org-id': user.organizationId,
    'x-keygate-user-id': user.userId,
    'x-keygate-role': user.role,
    'x-keygate-visibility': 'all',
  };
}

/**
 * Makes `headers`, a copy of the client's `incoming` ones, what the origin receives: minus every
 * dropped header (credentials, x-keygate-*, method overrides, client-address claims and framing,
 * in any case and with `_` for `-`), plus the client address Cloudflare saw and the identity. A
 * request sent without its body (`bodiless`: GET, HEAD) loses the body's framing headers too.
 * Each call on a Headers object crosses into the runtime: only headers that are there are
 * deleted, and the copy is the forwarded request's own (no second one).
 */
export function toForwardedHeaders(headers: Headers, incoming: Headers, identity: IdentityHeaders, bodiless = false): void {
  // Header names iterate in lower case.
  for (const name of incoming.keys()) {
    if (isDroppedHeader(name) || (bodiless && (name === 'content-length' || name === 'transfer-encoding'))) headers.delete(name);
  }
  const address = incoming.get('cf-connecting-ip');
  if (address) {
    headers.set('x-forwarded-for', address);
    headers.set('x-real-ip', address);
    headers.set('forwarded', `for=${forwardedNode(address)}`);
  }
  for (const [name, value] of Object.entries(identity)) headers.set(name, value);
}

/** A node of the Forwarded header (RFC 7239): IPv6 addresses quoted and bracketed. */
function forwardedNode(address: string): string {
  return address.includes(':') ? `"[${address}]"` : address;
}

/**
 * The query without `_method` parameters (any case, percent-encoded or not), which frameworks
 * such as Rails, Laravel and Express's method-override read as the real method.
 */
export function withoutMethodOverride(query: string): string {
  if (!/method/i.test(query)) return query;
  const kept = query
    .slice(1)
    .split('&')
    .filter((pair) => {
      const name = pair.split('=', 1)[0] ?? '';
      let decoded = name;
      try {
        decoded = decodeURIComponent(name.replace(/\+/g, ' '));
      } catch {
        // keep the raw name
      }
      return decoded.trim().toLowerCase() !== '_method';
    });
  return kept.length === 0 ? '' : `?${kept.join('&')}`;
}

/**
 * The path and query of a request URL exactly as sent (still percent-encoded). The runtime hands
 * the Worker an already parsed and serialized URL, so cutting the string is exact and costs no
 * second parse.
 */
export function pathAndQuery(url: string): string {
  return url.slice(url.indexOf('/', url.indexOf('//') + 2));
}

/** The path of a request URL exactly as sent (still percent-encoded), without the query. */
export function rawPath(url: string): string {
  const path = pathAndQuery(url);
  const query = path.indexOf('?');
  return query === -1 ? path : path.slice(0, query);
}

/** The path (as sent: the app refused every ambiguous one) and the query without `_method`. */
function forwardedPathAndQuery(url: string): string {
  const full = pathAndQuery(url);
  const queryAt = full.indexOf('?');
  return queryAt === -1 ? full : full.slice(0, queryAt) + withoutMethodOverride(full.slice(queryAt));
}

/** Proof for an origin reached by URL that the request came through Keygate. */
function withSharedSecret(identity: IdentityHeaders, secret: string | undefined): IdentityHeaders {
  return secret ? { ...identity, 'x-keygate-secret': secret } : identity;
}

/**
 * Sends the request on to the origin and returns its response, with the headers Keygate adds to
 * every answer (rate limits, CORS) and nothing else changed. 503 when no origin is configured,
 * 502 when it cannot be reached.
 */
export async function forwardToOrigin(c: Context<AppEnv>, identity: IdentityHeaders): Promise<Response> {
  const origin = c.env.ORIGIN;
  const config = c.get('config');
  const base = config.originUrl;
  if (!origin && !base) throw new ApiError('SERVICE_UNAVAILABLE', 'no origin is configured');
  const path = forwardedPathAndQuery(c.req.url);
  // The path has no dot segments or encoded slashes (the app refused them), so it stays below the base.
  const target = origin ? `https://origin.internal${path}` : `${base}${path.slice(1)}`;
  const method = c.req.method;
  const bodiless = BODILESS_METHODS.has(method);
  const incoming = c.req.raw.headers;
  const request = new Request(target, { method, headers: incoming, body: bodiless ? undefined : c.req.raw.body, redirect: 'manual' });
  toForwardedHeaders(request.headers, incoming, withSharedSecret(identity, config.originSharedSecret), bodiless);
  let response: Response;
  try {
    response = await (origin ? origin.fetch(request) : fetch(request));
  } catch (err) {
    console.error(`origin unreachable: ${err instanceof Error ? err.name : 'error'}`);
    throw new ApiError('BAD_GATEWAY', 'the origin could not be reached');
  }
  return withAddedHeaders(c, response);
}
