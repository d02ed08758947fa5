// The gateway: what Keygate does not answer itself under /v1 (organization key) and /app/v1
// (admin JWT) is passed on to the origin with the caller's identity.
import { createRoute, z } from '@hono/zod-openapi';
import { authenticateJwt, authenticateKeyPair } from '../auth/middleware';
import { ApiError } from '../errors';
import { forwardToOrigin, orgKeyIdentity, userIdentity } from '../gateway/forward';
import { createRouter } from './router';
import { JWT_SECURITY, orgErrorResponses, projectErrorResponses } from './schemas';

/**
 * A matcher for the paths Keygate answers itself, built from the route templates the app
 * registered, in any letter case: a template is owned exactly
 * (`/app/v1/organizations/:organizationId/projects`), a wildcard one with everything below it
 * (`/v1/keys/*`, `.../api-keys/*`, `.../audit-log/*`, registered by their authentication
 * middleware). Deriving it from the routes means a new route can never be forgotten here and
 * forwarded.
 */
export function ownedPathMatcher(templates: readonly string[]): (path: string) => boolean {
  const patterns = templates.map((template) => {
    const subtree = template.endsWith('/*');
    const source = template
      .replace(/\/\*$/, '')
      .split('/')
      .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/');
    return new RegExp(`^${source}${subtree ? '(?:/|$)' : '$'}`, 'i');
  });
  return (path) => patterns.some((pattern) => pattern.test(path));
}

/**
 * The gateway's routes. `isOwned` tells the paths Keygate answers itself: those fall through
 * to the app's own routes (or its 404), never to the origin. Paths are judged in their decoded
 * form; the app refuses hostile raw paths (src/gateway/path.ts) before any route runs.
 */
export function createGateway(isOwned: (path: string) => boolean) {
  const gateway = createRouter();

  gateway.all('/v1/*', async function orgGateway(c, next) {
    if (isOwned(c.req.path)) return next();
    return forwardToOrigin(c, orgKeyIdentity(await authenticateKeyPair(c)));
  });

  gateway.all('/app/v1/*', async function appGateway(c, next) {
    if (isOwned(c.req.path)) return next();
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
      description:
        'Any method. Credentials, cookies, method overrides and client-sent x-keygate-* headers are removed, identity headers added. ' +
        'Paths with an encoded slash or backslash, a dot segment, a semicolon, a control character or an empty segment are refused (400).',
      security,
      request: { params: z.object({ path: z.string().openapi({ param: { name: 'path', in: 'path' } }) }) },
      responses: { 200: { description: "The origin's answer" }, ...errors },
    });

  gateway.openAPIRegistry.registerPath(
    forwarded(
      '/v1/{path}',
      'Forwarded to the origin with x-keygate-org-id, x-keygate-key-id, x-keygate-key-kind: org',
      [{ clientId: [], apiKey: [] }],
      orgErrorResponses(400, 401, 502, 503),
    ),
  );
  gateway.openAPIRegistry.registerPath(
    forwarded(
      '/app/v1/{path}',
      'Forwarded to the origin with x-keygate-org-id, x-keygate-user-id, x-keygate-role, x-keygate-visibility: all',
      JWT_SECURITY,
      projectErrorResponses(400, 401, 404, 502, 503),
    ),
  );
  return gateway;
}
