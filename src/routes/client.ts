// /api/v1/organizations/{organizationId}/projects/{projectId}/...: client apps with a project key
// (x-api-key) read their project's published content, passed on to the origin.
import { createRoute, z } from '@hono/zod-openapi';
import { INVALID_PROJECT_KEY, projectKeyAuth } from '../auth/middleware';
import { ApiError } from '../errors';
import { forwardToOrigin, projectKeyIdentity } from '../gateway/forward';
import { decideClientRequest, SEGMENT_PERMISSIONS } from '../gateway/policy';
import { createRouter } from './router';
import { PROJECT_KEY_SECURITY, projectErrorResponses } from './schemas';

const PREFIX = '/organizations/:organizationId/projects/:projectId';
/** Segments of `/api/v1/organizations/{o}/projects/{p}`, counting the empty one before the first `/`. */
const PREFIX_SEGMENTS = 7;

export const client = createRouter();

client.all(`${PREFIX}/*`, projectKeyAuth(), async function clientGateway(c) {
  const principal = c.get('principal');
  if (principal.type !== 'key' || principal.kind !== 'project') throw new ApiError('UNAUTHORIZED', INVALID_PROJECT_KEY);
  // Segments after /projects/{projectId}/ of the decoded path the route matched (the app refused
  // every path whose decoded and raw forms could be read differently), matched exactly.
  const segments = c.req.path.split('/').slice(PREFIX_SEGMENTS);
  const decision = decideClientRequest(c.req.method, segments, principal.permissions);
  if (!decision.allowed) throw new ApiError('FORBIDDEN', decision.message);
  return forwardToOrigin(c, projectKeyIdentity(principal));
});

// Documentation of the forwarded client routes (the handler above serves them all).
client.openAPIRegistry.registerPath(
  createRoute({
    method: 'get',
    path: '/organizations/{organizationId}/projects/{projectId}/{resource}',
    tags: ['Client (project key)'],
    summary: "Read the project's published content through the origin",
    description:
      `Forwarded to the origin with x-keygate-* identity headers and x-keygate-visibility: published. ` +
      `resource is one of ${Object.keys(SEGMENT_PERMISSIONS).join(', ')} (and /{id} below it); HEAD too, and ` +
      `POST .../saved-searches/{id}/execute. Any other method or resource: 403.`,
    security: PROJECT_KEY_SECURITY,
    request: {
      params: z.object({
        organizationId: z.string().openapi({ param: { name: 'organizationId', in: 'path' } }),
        projectId: z.string().openapi({ param: { name: 'projectId', in: 'path' } }),
        resource: z.enum(Object.keys(SEGMENT_PERMISSIONS) as [string, ...string[]]).openapi({ param: { name: 'resource', in: 'path' } }),
      }),
    },
    responses: {
      200: { description: "The origin's answer, e.g. {\"data\": [...]}" },
      ...projectErrorResponses(401, 403, 502, 503),
    },
  }),
);
