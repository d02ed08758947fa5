// The reference origin Worker: the operator's API behind Keygate. Companies per organization
// (/v1), and per project content items (draft/published), content types, tags, packages,
// assets and saved searches (/api/v1 for project keys, /app/v1 for admin JWTs).
// It trusts only Keygate's x-keygate-* headers: see wrangler.toml for how to keep it private.
import { type Context, Hono } from 'hono';

export type OriginEnv = {
  ORIGIN_DB: D1Database;
  /** When set, every request must carry it in x-keygate-secret (origins reached by URL). */
  KEYGATE_SHARED_SECRET?: string;
};

type Identity = {
  organizationId: string;
  kind: 'org' | 'project' | 'user';
  projectId: string | null;
  role: string | null;
  /** Published content only (project keys), or drafts too (admin JWTs). */
  publishedOnly: boolean;
};

type OriginApp = { Bindings: OriginEnv; Variables: { identity: Identity } };

const CATALOG_KINDS = ['content-types', 'tags', 'packages', 'assets', 'saved-searches'] as const;

function fail(c: Context<OriginApp>, status: 400 | 401 | 403 | 404, code: string, message: string) {
  return c.req.path.startsWith('/v1/') ? c.json({ error: message }, status) : c.json({ error: { code, message } }, status);
}

function sameSecret(a: string, b: string): boolean {
  const left = new TextEncoder().encode(a);
  const right = new TextEncoder().encode(b);
  return left.byteLength === right.byteLength && crypto.subtle.timingSafeEqual(left, right);
}

/** Reads the identity Keygate forwarded; anything else is refused. */
function identityOf(headers: Headers): Identity | null {
  const organizationId = headers.get('x-keygate-org-id');
  if (!organizationId) return null;
  const keyKind = headers.get('x-keygate-key-kind');
  const kind = keyKind === 'org' || keyKind === 'project' ? keyKind : headers.get('x-keygate-user-id') ? 'user' : null;
  if (!kind) return null;
  return {
    organizationId,
    kind,
    projectId: headers.get('x-keygate-project-id'),
    role: headers.get('x-keygate-role'),
    publishedOnly: headers.get('x-keygate-visibility') !== 'all',
  };
}

function now(): string {
  return new Date().toISOString();
}

type ContentRow = { id: string; title: string; body: string; status: 'draft' | 'published'; created_at: string; updated_at: string };

function toContent(row: ContentRow) {
  return { id: row.id, title: row.title, body: row.body, status: row.status, createdAt: row.created_at, updatedAt: row.updated_at };
}

type CatalogRow = { id: string; kind: string; name: string; data: string; created_at: string };

function toCatalogItem(row: CatalogRow) {
  return { id: row.id, name: row.name, ...(JSON.parse(row.data) as object), createdAt: row.created_at };
}

export function createOriginApp() {
  const app = new Hono<OriginApp>();

  app.use('*', async function trustKeygateOnly(c, next) {
    const shared = c.env.KEYGATE_SHARED_SECRET;
    if (shared && !sameSecret(c.req.header('x-keygate-secret') ?? '', shared)) {
      return fail(c, 401, 'UNAUTHORIZED', 'requests must come through Keygate');
    }
    const identity = identityOf(c.req.raw.headers);
    if (!identity) return fail(c, 401, 'UNAUTHORIZED', 'requests must come through Keygate');
    c.set('identity', identity);
    await next();
  });

  // Companies: organization keys, their own organization only.
  app.get('/v1/companies', async (c) => {
    const { results } = await c.env.ORIGIN_DB.prepare(
      'SELECT id, name, domain, created_at AS createdAt FROM companies WHERE organization_id = ?1 ORDER BY id',
    )
      .bind(c.get('identity').organizationId)
      .all();
    return c.json({ data: results });
  });

  app.get('/v1/companies/:id', async (c) => {
    const row = await c.env.ORIGIN_DB.prepare(
      'SELECT id, name, domain, created_at AS createdAt FROM companies WHERE organization_id = ?1 AND id = ?2',
    )
      .bind(c.get('identity').organizationId, c.req.param('id'))
      .first();
    return row ? c.json({ data: row }) : fail(c, 404, 'NOT_FOUND', 'company not found');
  });

  // Project resources, as seen under /api/v1 (project keys) and /app/v1 (admin JWTs).
  const project = new Hono<OriginApp>();

  project.use('*', async function scopeToProject(c, next) {
    const identity = c.get('identity');
    const organizationId = c.req.param('organizationId');
    const projectId = c.req.param('projectId');
    if (identity.organizationId !== organizationId) return fail(c, 404, 'NOT_FOUND', 'not found');
    if (identity.kind === 'project' && identity.projectId !== projectId) return fail(c, 404, 'NOT_FOUND', 'not found');
    if (identity.kind === 'org') return fail(c, 403, 'FORBIDDEN', 'use a project key or an admin token');
    await next();
  });

  const scope = (c: Context<OriginApp>) => ({
    organizationId: c.req.param('organizationId') ?? '',
    projectId: c.req.param('projectId') ?? '',
    publishedOnly: c.get('identity').publishedOnly,
  });

  const findContent = async (c: Context<OriginApp>, id: string) => {
    const s = scope(c);
    return c.env.ORIGIN_DB.prepare(
      `SELECT * FROM content_items WHERE organization_id = ?1 AND project_id = ?2 AND id = ?3
         AND (?4 = 0 OR status = 'published')`,
    )
      .bind(s.organizationId, s.projectId, id, s.publishedOnly ? 1 : 0)
      .first<ContentRow>();
  };

  project.get('/content', async (c) => {
    const s = scope(c);
    const { results } = await c.env.ORIGIN_DB.prepare(
      `SELECT * FROM content_items WHERE organization_id = ?1 AND project_id = ?2
         AND (?3 = 0 OR status = 'published') ORDER BY created_at DESC, id`,
    )
      .bind(s.organizationId, s.projectId, s.publishedOnly ? 1 : 0)
      .all<ContentRow>();
    return c.json({ data: results.map(toContent) });
  });

  project.get('/content/:id', async (c) => {
    const row = await findContent(c, c.req.param('id'));
    return row ? c.json({ data: toContent(row) }) : fail(c, 404, 'NOT_FOUND', 'content not found');
  });

  const requireAdmin = (c: Context<OriginApp>) => {
    const identity = c.get('identity');
    return identity.kind === 'user' && identity.role === 'admin' && !identity.publishedOnly;
  };

  project.post('/content', async (c) => {
    if (!requireAdmin(c)) return fail(c, 403, 'FORBIDDEN', 'only admins may create content');
    const body = (await c.req.json().catch(() => null)) as { title?: unknown; body?: unknown; status?: unknown } | null;
    if (!body || typeof body.title !== 'string' || body.title.trim() === '' || body.title.length > 200) {
      return fail(c, 400, 'VALIDATION_ERROR', 'title must be a non-empty string of at most 200 characters');
    }
    if (body.body !== undefined && typeof body.body !== 'string') return fail(c, 400, 'VALIDATION_ERROR', 'body must be a string');
    if (body.status !== undefined && body.status !== 'draft' && body.status !== 'published') {
      return fail(c, 400, 'VALIDATION_ERROR', 'status must be draft or published');
    }
    const s = scope(c);
    const time = now();
    const row: ContentRow = {
      id: `cnt_${crypto.randomUUID()}`,
      title: body.title.trim(),
      body: (body.body as string | undefined) ?? '',
      status: (body.status as 'draft' | 'published' | undefined) ?? 'draft',
      created_at: time,
      updated_at: time,
    };
    await c.env.ORIGIN_DB.prepare(
      `INSERT INTO content_items (id, organization_id, project_id, title, body, status, created_at, updated_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)`,
    )
      .bind(row.id, s.organizationId, s.projectId, row.title, row.body, row.status, time)
      .run();
    return c.json({ data: toContent(row) }, 201);
  });

  project.put('/content/:id', async (c) => {
    if (!requireAdmin(c)) return fail(c, 403, 'FORBIDDEN', 'only admins may update content');
    const body = (await c.req.json().catch(() => null)) as { title?: unknown; body?: unknown; status?: unknown } | null;
    if (!body || typeof body !== 'object' || Array.isArray(body)) return fail(c, 400, 'VALIDATION_ERROR', 'send a JSON object');
    if (body.title !== undefined && (typeof body.title !== 'string' || body.title.trim() === '' || body.title.length > 200)) {
      return fail(c, 400, 'VALIDATION_ERROR', 'title must be a non-empty string of at most 200 characters');
    }
    if (body.body !== undefined && typeof body.body !== 'string') return fail(c, 400, 'VALIDATION_ERROR', 'body must be a string');
    if (body.status !== undefined && body.status !== 'draft' && body.status !== 'published') {
      return fail(c, 400, 'VALIDATION_ERROR', 'status must be draft or published');
    }
    const s = scope(c);
    const result = await c.env.ORIGIN_DB.prepare(
      `UPDATE content_items SET title = COALESCE(?4, title), body = COALESCE(?5, body), status = COALESCE(?6, status), updated_at = ?7
       WHERE organization_id = ?1 AND project_id = ?2 AND id = ?3`,
    )
      .bind(
        s.organizationId,
        s.projectId,
        c.req.param('id'),
        typeof body.title === 'string' ? body.title.trim() : null,
        (body.body as string | undefined) ?? null,
        (body.status as string | undefined) ?? null,
        now(),
      )
      .run();
    if (result.meta.changes !== 1) return fail(c, 404, 'NOT_FOUND', 'content not found');
    const row = await findContent(c, c.req.param('id'));
    return c.json({ data: toContent(row!) });
  });

  project.post('/content/:id/publish', async (c) => {
    if (!requireAdmin(c)) return fail(c, 403, 'FORBIDDEN', 'only admins may publish content');
    const s = scope(c);
    const time = now();
    const result = await c.env.ORIGIN_DB.prepare(
      `UPDATE content_items SET status = 'published', updated_at = ?4 WHERE organization_id = ?1 AND project_id = ?2 AND id = ?3`,
    )
      .bind(s.organizationId, s.projectId, c.req.param('id'), time)
      .run();
    if (result.meta.changes !== 1) return fail(c, 404, 'NOT_FOUND', 'content not found');
    const row = await findContent(c, c.req.param('id'));
    return c.json({ data: toContent(row!) });
  });

  const findCatalog = (c: Context<OriginApp>, kind: string, id?: string) => {
    const s = scope(c);
    return c.env.ORIGIN_DB.prepare(
      `SELECT * FROM catalog_items WHERE organization_id = ?1 AND project_id = ?2 AND kind = ?3 AND (?4 IS NULL OR id = ?4) ORDER BY name`,
    )
      .bind(s.organizationId, s.projectId, kind, id ?? null)
      .all<CatalogRow>();
  };

  for (const kind of CATALOG_KINDS) {
    project.get(`/${kind}`, async (c) => c.json({ data: (await findCatalog(c, kind)).results.map(toCatalogItem) }));
    project.get(`/${kind}/:id`, async (c) => {
      const [row] = (await findCatalog(c, kind, c.req.param('id'))).results;
      return row ? c.json({ data: toCatalogItem(row) }) : fail(c, 404, 'NOT_FOUND', 'not found');
    });
  }

  // A saved search runs its query over the content titles the caller may see.
  project.post('/saved-searches/:id/execute', async (c) => {
    const [search] = (await findCatalog(c, 'saved-searches', c.req.param('id'))).results;
    if (!search) return fail(c, 404, 'NOT_FOUND', 'saved search not found');
    const { query = '' } = JSON.parse(search.data) as { query?: string };
    const s = scope(c);
    const { results } = await c.env.ORIGIN_DB.prepare(
      `SELECT * FROM content_items WHERE organization_id = ?1 AND project_id = ?2
         AND (?3 = 0 OR status = 'published') AND instr(lower(title), lower(?4)) > 0 ORDER BY created_at DESC`,
    )
      .bind(s.organizationId, s.projectId, s.publishedOnly ? 1 : 0, query)
      .all<ContentRow>();
    return c.json({ data: results.map(toContent) });
  });

  app.route('/api/v1/organizations/:organizationId/projects/:projectId', project);
  app.route('/app/v1/organizations/:organizationId/projects/:projectId', project);

  app.notFound((c) => fail(c, 404, 'NOT_FOUND', 'not found'));
  app.onError((err, c) => {
    console.error(`origin error: ${err.name}`);
    return c.req.path.startsWith('/v1/')
      ? c.json({ error: 'internal error' }, 500)
      : c.json({ error: { code: 'INTERNAL_ERROR', message: 'internal error' } }, 500);
  });
  return app;
}

export default createOriginApp() satisfies ExportedHandler<OriginEnv>;
