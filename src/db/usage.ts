// The usage_hourly table: requests per key and hour, added to in batches by the isolates'
// usage recorders (src/usage/recorder.ts) and read back as hourly or daily series.

/** Counts of one key (or, with keyId '', the admin-JWT gateway requests of an organization) in one hour. */
export type UsageRow = {
  organizationId: string;
  /** '' for organization keys and admin-JWT requests. */
  projectId: string;
  /** '' for admin-JWT requests through the /app/v1 gateway. */
  keyId: string;
  /** Unix seconds of the hour's start. */
  hour: number;
  requests: number;
  rateLimited: number;
  refused: number;
};

/** Rows per INSERT (7 parameters each; D1 binds at most 100 per statement). */
const ROWS_PER_STATEMENT = 14;

/** The statements that add `rows` to their hours (one statement per 14 rows), for one batch. */
export function addUsageStatements(db: D1Database, rows: readonly UsageRow[]): D1PreparedStatement[] {
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    const chunk = rows.slice(i, i + ROWS_PER_STATEMENT);
    const values = chunk.map((_, j) => `(${[1, 2, 3, 4, 5, 6, 7].map((n) => `?${7 * j + n}`).join(', ')})`).join(', ');
    statements.push(
      db
        .prepare(
          `INSERT INTO usage_hourly (organization_id, project_id, key_id, hour, requests, rate_limited, refused)
           VALUES ${values}
           ON CONFLICT (organization_id, key_id, hour) DO UPDATE SET
             requests = requests + excluded.requests,
             rate_limited = rate_limited + excluded.rate_limited,
             refused = refused + excluded.refused`,
        )
        .bind(...chunk.flatMap((r) => [r.organizationId, r.projectId, r.keyId, r.hour, r.requests, r.rateLimited, r.refused])),
    );
  }
  return statements;
}

/** The statement that deletes the hours before `hour` (Unix seconds): the 90-day retention. */
export function deleteUsageBeforeStatement(db: D1Database, hour: number): D1PreparedStatement {
  return db.prepare('DELETE FROM usage_hourly WHERE hour < ?1').bind(hour);
}

/** Whose usage a query reads: one key, one project, or a whole organization. */
export type UsageScope =
  | { organizationId: string; keyId: string }
  | { organizationId: string; projectId: string }
  | { organizationId: string };

/** One bucket as stored: its start (Unix seconds) and its sums. Buckets without use are absent. */
export type UsageBucket = { start: number; requests: number; rateLimited: number };

/**
 * Sums of `scope`'s usage per bucket of `bucketSeconds` (3600 or 86400) for the hours in
 * [from, to) (Unix seconds, from aligned to a bucket).
 */
export async function sumUsage(
  db: D1Database,
  scope: UsageScope,
  range: { from: number; to: number; bucketSeconds: number },
): Promise<UsageBucket[]> {
  const filter = 'keyId' in scope ? 'AND key_id = ?5' : 'projectId' in scope ? 'AND project_id = ?5' : 'AND ?5 IS NULL';
  const target = 'keyId' in scope ? scope.keyId : 'projectId' in scope ? scope.projectId : null;
  const { results } = await db
    .prepare(
      `SELECT hour - (hour % ?4) AS start, SUM(requests) AS requests, SUM(rate_limited) AS rate_limited
       FROM usage_hourly
       WHERE organization_id = ?1 AND hour >= ?2 AND hour < ?3 ${filter}
       GROUP BY start ORDER BY start`,
    )
    .bind(scope.organizationId, range.from, range.to, range.bucketSeconds, target)
    .all<{ start: number; requests: number; rate_limited: number }>();
  return results.map((r) => ({ start: r.start, requests: r.requests, rateLimited: r.rate_limited }));
}
