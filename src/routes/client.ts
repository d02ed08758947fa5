// /api/v1/organizations/{organizationId}/projects/{projectId}/...: client apps with a project key
// (x-api-key) read their project's published content, passed on to the origin.
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { authenticateProjectKey } from '../auth/middleware';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { forwardToOrigin, projectKeyIdentity } from '../gateway/forward';
import { decideClientRequest, SEGMENT_PERMISSIONS } from '../gateway/policy';
import { createRouter } from './router';
import { PROJECT_KEY_SECURITY, projectErrorResponses } from './schemas';

const PREFIX = '/organizations/:organizationId/projects/:projectId';
/** Segments of `/api/v1/organizations/{o}/projects/{p}`, counting the empty one before the first `/`. */
const PREFIX_SEGMENTS = 7;

/**
 * A client request for project `projectId` of organization `organizationId` (the path's): the
 * project key, its budgets, the policy, then the origin. The router's route below and the
 * direct path (src/routes/fast-path.ts) both answer with this one function.
 */
export async function serveClientRequest(c: Context<AppEnv>, organizationId: string, projectId: string): Promise<Response> {
  const principal = await authenticateProjectKey(c, organizationId, projectId);
  // Segments after /projects/{projectId}/ of the decoded path the route matched (the app refused
  // every path whose decoded and raw forms could be read differently), matched exactly.
  const segments = c.req.path.split('/').slice(PREFIX_SEGMENTS);
  const decision = decideClientRequest(c.req.method, segments, principal.permissions);
  if (!decision.allowed) throw new ApiError('FORBIDDEN', decision.message);
  return forwardToOrigin(c, projectKeyIdentity(principal));
}

export const client = createRouter();

client.all(`${PREFIX}/*`, function clientGateway(c) {
  return serveClientRequest(c, c.req.param('organizationId'), c.req.param('projectId'));
});

// Documentation of the forwarded client routes (the handler above serves them all): every method
// and path shape a project key may use, and the 403 for the rest.
const clientParams = {
  organizationId: z.string().openapi({ param: { name: 'organizationId', in: 'path' } }),
  projectId: z.string().openapi({ param: { name: 'projectId', in: 'path' } }),
  resource: z.enum(Object.keys(SEGMENT_PERMISSIONS) as [string, ...string[]]).openapi({ param: { name: 'resource', in: 'path' } }),
};
const rest = z.string().openapi({
  param: { name: 'rest', in: 'path' },
  description: 'One or more further path segments, as the origin defines them (e.g. an item id): `a` or `a/b/c`.',
});
const clientDescription =
  'Forwarded to the origin with x-keygate-* identity headers and x-keygate-visibility: published. ' +
  'The permission is decided by the resource (content, content-types, tags, saved-searches: content.read; ' +
  'packages: packages.read; assets: assets.read). Any other method or resource: 403.';
const clientResponses = {
  200: { description: 'The origin\'s answer, e.g. {"data": [...]}' },
  ...projectErrorResponses(400, 401, 403, 413, 429, 502, 503),
};
const CLIENT_BASE = '/organizations/{organizationId}/projects/{projectId}';

for (const [method, verb] of [
  ['get', 'Read'],
  ['head', 'Check'],
] as const) {
  client.openAPIRegistry.registerPath(
    createRoute({
      method,
      path: `${CLIENT_BASE}/{resource}`,
      operationId: `${method}ClientResource`,
      tags: ['Client (project key)'],
      summary: `${verb} a resource list of the project's published content`,
      description: clientDescription,
      security: PROJECT_KEY_SECURITY,
      request: { params: z.object(clientParams) },
      responses: clientResponses,
    }),
  );
  client.openAPIRegistry.registerPath(
    createRoute({
      method,
      path: `${CLIENT_BASE}/{resource}/{rest}`,
      operationId: `${method}ClientResourceItem`,
      tags: ['Client (project key)'],
      summary: `${verb} anything below a resource (an item, a sub-collection)`,
      description: clientDescription,
      security: PROJECT_KEY_SECURITY,
      request: { params: z.object({ ...clientParams, rest }) },
      responses: clientResponses,
    }),
  );
}
client.openAPIRegistry.registerPath(
  createRoute({
    method: 'post',
    path: `${CLIENT_BASE}/saved-searches/{id}/execute`,
    operationId: 'executeSavedSearch',
    tags: ['Client (project key)'],
    summary: 'Run a saved search (the one write a project key may send)',
    description: 'Forwarded with its body. Needs content.read. Every other non-read method under /api/v1: 403 "API keys are read-only".',
    security: PROJECT_KEY_SECURITY,
    request: {
      params: z.object({
        organizationId: clientParams.organizationId,
        projectId: clientParams.projectId,
        id: z.string().openapi({ param: { name: 'id', in: 'path' } }),
      }),
    },
    responses: clientResponses,
  }),
);
