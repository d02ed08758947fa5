// /v1/keys: organization keys, managed with an organization key pair or an admin JWT.
import { createRoute, z } from '@hono/zod-openapi';
import { orgKeyOrJwtAuth, requireAdmin, requireScope } from '../auth/middleware';
import { actorOf } from '../auth/principal';
import { managementWriteBudget } from '../budgets/management';
import { findOrgKey, type StoredOrgKey } from '../db/api-keys';
import { fromD1 } from '../db/errors';
import { ApiError } from '../errors';
import { createOrgKey, listOrgKeys, revokeOrgKey, rollOrgKey, updateOrgKey } from '../keys/org-keys';
import { MAX_ROLL_GRACE_SECONDS } from '../keys/roll';
import { effectiveScopes, ORG_KEY_SCOPES } from '../keys/scopes';
import { requestMeta } from '../middleware/context';
import { bookmarks, managementDeps } from '../middleware/d1-session';
import { UsageBucket, UsageQuery, usageRange, usageSeries } from '../usage/series';
import { orgKeyValue } from './failures';
import { createRouter } from './router';
import {
  BookmarkRequestHeaders,
  BookmarkResponseHeaders,
  callerPermissions,
  ExpiresAt,
  ExpiresIn,
  KeyName,
  KeyRateLimit,
  LifecycleFields,
  ORG_SECURITY,
  orgErrorResponses,
  RateLimit,
  RollBody,
} from './schemas';

const Scope = z.enum(ORG_KEY_SCOPES);

const CreateOrgKeyBody = z
  .object({
    name: KeyName.openapi({ example: 'Production sync' }),
    rateLimit: KeyRateLimit,
    permissions: z
      .array(Scope)
      .min(1)
      .refine((list) => new Set(list).size === list.length, 'must not repeat a permission')
      .optional()
      .openapi({
        description:
          'keys:read (list, usage), keys:write (create, update, revoke, roll), api:read (GET/HEAD through the gateway), ' +
          'api:write (every other method). Default: all four. A key can never give more than it holds.',
      }),
    expiresIn: ExpiresIn,
    expiresAt: ExpiresAt,
  })
  .strict()
  .openapi('CreateOrgKeyRequest');

/** Writes: an organization key holding keys:write or the admin role, within the organization's write budget. */
const writeAccess = [requireAdmin(), requireScope('keys:write'), managementWriteBudget()];
/** Reads: an organization key holding keys:read, or any JWT of the organization. */
const readAccess = [requireScope('keys:read')];

const UpdateOrgKeyBody = z.object({ name: KeyName.optional(), rateLimit: KeyRateLimit }).strict().openapi('UpdateOrgKeyRequest');

const OrgKey = z
  .object({
    id: z.string().openapi({ example: 'key_3bXq9v0cTn2LkR8pWm4sYd7e' }),
    name: z.string(),
    clientId: z.string().openapi({ description: 'Public identifier, sent as x-metal-client-id.' }),
    keyLastFour: z.string().openapi({ description: 'Last four characters of the secret.' }),
    createdAt: z.iso.datetime(),
    createdBy: z.string().openapi({ description: "The JWT's sub, or key:<id> when a key created it." }),
    lastUsedAt: z.iso.datetime().nullable(),
    rateLimit: RateLimit.nullable().openapi({ description: "The key's own request budget (null: only its organization's)." }),
    permissions: z.array(Scope),
    ...LifecycleFields,
  })
  .openapi('OrgKey');

const CreatedOrgKey = OrgKey.omit({ lastUsedAt: true })
  .extend({
    apiKey: z.string().openapi({ description: 'The secret (x-metal-api-key). Returned only in this response.' }),
  })
  .openapi('CreatedOrgKey');

const RevokedOrgKey = z.object({ id: z.string(), revokedAt: z.iso.datetime() }).openapi('RevokedOrgKey');

const KeyParam = z.object({
  key: z
    .string()
    .min(1)
    .max(128)
    .openapi({ param: { name: 'key', in: 'path' }, description: "The key's id or its client ID." }),
});

function toOrgKey(key: StoredOrgKey) {
  return {
    id: key.id,
    name: key.name,
    clientId: key.clientId,
    keyLastFour: key.keyLastFour,
    createdAt: key.createdAt,
    createdBy: key.createdBy,
    lastUsedAt: key.lastUsedAt,
    rateLimit: key.rateLimit,
    permissions: effectiveScopes(key.permissions),
    expiresAt: key.expiresAt,
    rolledFrom: key.rolledFrom,
    rolledTo: key.rolledTo,
    leakedAt: key.leakedAt,
    leakSource: key.leakSource,
  };
}

const createKeyRoute = createRoute({
  method: 'post',
  path: '/',
  operationId: 'createOrgKey',
  tags: ['Organization keys'],
  summary: 'Create an organization key',
  description: 'Creates a key pair. The secret (`apiKey`) is returned in this response only.',
  security: ORG_SECURITY,
  middleware: writeAccess,
  request: { body: { required: true, content: { 'application/json': { schema: CreateOrgKeyBody } } } },
  responses: {
    201: {
      description: 'Created',
      headers: BookmarkResponseHeaders,
      content: { 'application/json': { schema: z.object({ data: CreatedOrgKey }) } },
    },
    ...orgErrorResponses(400, 401, 403, 413, 422, 429, 503),
  },
});

const listKeysRoute = createRoute({
  method: 'get',
  path: '/',
  operationId: 'listOrgKeys',
  tags: ['Organization keys'],
  summary: "List the organization's active keys",
  description: 'Active keys: not revoked, not expired (a rolled key is listed until its grace ends).',
  security: ORG_SECURITY,
  middleware: readAccess,
  request: { headers: BookmarkRequestHeaders },
  responses: {
    200: {
      description: 'Active keys, newest first',
      headers: BookmarkResponseHeaders,
      content: { 'application/json': { schema: z.object({ data: z.array(OrgKey) }) } },
    },
    ...orgErrorResponses(400, 401, 403, 429, 503),
  },
});

const revokeKeyRoute = createRoute({
  method: 'delete',
  path: '/{key}',
  operationId: 'revokeOrgKey',
  tags: ['Organization keys'],
  summary: 'Revoke an organization key',
  security: ORG_SECURITY,
  middleware: writeAccess,
  request: { params: KeyParam },
  responses: {
    200: {
      description: 'Revoked',
      headers: BookmarkResponseHeaders,
      content: { 'application/json': { schema: z.object({ data: RevokedOrgKey }) } },
    },
    ...orgErrorResponses(401, 403, 404, 429, 503),
  },
});

const updateKeyRoute = createRoute({
  method: 'patch',
  path: '/{key}',
  operationId: 'updateOrgKey',
  tags: ['Organization keys'],
  summary: 'Rename an organization key or set its own rate limit',
  description: 'Audited as `updated`. The secret and the client ID do not change.',
  security: ORG_SECURITY,
  middleware: writeAccess,
  request: { params: KeyParam, body: { required: true, content: { 'application/json': { schema: UpdateOrgKeyBody } } } },
  responses: {
    200: {
      description: 'The updated key',
      headers: BookmarkResponseHeaders,
      content: { 'application/json': { schema: z.object({ data: OrgKey }) } },
    },
    ...orgErrorResponses(400, 401, 403, 404, 413, 429, 503),
  },
});

const keyUsageRoute = createRoute({
  method: 'get',
  path: '/{key}/usage',
  operationId: 'getOrgKeyUsage',
  tags: ['Organization keys'],
  summary: "An organization key's usage",
  description:
    'Requests accepted and refused for rate, per hour or day, every bucket of the range (zeros included). Default: the ' +
    'last 24 hours by hour. Counts lag by at most USAGE_FLUSH_SECONDS (5 s by default). Revoked keys keep their usage.',
  security: ORG_SECURITY,
  middleware: readAccess,
  request: { params: KeyParam, query: UsageQuery, headers: BookmarkRequestHeaders },
  responses: {
    200: {
      description: 'The usage series',
      headers: BookmarkResponseHeaders,
      content: { 'application/json': { schema: z.object({ data: z.array(UsageBucket) }) } },
    },
    ...orgErrorResponses(400, 401, 403, 404, 429, 503),
  },
});

const RolledOrgKey = CreatedOrgKey.openapi('RolledOrgKey');

const rollKeyRoute = createRoute({
  method: 'post',
  path: '/{key}/roll',
  operationId: 'rollOrgKey',
  tags: ['Organization keys'],
  summary: 'Roll an organization key: a new pair now, the old one working for a grace period',
  description:
    "Returns a new client ID and secret (shown once) with the old key's name, permissions, budget and expiry policy. The " +
    'old pair works until `expireCurrentInSeconds` (0–604800, default 0: refused at once) and shows `rolledTo`. A ' +
    'revoked, expired or already rolled key: 409.',
  security: ORG_SECURITY,
  middleware: writeAccess,
  request: {
    params: KeyParam,
    body: { required: false, content: { 'application/json': { schema: RollBody(MAX_ROLL_GRACE_SECONDS.org) } } },
  },
  responses: {
    201: {
      description: 'Rolled',
      headers: BookmarkResponseHeaders,
      content: { 'application/json': { schema: z.object({ data: RolledOrgKey }) } },
    },
    ...orgErrorResponses(400, 401, 403, 404, 409, 413, 429, 503),
  },
});

export const orgKeys = createRouter();

// bookmarks(): the D1 session's x-keygate-bookmark on every answer that used D1 (src/middleware/d1-session.ts).
orgKeys.use('*', bookmarks(), orgKeyOrJwtAuth());

orgKeys.openapi(createKeyRoute, async (c) => {
  const principal = c.get('principal');
  const { key, secret } = orgKeyValue(
    await createOrgKey(managementDeps(c), {
      organizationId: principal.organizationId,
      ...c.req.valid('json'),
      callerPermissions: callerPermissions(principal),
      actor: actorOf(principal),
      meta: requestMeta(c),
    }),
  );
  const { lastUsedAt: _unused, ...created } = toOrgKey(key);
  return c.json({ data: { ...created, apiKey: secret } }, 201);
});

orgKeys.openapi(listKeysRoute, async (c) => {
  const keys = await listOrgKeys(managementDeps(c), c.get('principal').organizationId);
  return c.json({ data: keys.map(toOrgKey) }, 200);
});

orgKeys.openapi(revokeKeyRoute, async (c) => {
  const principal = c.get('principal');
  const revoked = orgKeyValue(
    await revokeOrgKey(managementDeps(c), {
      organizationId: principal.organizationId,
      idOrClientId: c.req.valid('param').key,
      actor: actorOf(principal),
      meta: requestMeta(c),
    }),
  );
  return c.json({ data: { id: revoked.id, revokedAt: revoked.revokedAt } }, 200);
});

orgKeys.openapi(updateKeyRoute, async (c) => {
  const principal = c.get('principal');
  const { key: idOrClientId } = c.req.valid('param');
  const { name, rateLimit } = c.req.valid('json');
  const key = orgKeyValue(
    await updateOrgKey(managementDeps(c), {
      organizationId: principal.organizationId,
      idOrClientId,
      name,
      rateLimit,
      actor: actorOf(principal),
      meta: requestMeta(c),
    }),
  );
  return c.json({ data: toOrgKey(key) }, 200);
});

orgKeys.openapi(keyUsageRoute, async (c) => {
  const organizationId = c.get('principal').organizationId;
  const range = usageRange(c.req.valid('query'));
  const deps = managementDeps(c);
  const key = await fromD1(() => findOrgKey(deps.db, organizationId, c.req.valid('param').key));
  if (!key) throw new ApiError('NOT_FOUND', 'key not found');
  return c.json({ data: await usageSeries(deps.db, { organizationId, keyId: key.id }, range) }, 200);
});

orgKeys.openapi(rollKeyRoute, async (c) => {
  const principal = c.get('principal');
  const body = c.req.valid('json') ?? {};
  const { key, secret } = orgKeyValue(
    await rollOrgKey(managementDeps(c), {
      organizationId: principal.organizationId,
      idOrClientId: c.req.valid('param').key,
      graceSeconds: body.expireCurrentInSeconds ?? 0,
      callerPermissions: callerPermissions(principal),
      actor: actorOf(principal),
      meta: requestMeta(c),
    }),
  );
  const { lastUsedAt: _unused, ...rolled } = toOrgKey(key);
  return c.json({ data: { ...rolled, apiKey: secret } }, 201);
});
