// GET /app/v1/organizations/{organizationId}/projects: the projects of the organization that hold
// keys (Keygate keeps no other list of projects), for admins and members.
import { createRoute, z } from '@hono/zod-openapi';
import { jwtAuth, sameOrganization } from '../auth/middleware';
import { listProjects } from '../keys/project-keys';
import { bookmarks, managementDeps } from '../middleware/d1-session';
import { createRouter } from './router';
import { BookmarkRequestHeaders, BookmarkResponseHeaders, JWT_SECURITY, projectErrorResponses, ResourceId } from './schemas';

const ProjectSummary = z
  .object({
    projectId: z.string(),
    activeKeys: z.number().int(),
    revokedKeys: z.number().int(),
  })
  .openapi('ProjectSummary');

const listProjectsRoute = createRoute({
  method: 'get',
  path: '/organizations/{organizationId}/projects',
  operationId: 'listProjects',
  tags: ['Project keys'],
  summary: 'The projects of the organization that hold keys, with their key counts',
  security: JWT_SECURITY,
  middleware: [bookmarks(), jwtAuth(), sameOrganization()],
  request: {
    params: z.object({ organizationId: ResourceId.openapi({ param: { name: 'organizationId', in: 'path' } }) }),
    headers: BookmarkRequestHeaders,
  },
  responses: {
    200: {
      description: 'Projects by id',
      headers: BookmarkResponseHeaders,
      content: { 'application/json': { schema: z.object({ data: z.array(ProjectSummary) }) } },
    },
    ...projectErrorResponses(400, 401, 404, 503),
  },
});

export const projects = createRouter();

projects.openapi(listProjectsRoute, async (c) => {
  const { organizationId } = c.req.valid('param');
  return c.json({ data: await listProjects(managementDeps(c), organizationId) }, 200);
});
