// /app/v1/organizations/{organizationId}/projects/{projectId}/api-keys: project keys, managed
// with an admin JWT of the organization (members may list and read).
import { createRoute, z } from '@hono/zod-openapi';
import { jwtAuth, requireAdmin, sameOrganization } from '../auth/middleware';
import { actorOf } from '../auth/principal';
import { managementWriteBudget } from '../budgets/management';
import type { StoredProjectKey } from '../db/api-keys';
import { CUSTOM_KEY_PATTERN, customKeyProblem } from '../keys/format';
import { createProjectKey, deleteProjectKey, getProjectKey, listProjectKeys, rollProjectKey, updateProjectKey } from '../keys/project-keys';
import { MAX_ROLL_GRACE_SECONDS } from '../keys/roll';
import { requestMeta } from '../middleware/context';
import { bookmarks, managementDeps } from '../middleware/d1-session';
import { UsageBucket, UsageQuery, usageRange, usageSeries } from '../usage/series';
import { decodeCursor, pageOf } from './cursor';
import { projectKeyValue } from './failures';
import { createRouter } from './router';
import {
  BookmarkRequestHeaders,
  BookmarkResponseHeaders,
  ExpiresAt,
  ExpiresIn,
  JWT_SECURITY,
  KeyName,
  KeyRateLimit,
  LifecycleFields,
  PageQuery,
  Pagination,
  projectErrorResponses,
  RateLimit,
  ResourceId,
  RollBody,
} from './schemas';

const ProjectParams = z.object({
  organizationId: ResourceId.openapi({ param: { name: 'organizationId', in: 'path' }, example: 'acme' }),
  projectId: ResourceId.openapi({ param: { name: 'projectId', in: 'path' }, example: 'mobile-app' }),
});

const KeyParams = ProjectParams.extend({
  // Any other string is simply not found: the same 404 as an unknown or foreign id.
  id: z
    .string()
    .min(1)
    .max(128)
    .openapi({ param: { name: 'id', in: 'path' }, description: "The key's id (a UUID)." }),
});

const KeyStatus = z.enum(['active', 'revoked']);

const CreateProjectKeyBody = z
  .object({
    name: KeyName.openapi({ example: 'iOS app' }),
    apiKey: z
      .string()
      .regex(CUSTOM_KEY_PATTERN, { message: '32-128 characters of [A-Za-z0-9_-]', abort: true })
      .superRefine((value, ctx) => {
        const problem = customKeyProblem(value);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional()
      .openapi({ description: 'A custom key value; generated (kg_pk_...) when omitted.' }),
    rateLimit: KeyRateLimit,
    expiresIn: ExpiresIn,
    expiresAt: ExpiresAt,
  })
  .strict()
  .openapi('CreateProjectKeyRequest');

const UpdateProjectKeyBody = z
  .object({ name: KeyName.optional(), status: KeyStatus.optional(), rateLimit: KeyRateLimit })
  .strict()
  .refine((b) => b.name !== undefined || b.status !== undefined || b.rateLimit !== undefined, {
    message: 'give name, status and/or rateLimit',
  })
  .openapi('UpdateProjectKeyRequest');

const ProjectKey = z
  .object({
    id: z.uuid(),
    projectId: z.string(),
    name: z.string(),
    status: KeyStatus,
    lastUsed: z.iso.datetime().nullable(),
    createdBy: z.string(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    rateLimit: RateLimit.nullable().openapi({ description: "The key's own request budget (null: only its project's)." }),
    ...LifecycleFields,
  })
  .openapi('ProjectKey');

const CreatedProjectKey = ProjectKey.extend({
  key: z.string().openapi({ description: 'The key (x-api-key). Returned only in this response.' }),
}).openapi('CreatedProjectKey');

const ListQuery = PageQuery.extend({
  status: KeyStatus.optional().openapi({ param: { name: 'status', in: 'query' } }),
});

function toProjectKey(key: StoredProjectKey) {
  return {
    id: key.id,
    projectId: key.projectId,
    name: key.name,
    status: key.status,
    lastUsed: key.lastUsedAt,
    createdBy: key.createdBy,
    createdAt: key.createdAt,
    updatedAt: key.updatedAt,
    rateLimit: key.rateLimit,
    expiresAt: key.expiresAt,
    rolledFrom: key.rolledFrom,
    rolledTo: key.rolledTo,
    leakedAt: key.leakedAt,
    leakSource: key.leakSource,
  };
}

const BASE = '/organizations/{organizationId}/projects/{projectId}/api-keys';
const tags = ['Project keys'];
// Authentication is the subtree's (projectKeys.use below): every path under api-keys is
// Keygate's, so the gateway never forwards one of them.
const writeAccess = [requireAdmin(), managementWriteBudget()];
const json = <T extends z.ZodType>(schema: T) => ({ 'application/json': { schema } });
/** A success answer: its JSON body and the session's bookmark (src/middleware/d1-session.ts). */
const answer = <T extends z.ZodType>(description: string, schema: T) => ({
  description,
  headers: BookmarkResponseHeaders,
  content: json(schema),
});

const createKeyRoute = createRoute({
  method: 'post',
  path: BASE,
  operationId: 'createProjectKey',
  tags,
  summary: 'Create a project key',
  description: 'The key is returned in this response only.',
  security: JWT_SECURITY,
  middleware: writeAccess,
  request: { params: ProjectParams, body: { required: true, content: json(CreateProjectKeyBody) } },
  responses: {
    201: answer('Created', CreatedProjectKey),
    ...projectErrorResponses(400, 401, 403, 404, 409, 413, 422, 429, 503),
  },
});

const listKeysRoute = createRoute({
  method: 'get',
  path: BASE,
  operationId: 'listProjectKeys',
  tags,
  summary: "List a project's keys, newest first",
  security: JWT_SECURITY,
  request: { params: ProjectParams, query: ListQuery, headers: BookmarkRequestHeaders },
  responses: {
    200: answer('A page of keys', z.object({ data: z.array(ProjectKey), pagination: Pagination })),
    ...projectErrorResponses(400, 401, 404, 503),
  },
});

const getKeyRoute = createRoute({
  method: 'get',
  path: `${BASE}/{id}`,
  operationId: 'getProjectKey',
  tags,
  summary: 'Read a project key',
  security: JWT_SECURITY,
  request: { params: KeyParams, headers: BookmarkRequestHeaders },
  responses: { 200: answer('The key', ProjectKey), ...projectErrorResponses(400, 401, 404, 503) },
});

const updateKeyRoute = createRoute({
  method: 'put',
  path: `${BASE}/{id}`,
  operationId: 'updateProjectKey',
  tags,
  summary: 'Rename, revoke or reactivate a project key',
  security: JWT_SECURITY,
  middleware: writeAccess,
  request: { params: KeyParams, body: { required: true, content: json(UpdateProjectKeyBody) } },
  responses: {
    200: answer('The updated key', ProjectKey),
    ...projectErrorResponses(400, 401, 403, 404, 409, 413, 422, 429, 503),
  },
});

const deleteKeyRoute = createRoute({
  method: 'delete',
  path: `${BASE}/{id}`,
  operationId: 'deleteProjectKey',
  tags,
  summary: 'Delete a project key',
  security: JWT_SECURITY,
  middleware: writeAccess,
  request: { params: KeyParams },
  responses: {
    200: answer('Deleted', z.object({ message: z.literal('API key successfully deleted'), id: z.uuid() })),
    ...projectErrorResponses(400, 401, 403, 404, 429, 503),
  },
});

const keyUsageRoute = createRoute({
  method: 'get',
  path: `${BASE}/{id}/usage`,
  operationId: 'getProjectKeyUsage',
  tags,
  summary: "A project key's usage",
  description:
    'Requests accepted and refused for rate, per hour or day, every bucket of the range (zeros included). Default: the ' +
    'last 24 hours by hour. Counts lag by at most USAGE_FLUSH_SECONDS (5 s by default).',
  security: JWT_SECURITY,
  request: { params: KeyParams, query: UsageQuery, headers: BookmarkRequestHeaders },
  responses: {
    200: answer('The usage series', z.object({ data: z.array(UsageBucket), granularity: z.enum(['hour', 'day']) })),
    ...projectErrorResponses(400, 401, 404, 503),
  },
});

const rollKeyRoute = createRoute({
  method: 'post',
  path: `${BASE}/{id}/roll`,
  operationId: 'rollProjectKey',
  tags,
  summary: 'Roll a project key: a new key now, the old one working for a grace period',
  description:
    "Returns a new key (shown once) with the old key's name, permissions, budget and expiry policy; the old key is renamed " +
    '"<name> (rolled <time>)" and works until `expireCurrentInSeconds` (0–7776000, default 0: refused at once), showing ' +
    '`rolledTo`. A revoked, expired or already rolled key: 409.',
  security: JWT_SECURITY,
  middleware: writeAccess,
  request: { params: KeyParams, body: { required: false, content: json(RollBody(MAX_ROLL_GRACE_SECONDS.project)) } },
  responses: {
    201: answer('Rolled', CreatedProjectKey),
    ...projectErrorResponses(400, 401, 403, 404, 409, 413, 429, 503),
  },
});

export const projectKeys = createRouter();

projectKeys.use('/organizations/:organizationId/projects/:projectId/api-keys/*', bookmarks(), jwtAuth(), sameOrganization());

projectKeys.openapi(createKeyRoute, async (c) => {
  const { organizationId, projectId } = c.req.valid('param');
  const body = c.req.valid('json');
  const { key, secret } = projectKeyValue(
    await createProjectKey(managementDeps(c), {
      organizationId,
      projectId,
      name: body.name,
      customKey: body.apiKey,
      rateLimit: body.rateLimit,
      expiresIn: body.expiresIn,
      expiresAt: body.expiresAt,
      actor: actorOf(c.get('principal')),
      meta: requestMeta(c),
    }),
  );
  return c.json({ ...toProjectKey(key), key: secret }, 201);
});

projectKeys.openapi(listKeysRoute, async (c) => {
  const { organizationId, projectId } = c.req.valid('param');
  const query = c.req.valid('query');
  const rows = await listProjectKeys(managementDeps(c), {
    organizationId,
    projectId,
    status: query.status ?? null,
    limit: query.limit + 1,
    after: decodeCursor(query.lastKey),
  });
  const page = pageOf(rows, query.limit);
  return c.json({ data: page.items.map(toProjectKey), pagination: { limit: query.limit, lastKey: page.lastKey } }, 200);
});

projectKeys.openapi(getKeyRoute, async (c) => {
  const { id, ...scope } = c.req.valid('param');
  return c.json(toProjectKey(projectKeyValue(await getProjectKey(managementDeps(c), scope, id))), 200);
});

projectKeys.openapi(updateKeyRoute, async (c) => {
  const { id, ...scope } = c.req.valid('param');
  const body = c.req.valid('json');
  const key = projectKeyValue(
    await updateProjectKey(managementDeps(c), {
      ...scope,
      keyId: id,
      name: body.name,
      status: body.status,
      rateLimit: body.rateLimit,
      actor: actorOf(c.get('principal')),
      meta: requestMeta(c),
    }),
  );
  return c.json(toProjectKey(key), 200);
});

projectKeys.openapi(deleteKeyRoute, async (c) => {
  const { id, ...scope } = c.req.valid('param');
  projectKeyValue(
    await deleteProjectKey(managementDeps(c), { ...scope, keyId: id, actor: actorOf(c.get('principal')), meta: requestMeta(c) }),
  );
  return c.json({ message: 'API key successfully deleted' as const, id }, 200);
});

projectKeys.openapi(keyUsageRoute, async (c) => {
  const { id, ...scope } = c.req.valid('param');
  const range = usageRange(c.req.valid('query'));
  const deps = managementDeps(c);
  const key = projectKeyValue(await getProjectKey(deps, scope, id));
  const data = await usageSeries(deps.db, { organizationId: scope.organizationId, keyId: key.id }, range);
  return c.json({ data, granularity: range.granularity }, 200);
});

projectKeys.openapi(rollKeyRoute, async (c) => {
  const { id, ...scope } = c.req.valid('param');
  const body = c.req.valid('json') ?? {};
  const { key, secret } = projectKeyValue(
    await rollProjectKey(managementDeps(c), {
      ...scope,
      keyId: id,
      graceSeconds: body.expireCurrentInSeconds ?? 0,
      actor: actorOf(c.get('principal')),
      meta: requestMeta(c),
    }),
  );
  return c.json({ ...toProjectKey(key), key: secret }, 201);
});
