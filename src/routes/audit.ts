// GET /app/v1/organizations/{organizationId}/audit-log: the organization's key changes, newest
// first, for admins.
import { createRoute, z } from '@hono/zod-openapi';
import { jwtAuth, requireAdmin, sameOrganization } from '../auth/middleware';
import { listAuditEntries } from '../db/audit';
import { fromD1 } from '../db/errors';
import { bookmarks, managementDeps } from '../middleware/d1-session';
import { decodeCursor, pageOf } from './cursor';
import { createRouter } from './router';
import {
  BookmarkRequestHeaders,
  BookmarkResponseHeaders,
  JWT_SECURITY,
  PageQuery,
  Pagination,
  projectErrorResponses,
  ResourceId,
} from './schemas';

const AuditEntry = z
  .object({
    id: z.string(),
    action: z.enum(['created', 'updated', 'revoked', 'reactivated', 'deleted', 'rolled', 'leaked']),
    keyId: z.string(),
    keyName: z
      .string()
      .nullable()
      .openapi({ description: "The key's name at the time of the change; null for entries older than the field whose key was deleted." }),
    keyKind: z.enum(['org', 'project']),
    projectId: z.string().nullable(),
    actor: z.object({ type: z.enum(['user', 'key', 'scanner']), id: z.string() }),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
    createdAt: z.iso.datetime(),
  })
  .openapi('AuditEntry');

const auditLogRoute = createRoute({
  method: 'get',
  path: '/organizations/{organizationId}/audit-log',
  operationId: 'listAuditEntries',
  tags: ['Audit'],
  summary: "Page through the organization's audit log, newest first",
  security: JWT_SECURITY,
  middleware: [requireAdmin()] as const,
  request: {
    params: z.object({ organizationId: ResourceId.openapi({ param: { name: 'organizationId', in: 'path' } }) }),
    query: PageQuery,
    headers: BookmarkRequestHeaders,
  },
  responses: {
    200: {
      description: 'A page of entries',
      headers: BookmarkResponseHeaders,
      content: { 'application/json': { schema: z.object({ data: z.array(AuditEntry), pagination: Pagination }) } },
    },
    ...projectErrorResponses(400, 401, 403, 404, 503),
  },
});

export const audit = createRouter();

// The whole subtree is Keygate's: never forwarded, and authenticated before any route.
audit.use('/organizations/:organizationId/audit-log/*', bookmarks(), jwtAuth(), sameOrganization());

audit.openapi(auditLogRoute, async (c) => {
  const { organizationId } = c.req.valid('param');
  const { limit, lastKey } = c.req.valid('query');
  const rows = await fromD1(() => listAuditEntries(managementDeps(c).db, organizationId, limit + 1, decodeCursor(lastKey)));
  const page = pageOf(rows, limit);
  return c.json(
    {
      data: page.items.map((e) => ({
        id: e.id,
        action: e.action,
        keyId: e.keyId,
        keyName: e.keyName,
        keyKind: e.keyKind,
        projectId: e.projectId,
        actor: { type: e.actorType, id: e.actorId },
        ip: e.ip,
        userAgent: e.userAgent,
        createdAt: e.createdAt,
      })),
      pagination: { limit, lastKey: page.lastKey },
    },
    200,
  );
});
