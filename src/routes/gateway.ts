// The gateway: what Keygate does not answer itself under /v1 (organization key) and /app/v1
// (admin JWT) is passed on to the origin with the caller's identity.
import { createRoute, z } from '@hono/zod-openapi';
import { authenticateJwt, authenticateKeyPair } from '../auth/middleware';
import { ApiError } from '../errors';
import { forwardToOrigin, orgKeyIdentity, userIdentity } from '../gateway/forward';
import { createRouter } from './router';
import { JWT_SECURITY, orgErrorResponses, projectErrorResponses } from './schemas';

/** Paths Keygate answers itself: never forwarded, whatever the method or letter case. */
const KEYGATE_OWNED = [
  /^\/v1\/keys(\/|$)/i,
  /^\/app\/v1\/organizations\/[^/]+\/projects\/[^/]+\/api-keys(\/|$)/i,
  /^\/app\/v1\/organizations\/[^/]+\/audit-log(\/|$)/i,
];

/**
 * Whether a path may go to the origin: not one Keygate answers itself. Throws NOT_FOUND for a
 * path with an empty segment (`//`), which Keygate and an origin could read differently
 * (`/v1//keys`, or `/app/v1//organizations/x` slipping past the organization check).
 */
function isForwardable(path: string): boolean {
  if (path.includes('//')) throw new ApiError('NOT_FOUND', 'not found');
  return !KEYGATE_OWNED.some((pattern) => pattern.test(path));
}

export const gateway = createRouter();

gateway.all('/v1/*', async function orgGateway(c, next) {
  if (!isForwardable(c.req.path)) return next();
  return forwardToOrigin(c, orgKeyIdentity(await authenticateKeyPair(c)));
});

gateway.all('/app/v1/*', async function appGateway(c, next) {
  if (!isForwardable(c.req.path)) return next();
  const principal = await authenticateJwt(c, c.req.header('authorization'));
  // Under /organizations/{id}, a token of another organization finds nothing.
  const organization = c.req.path.match(/^\/app\/v1\/organizations\/([^/]+)/i)?.[1];
  if (organization !== undefined && organization !== principal.organizationId) throw new ApiError('NOT_FOUND', 'not found');
  return forwardToOrigin(c, userIdentity(principal));
});

// Documentation of the forwarded routes (the handlers above serve them all).
const forwarded = (path: string, summary: string, security: Array<Record<string, string[]>>, errors: object) =>
  createRoute({
    method: 'get',
    path,
    tags: ['Gateway'],
    summary,
    description: 'Any method. Credentials are removed, client-sent x-keygate-* headers dropped, identity headers added.',
    security,
    request: { params: z.object({ path: z.string().openapi({ param: { name: 'path', in: 'path' } }) }) },
    responses: { 200: { description: "The origin's answer" }, ...errors },
  });

gateway.openAPIRegistry.registerPath(
  forwarded(
    '/v1/{path}',
    'Forwarded to the origin with x-keygate-org-id, x-keygate-key-id, x-keygate-key-kind: org',
    [{ clientId: [], apiKey: [] }],
    orgErrorResponses(401, 502, 503),
  ),
);
gateway.openAPIRegistry.registerPath(
  forwarded(
    '/app/v1/{path}',
    'Forwarded to the origin with x-keygate-org-id, x-keygate-user-id, x-keygate-role, x-keygate-visibility: all',
    JWT_SECURITY,
    projectErrorResponses(401, 404, 502, 503),
  ),
);
