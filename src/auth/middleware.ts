// Authentication middleware: who is calling, refused in the shape of the route's surface.
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env';
import { ApiError, INVALID_KEY_PAIR } from '../errors';
import { verifyKeyPair } from '../keys/service';
import { keyServiceDeps } from './context';
import { verifyAdminJwt } from './jwt';

export const CLIENT_ID_HEADER = 'x-metal-client-id';
export const SECRET_HEADER = 'x-metal-api-key';

/** The token of an `Authorization: Bearer` header, if there is one. */
function bearerToken(header: string | undefined): string | undefined {
  const match = header?.match(/^Bearer[ ]+([A-Za-z0-9._~+/=-]+)\s*$/i);
  return match?.[1];
}

/**
 * Organization key pair or admin JWT. A request carrying either key header is judged as a key
 * pair only (a missing half is refused, not passed to the JWT check).
 */
export function orgKeyOrJwtAuth(): MiddlewareHandler<AppEnv> {
  return async function orgKeyOrJwtAuth(c, next) {
    const clientId = c.req.header(CLIENT_ID_HEADER);
    const secret = c.req.header(SECRET_HEADER);
    const authorization = c.req.header('authorization');
    if (clientId !== undefined || secret !== undefined || authorization === undefined) {
      const result = await verifyKeyPair(keyServiceDeps(c), clientId, secret);
      if (!result.ok) throw new ApiError('UNAUTHORIZED', INVALID_KEY_PAIR);
      const key = result.key;
      c.set('principal', {
        type: 'key',
        keyId: key.id,
        kind: key.kind,
        organizationId: key.organizationId,
        projectId: key.projectId,
        permissions: key.permissions,
      });
      return next();
    }
    await authenticateJwt(c, authorization);
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

async function authenticateJwt(c: Parameters<MiddlewareHandler<AppEnv>>[0], authorization: string | undefined) {
  const token = bearerToken(authorization);
  const result = token ? await verifyAdminJwt(token, c.get('config')) : undefined;
  if (!result?.ok) throw new ApiError('UNAUTHORIZED', 'invalid or expired token');
  c.set('principal', result.user);
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
