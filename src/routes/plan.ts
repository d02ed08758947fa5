// An organization's plan and use, for its admins and members: GET .../limits (key limit, active
// keys, request budgets) and GET .../usage (requests per hour or day, of the organization or one
// of its projects).
import { createRoute, z } from '@hono/zod-openapi';
import { jwtAuth, sameOrganization } from '../auth/middleware';
import { fromD1 } from '../db/errors';
import { getOrganizationPlan } from '../db/organizations';
import { bookmarks, managementDeps } from '../middleware/d1-session';
import { UsageBucket, UsageQuery, usageRange, usageSeries } from '../usage/series';
import { createRouter } from './router';
import { BookmarkRequestHeaders, BookmarkResponseHeaders, JWT_SECURITY, projectErrorResponses, RateLimit, ResourceId } from './schemas';

const OrganizationParams = z.object({ organizationId: ResourceId.openapi({ param: { name: 'organizationId', in: 'path' } }) });

const Limits = z
  .object({
    keyLimit: z.number().int().openapi({ description: 'Active keys (both kinds) the plan allows.' }),
    activeKeys: z.number().int(),
    rateLimit: RateLimit.nullable().openapi({
      description: "The organization's request budget (its own, else ORG_RATE_LIMIT; null when that is off).",
    }),
    projects: z
      .array(z.object({ projectId: z.string(), rateLimit: RateLimit }))
      .openapi({ description: 'Projects with a budget of their own (the others have PROJECT_RATE_LIMIT).' }),
  })
  .openapi('Limits');

const limitsRoute = createRoute({
  method: 'get',
  path: '/organizations/{organizationId}/limits',
  operationId: 'getLimits',
  tags: ['Plan and usage'],
  summary: "The organization's plan: key limit, active keys and request budgets",
  security: JWT_SECURITY,
  middleware: [bookmarks(), jwtAuth(), sameOrganization()],
  request: { params: OrganizationParams, headers: BookmarkRequestHeaders },
  responses: {
    200: { description: 'The plan', headers: BookmarkResponseHeaders, content: { 'application/json': { schema: Limits } } },
    ...projectErrorResponses(400, 401, 404, 503),
  },
});

const usageRoute = createRoute({
  method: 'get',
  path: '/organizations/{organizationId}/usage',
  operationId: 'getOrganizationUsage',
  tags: ['Plan and usage'],
  summary: 'Usage of the organization, or of one of its projects',
  description:
    'Requests accepted and refused for rate, per hour or day, every bucket of the range (zeros included): all keys of the ' +
    'organization and its admin-JWT requests through the gateway, or with `projectId` the keys of that project.',
  security: JWT_SECURITY,
  middleware: [bookmarks(), jwtAuth(), sameOrganization()],
  request: {
    params: OrganizationParams,
    query: UsageQuery.extend({ projectId: ResourceId.optional().openapi({ param: { name: 'projectId', in: 'query' } }) }),
    headers: BookmarkRequestHeaders,
  },
  responses: {
    200: {
      description: 'The usage series',
      headers: BookmarkResponseHeaders,
      content: { 'application/json': { schema: z.object({ data: z.array(UsageBucket), granularity: z.enum(['hour', 'day']) }) } },
    },
    ...projectErrorResponses(400, 401, 404, 503),
  },
});

export const plan = createRouter();

plan.openapi(limitsRoute, async (c) => {
  const { organizationId } = c.req.valid('param');
  const deps = managementDeps(c);
  const found = await fromD1(() => getOrganizationPlan(deps.db, organizationId, deps.config.defaultKeyLimit, new Date().toISOString()));
  return c.json({ ...found, rateLimit: found.rateLimit ?? deps.config.orgRateLimit }, 200);
});

plan.openapi(usageRoute, async (c) => {
  const { organizationId } = c.req.valid('param');
  const { projectId, ...query } = c.req.valid('query');
  const range = usageRange(query);
  const scope = projectId === undefined ? { organizationId } : { organizationId, projectId };
  const data = await usageSeries(managementDeps(c).db, scope, range);
  return c.json({ data, granularity: range.granularity }, 200);
});
