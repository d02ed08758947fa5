// The audit_entries table: one entry per key change, always written in the batch of the change.
import type { PagePosition } from './page';

export type AuditAction = 'created' | 'updated' | 'revoked' | 'reactivated' | 'deleted' | 'rolled' | 'leaked';

export type AuditEntryInput = {
  organizationId: string;
  projectId: string | null;
  keyId: string;
  /** The key's name at the time of the change (after it, for a rename); null for old entries of deleted keys. */
  keyName: string | null;
  keyKind: 'org' | 'project';
  action: AuditAction;
  actorType: 'user' | 'key' | 'scanner';
  actorId: string;
  ip: string | null;
  userAgent: string | null;
  createdAt: string;
};

export type AuditEntry = AuditEntryInput & { id: string };

/** A row of audit_entries as D1 returns it. */
export type AuditRow = {
  seq: number;
  id: string;
  organization_id: string;
  project_id: string | null;
  key_id: string;
  key_kind: 'org' | 'project';
  action: AuditAction;
  actor_type: 'user' | 'key' | 'scanner';
  actor_id: string;
  ip: string | null;
  user_agent: string | null;
  created_at: string;
  key_name: string | null;
};

export function rowToAuditEntry(row: AuditRow): AuditEntry & { seq: number } {
  return {
    seq: row.seq,
    id: row.id,
    organizationId: row.organization_id,
    projectId: row.project_id,
    keyId: row.key_id,
    keyName: row.key_name,
    keyKind: row.key_kind,
    action: row.action,
    actorType: row.actor_type,
    actorId: row.actor_id,
    ip: row.ip,
    userAgent: row.user_agent,
    createdAt: row.created_at,
  };
}

/**
 * An INSERT of one audit entry that only writes when the statement before it in the same batch
 * changed exactly one row, so a change that did not happen leaves no entry behind.
 */
export function insertAuditAfterChange(db: D1Database, entry: AuditEntryInput): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO audit_entries (id, organization_id, project_id, key_id, key_kind, action,
         actor_type, actor_id, ip, user_agent, created_at, key_name)
       SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12 WHERE changes() = 1`,
    )
    .bind(
      `aud_${crypto.randomUUID()}`,
      entry.organizationId,
      entry.projectId,
      entry.keyId,
      entry.keyKind,
      entry.action,
      entry.actorType,
      entry.actorId,
      entry.ip,
      entry.userAgent,
      entry.createdAt,
      entry.keyName,
    );
}

/**
 * A page of an organization's audit log, newest first, after the entry at `after` (null for the
 * first page). Within one millisecond, insertion order decides; the cursor's entry is looked up
 * inside this organization only.
 */
export async function listAuditEntries(
  db: D1Database,
  organizationId: string,
  limit: number,
  after: PagePosition | null,
): Promise<Array<AuditEntry & { seq: number }>> {
  const { results } = await db
    .prepare(
      `SELECT * FROM audit_entries
       WHERE organization_id = ?1
         AND (?2 IS NULL OR created_at < ?2 OR (created_at = ?2 AND seq < COALESCE(
           (SELECT seq FROM audit_entries WHERE id = ?3 AND organization_id = ?1), ${Number.MAX_SAFE_INTEGER})))
       ORDER BY created_at DESC, seq DESC LIMIT ?4`,
    )
    .bind(organizationId, after?.createdAt ?? null, after?.id ?? null, limit)
    .all<AuditRow>();
  return results.map(rowToAuditEntry);
}
