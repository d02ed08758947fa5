// Forwarding authorized requests to the operator's origin (service binding ORIGIN, else
// ORIGIN_URL) with the caller's identity, credentials stripped and client-sent x-keygate-* dropped.
import type { Context } from 'hono';
import type { KeyPrincipal, UserPrincipal } from '../auth/principal';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';

/** Headers that carry credentials: never sent on to the origin. */
const CREDENTIAL_HEADERS = ['x-api-key', 'x-metal-api-key', 'x-metal-client-id', 'authorization', 'cf-access-jwt-assertion'];
const IDENTITY_PREFIX = 'x-keygate-';

export type IdentityHeaders = Record<`x-keygate-${string}`, string>;

export function orgKeyIdentity(key: KeyPrincipal): IdentityHeaders {
  return { 'x-keygate-org-id': key.organizationId, 'x-keygate-key-id': key.keyId, 'x-keygate-key-kind': 'org' };
}

export function projectKeyIdentity(key: KeyPrincipal): IdentityHeaders {
  return {
    'x-keygate-org-id': key.organizationId,
    'x-keygate-project-id': key.projectId ?? '',
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
 * The headers the origin receives: the client's, minus credentials and x-keygate-*, plus identity.
 * (A native copy, then deletions: cheaper than appending the kept headers one by one.)
 */
export function forwardedHeaders(incoming: Headers, identity: IdentityHeaders): Headers {
  const headers = new Headers(incoming);
  for (const name of CREDENTIAL_HEADERS) headers.delete(name);
  // Header names iterate in lower case.
  for (const name of incoming.keys()) if (name.startsWith(IDENTITY_PREFIX)) headers.delete(name);
  for (const [name, value] of Object.entries(identity)) headers.set(name, value);
  return headers;
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

/** Proof for an origin reached by URL that the request came through Keygate. */
function withSharedSecret(identity: IdentityHeaders, secret: string | undefined): IdentityHeaders {
  return secret ? { ...identity, 'x-keygate-secret': secret } : identity;
}

/**
 * Sends the request on to the origin and returns its response unchanged. 503 when no origin is
 * configured, 502 when it cannot be reached.
 */
export async function forwardToOrigin(c: Context<AppEnv>, identity: IdentityHeaders): Promise<Response> {
  const origin = c.env.ORIGIN;
  const base = c.env.ORIGIN_URL?.trim();
  if (!origin && !base) throw new ApiError('SERVICE_UNAVAILABLE', 'no origin is configured');
  const path = pathAndQuery(c.req.url);
  const target = origin ? `https://origin.internal${path}` : new URL(path.slice(1), base!.endsWith('/') ? base : `${base}/`);
  const method = c.req.method;
  const request = new Request(target, {
    method,
    headers: forwardedHeaders(c.req.raw.headers, withSharedSecret(identity, c.get('config').originSharedSecret)),
    body: method === 'GET' || method === 'HEAD' ? undefined : c.req.raw.body,
    redirect: 'manual',
  });
  try {
    return await (origin ? origin.fetch(request) : fetch(request));
  } catch (err) {
    console.error(`origin unreachable: ${err instanceof Error ? err.name : 'error'}`);
    throw new ApiError('BAD_GATEWAY', 'the origin could not be reached');
  }
}
