// The organizations and projects tables: plan settings operators set per organization (key
// limit, request budget) and per project (request budget).
import type { Budget } from '../env';

/** A budget stored as two nullable columns (both set, or neither: null, the default applies). */
export function budgetOf(requests: number | null | undefined, windowSeconds: number | null | undefined): Budget | null {
  return requests && windowSeconds ? { requests, windowSeconds } : null;
}

/**
 * SQL condition of a key that has not expired at ?{nowParam} (ISO 8601, the caller's clock):
 * expiry is compared as text, which orders ISO 8601 UTC times of one format correctly.
 */
export function notExpired(nowParam: number, table = ''): string {
  const column = `${table ? `${table}.` : ''}expires_at`;
  return `(${column} IS NULL OR ${column} > ?${nowParam})`;
}

/** SQL expression for the keys an organization holds against its limit: active, not expired at ?{nowParam}. */
export function activeKeysExpression(orgParam: number, nowParam: number): string {
  return `(SELECT count(*) FROM api_keys WHERE organization_id = ?${orgParam} AND status = 'active' AND ${notExpired(nowParam)})`;
}

/**
 * SQL expression for an organization's key limit: its own row, else the default.
 * ?{orgParam} is the organization id, ?{defaultParam} the DEFAULT_KEY_LIMIT.
 */
export function keyLimitExpression(orgParam: number, defaultParam: number): string {
  return `COALESCE((SELECT key_limit FROM organizations WHERE id = ?${orgParam}), ?${defaultParam})`;
}

/** The key limit of one organization. */
export async function getKeyLimit(db: D1Database, organizationId: string, defaultLimit: number): Promise<number> {
  const row = await db
    .prepare(`SELECT ${keyLimitExpression(1, 2)} AS key_limit`)
    .bind(organizationId, defaultLimit)
    .first<{ key_limit: number }>();
  return row?.key_limit ?? defaultLimit;
}

/**
 * Sets (or, with NULL, clears) one organization's key limit: ?1 the organization id, ?2 the
 * limit, ?3 the time. Shared with `npm run set-limits` (scripts/set-limits.mjs).
 */
export const SET_KEY_LIMIT_SQL = `INSERT INTO organizations (id, key_limit, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)
ON CONFLICT (id) DO UPDATE SET key_limit = excluded.key_limit, updated_at = excluded.updated_at`;

/** Sets (or, with null, clears) one organization's key limit. */
export async function setKeyLimit(db: D1Database, organizationId: string, keyLimit: number | null, now: string): Promise<void> {
  await db.prepare(SET_KEY_LIMIT_SQL).bind(organizationId, keyLimit, now).run();
}

/**
 * Sets (or, with NULLs, clears) one organization's request budget: ?1 the organization id, ?2 the
 * requests, ?3 the window in seconds, ?4 the time. Shared with `npm run set-limits`.
 */
export const SET_ORG_RATE_LIMIT_SQL = `INSERT INTO organizations (id, rate_limit_requests, rate_limit_window_seconds, created_at, updated_at)
VALUES (?1, ?2, ?3, ?4, ?4)
ON CONFLICT (id) DO UPDATE SET rate_limit_requests = excluded.rate_limit_requests,
  rate_limit_window_seconds = excluded.rate_limit_window_seconds, updated_at = excluded.updated_at`;

/** Sets (or, with null, clears) one organization's request budget. */
export async function setOrganizationRateLimit(db: D1Database, organizationId: string, budget: Budget | null, now: string): Promise<void> {
  await db
    .prepare(SET_ORG_RATE_LIMIT_SQL)
    .bind(organizationId, budget?.requests ?? null, budget?.windowSeconds ?? null, now)
    .run();
}

/** One organization's plan as operators set it: null fields mean the defaults. */
export type OrganizationPlan = {
  keyLimit: number;
  activeKeys: number;
  rateLimit: Budget | null;
  projects: Array<{ projectId: string; rateLimit: Budget }>;
};

/** An organization's key limit, its active keys (both kinds), its request budget and its projects' own budgets. */
export async function getOrganizationPlan(
  db: D1Database,
  organizationId: string,
  defaultKeyLimit: number,
  now: string,
): Promise<OrganizationPlan> {
  const [plan, projects] = await db.batch([
    db
      .prepare(
        `SELECT ${keyLimitExpression(1, 2)} AS key_limit,
           ${activeKeysExpression(1, 3)} AS active_keys,
           (SELECT rate_limit_requests FROM organizations WHERE id = ?1) AS rate_requests,
           (SELECT rate_limit_window_seconds FROM organizations WHERE id = ?1) AS rate_window_seconds`,
      )
      .bind(organizationId, defaultKeyLimit, now),
    db
      .prepare(
        `SELECT project_id, rate_limit_requests, rate_limit_window_seconds FROM projects
         WHERE organization_id = ?1 AND rate_limit_requests IS NOT NULL AND rate_limit_window_seconds IS NOT NULL
         ORDER BY project_id`,
      )
      .bind(organizationId),
  ]);
  const row = (plan?.results[0] ?? {}) as {
    key_limit?: number;
    active_keys?: number;
    rate_requests?: number | null;
    rate_window_seconds?: number | null;
  };
  const projectRows = (projects?.results ?? []) as Array<{
    project_id: string;
    rate_limit_requests: number;
    rate_limit_window_seconds: number;
  }>;
  return {
    keyLimit: row.key_limit ?? defaultKeyLimit,
    activeKeys: row.active_keys ?? 0,
    rateLimit: budgetOf(row.rate_requests, row.rate_window_seconds),
    projects: projectRows.map((p) => ({
      projectId: p.project_id,
      rateLimit: { requests: p.rate_limit_requests, windowSeconds: p.rate_limit_window_seconds },
    })),
  };
}

/** The request budget an operator set for an organization (null: ORG_RATE_LIMIT). */
export async function getOrganizationRateLimit(db: D1Database, organizationId: string): Promise<Budget | null> {
  const row = await db
    .prepare('SELECT rate_limit_requests, rate_limit_window_seconds FROM organizations WHERE id = ?1')
    .bind(organizationId)
    .first<{ rate_limit_requests: number | null; rate_limit_window_seconds: number | null }>();
  return budgetOf(row?.rate_limit_requests, row?.rate_limit_window_seconds);
}

/** The request budget an operator set for a project (null: PROJECT_RATE_LIMIT). */
export async function getProjectRateLimit(db: D1Database, organizationId: string, projectId: string): Promise<Budget | null> {
  const row = await db
    .prepare('SELECT rate_limit_requests, rate_limit_window_seconds FROM projects WHERE organization_id = ?1 AND project_id = ?2')
    .bind(organizationId, projectId)
    .first<{ rate_limit_requests: number | null; rate_limit_window_seconds: number | null }>();
  return budgetOf(row?.rate_limit_requests, row?.rate_limit_window_seconds);
}

/**
 * Sets (or, with NULLs, clears) one project's request budget: ?1 the organization id, ?2 the
 * project id, ?3 the requests, ?4 the window in seconds, ?5 the time. Shared with `npm run set-limits`.
 */
export const SET_PROJECT_RATE_LIMIT_SQL = `INSERT INTO projects (organization_id, project_id, rate_limit_requests, rate_limit_window_seconds, created_at, updated_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?5)
ON CONFLICT (organization_id, project_id) DO UPDATE SET rate_limit_requests = excluded.rate_limit_requests,
  rate_limit_window_seconds = excluded.rate_limit_window_seconds, updated_at = excluded.updated_at`;

/** Sets (or, with null, clears) one project's request budget. */
export async function setProjectRateLimit(
  db: D1Database,
  organizationId: string,
  projectId: string,
  budget: Budget | null,
  now: string,
): Promise<void> {
  await db
    .prepare(SET_PROJECT_RATE_LIMIT_SQL)
    .bind(organizationId, projectId, budget?.requests ?? null, budget?.windowSeconds ?? null, now)
    .run();
}
