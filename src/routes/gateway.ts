// The gateway: what Keygate does not answer itself under /v1 (organization key) and /app/v1
// (admin JWT) is passed on to the origin with the caller's identity.
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { authenticateJwt, authenticateKeyPair, lacksScope } from '../auth/middleware';
import { budgetNames, chargeRequest, organizationBudget } from '../budgets/requests';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { forwardToOrigin, orgKeyIdentity, userIdentity } from '../gateway/forward';
import { gatewayScope, holdsScope } from '../keys/scopes';
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
  const alternatives = templates.map((template) => {
    const subtree = template.endsWith('/*');
    const source = template
      .replace(/\/\*$/, '')
      .split('/')
      .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/');
    return `${source}${subtree ? '(?:/|$)' : '$'}`;
  });
  // One expression for all of them: a gateway request is judged in one pass, not one per route.
  if (alternatives.length === 0) return () => false;
  const owned = new RegExp(`^(?:${alternatives.join('|')})`, 'i');
  return (path) => owned.test(path);
}

/**
 * A request through the organization-key gateway (a /v1 path Keygate does not answer itself):
 * the key pair, its budgets and scope, then the origin. The router's route below and the direct
 * path (src/routes/fast-path.ts) both answer with this one function.
 */
export async function serveOrgGateway(c: Context<AppEnv>): Promise<Response> {
  const key = await authenticateKeyPair(c);
  // Scoped keys: reads need api:read, every other method api:write.
  const scope = gatewayScope(c.req.method);
  if (!holdsScope(key.permissions, scope)) throw lacksScope(scope);
  return forwardToOrigin(c, orgKeyIdentity(key));
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
    return serveOrgGateway(c);
  });

  gateway.all('/app/v1/*', async function appGateway(c, next) {
    if (isOwned(c.req.path)) return next();
    const principal = await authenticateJwt(c, c.req.header('authorization'));
    // Under /organizations/{id}, a token of another organization finds nothing.
    const organization = c.req.path.match(/^\/app\/v1\/organizations\/([^/]+)/i)?.[1];
    if (organization !== undefined && organization !== principal.organizationId) throw new ApiError('NOT_FOUND', 'not found');
    // Admin-JWT requests through the gateway spend their organization's request budget.
    const orgId = principal.organizationId;
    const budget = await organizationBudget(c, orgId);
    const charging = chargeRequest(c, budget ? [{ scope: 'org', name: budgetNames.org(orgId), budget }] : [], {
      organizationId: orgId,
      projectId: null,
      keyId: null,
    });
    if (charging) await charging;
    return forwardToOrigin(c, userIdentity(principal));
  });

  // Documentation of the forwarded routes (the handlers above serve them all): every method, and
  // any number of segments below the prefix.
  const METHODS = ['get', 'head', 'post', 'put', 'patch', 'delete'] as const;
  const forwardedPath = z.string().openapi({
    param: { name: 'path', in: 'path' },
    description: 'One or more path segments, as the origin defines them: `companies` or `companies/cmp_1/notes`.',
  });
  const description =
    'Credentials, cookies, method overrides, client-address claims and client-sent x-keygate-* headers are removed (also ' +
    'when written with `_` for `-`), identity headers added. Paths with an encoded slash or backslash, a dot segment, a ' +
    'semicolon, a control character, an empty segment or a `%25` are refused (400).';
  const surfaces = [
    {
      path: '/v1/{path}',
      operationId: 'OrgGateway',
      tag: 'Gateway (organization key)',
      summary: 'Forwarded to the origin with x-keygate-org-id, x-keygate-key-id, x-keygate-key-kind: org',
      security: [{ clientId: [], apiKey: [] }],
      errors: orgErrorResponses(400, 401, 403, 413, 429, 502, 503),
    },
    {
      path: '/app/v1/{path}',
      operationId: 'AppGateway',
      tag: 'Gateway (admin JWT)',
      summary: 'Forwarded to the origin with x-keygate-org-id, x-keygate-user-id, x-keygate-role, x-keygate-visibility: all',
      security: JWT_SECURITY,
      errors: projectErrorResponses(400, 401, 404, 413, 429, 502, 503),
    },
  ];
  for (const surface of surfaces) {
    for (const method of METHODS) {
      gateway.openAPIRegistry.registerPath(
        createRoute({
          method,
          path: surface.path,
          operationId: `${method}${surface.operationId}`,
          tags: [surface.tag],
          summary: surface.summary,
          description,
          security: surface.security,
          request: { params: z.object({ path: forwardedPath }) },
          responses: { 200: { description: "The origin's answer, as it is" }, ...surface.errors },
        }),
      );
    }
  }
  return gateway;
}
