// The organizations table: per-organization plan settings (today, the key limit).

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
 * limit, ?3 the time. Shared with `npm run set-key-limit` (scripts/set-key-limit.mjs).
 */
export const SET_KEY_LIMIT_SQL = `INSERT INTO organizations (id, key_limit, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)
ON CONFLICT (id) DO UPDATE SET key_limit = excluded.key_limit, updated_at = excluded.updated_at`;

/** Sets (or, with null, clears) one organization's key limit. */
export async function setKeyLimit(db: D1Database, organizationId: string, keyLimit: number | null, now: string): Promise<void> {
  await db.prepare(SET_KEY_LIMIT_SQL).bind(organizationId, keyLimit, now).run();
}
