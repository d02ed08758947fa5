// The key change feed in D1 (migration 0006): rows written by triggers whenever a change can
// alter a verification's answer, read by isolates after their cursor (src/cache/feed.ts).

/** One change: a key by its secret hash, or every key of an organization (or of one of its projects). */
export type KeyChange = { seq: number; secretHash: string | null; organizationId: string; projectId: string | null };

/** How long the feed keeps its rows (seconds). An isolate whose cursor fell further behind starts over. */
export const KEY_CHANGE_RETENTION_SECONDS = 86_400;

type ChangeRow = { seq: number; secret_hash: string | null; organization_id: string; project_id: string | null };

const CHANGE_COLUMNS = 'seq, secret_hash, organization_id, project_id';

function changeOf(row: ChangeRow): KeyChange {
  return { seq: row.seq, secretHash: row.secret_hash, organizationId: row.organization_id, projectId: row.project_id };
}

/** Up to `limit` changes after `after`, oldest first. */
export async function readKeyChanges(db: D1Database, after: number, limit: number): Promise<KeyChange[]> {
  const { results } = await db
    .prepare(`SELECT ${CHANGE_COLUMNS} FROM key_changes WHERE seq > ?1 ORDER BY seq LIMIT ?2`)
    .bind(after, limit)
    .all<ChangeRow>();
  return results.map(changeOf);
}

/** The position of the last change made before ?1 (Unix seconds): where a new isolate starts reading. */
const START_SQL = 'SELECT coalesce(max(seq), 0) AS seq FROM key_changes WHERE changed_at < ?1';

/**
 * A new isolate's first read, in one round trip (one batch, one transaction): where it starts
 * (the last change made before `before`, Unix seconds) and up to `limit` changes after that.
 */
export async function startReadingKeyChanges(
  db: D1Database,
  before: number,
  limit: number,
): Promise<{ start: number; changes: KeyChange[] }> {
  const [start, changes] = await db.batch([
    db.prepare(START_SQL).bind(before),
    db.prepare(`SELECT ${CHANGE_COLUMNS} FROM key_changes WHERE seq > (${START_SQL}) ORDER BY seq LIMIT ?2`).bind(before, limit),
  ]);
  const position = (start?.results[0] as { seq: number } | undefined)?.seq ?? 0;
  return { start: position, changes: ((changes?.results ?? []) as ChangeRow[]).map(changeOf) };
}

/** Deletes the changes older than the retention. */
export async function pruneKeyChanges(db: D1Database, now: number): Promise<void> {
  await db
    .prepare('DELETE FROM key_changes WHERE changed_at < ?1')
    .bind(Math.floor(now / 1000) - KEY_CHANGE_RETENTION_SECONDS)
    .run();
}

/**
 * The feed position a verification read sees, as an SQL expression to select beside the key:
 * every change up to it is reflected in what the read returned.
 */
export const FEED_POSITION_SQL = '(SELECT coalesce(max(seq), 0) FROM key_changes)';

/**
 * Whether a statement changed its row. D1's meta.changes also counts the rows its triggers wrote
 * (a key's status update writes a key_changes row too), so "changed" is "> 0", never "=== 1":
 * every statement this is used for targets one row at most.
 */
export function applied(result: D1Result | undefined): boolean {
  return (result?.meta.changes ?? 0) > 0;
}
