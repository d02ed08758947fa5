// The api_keys table: both kinds of key, their metadata and the SHA-256 of their secret.
import type { Budget } from '../env';
import type { KeyKind } from '../keys/types';
import { type AuditEntryInput, insertAuditAfterChange } from './audit';
import { type UniqueConflict, uniqueConflictOf } from './errors';
import { applied, FEED_POSITION_SQL } from './key-changes';
import { activeKeysExpression, budgetOf, keyLimitExpression, notExpired } from './organizations';
import type { PagePosition } from './page';
import { type D1Queries, primaryReads, replicaReads, servedByPrimary } from './sessions';

export type KeyStatus = 'active' | 'revoked';

/** What both kinds of stored key have. secretHash never leaves the key service. */
type StoredKeyFields = {
  seq: number;
  id: string;
  organizationId: string;
  name: string;
  secretHash: string;
  keyLastFour: string;
  permissions: string[];
  status: KeyStatus;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
  /** The key's own request budget, tighter than its organization's or project's (null: none). */
  rateLimit: Budget | null;
  /** When the key stops working by itself (ISO 8601; null: never). */
  expiresAt: string | null;
  /** The key this one replaced in a roll, and the key that replaced it. */
  rolledFrom: string | null;
  rolledTo: string | null;
  /** When a leak of the key was reported, and where (the report's URL). */
  leakedAt: string | null;
  leakSource: string | null;
};

/** An organization key: a client ID, no project (the schema's CHECK says the same). */
export type StoredOrgKey = StoredKeyFields & { kind: 'org'; clientId: string; projectId: null };
/** A project key: a project, no client ID. */
export type StoredProjectKey = StoredKeyFields & { kind: 'project'; clientId: null; projectId: string };
/** A stored key of either kind. */
export type StoredKey = StoredOrgKey | StoredProjectKey;

/** A key about to be inserted: either kind, without what the database or later changes set. */
export type NewKey = StoredKey extends infer K
  ? K extends StoredKey
    ? Omit<K, 'seq' | 'status' | 'updatedAt' | 'revokedAt' | 'lastUsedAt' | 'rolledTo' | 'leakedAt' | 'leakSource'>
    : never
  : never;

/** A row of api_keys as D1 returns it. */
export type ApiKeyRow = {
  seq: number;
  id: string;
  kind: KeyKind;
  organization_id: string;
  project_id: string | null;
  name: string;
  client_id: string | null;
  secret_hash: string;
  key_last_four: string;
  permissions: string;
  status: KeyStatus;
  created_by: string;
  created_at: string;
  updated_at: string;
  revoked_at: string | null;
  last_used_at: string | null;
  rate_limit_requests: number | null;
  rate_limit_window_seconds: number | null;
  expires_at: string | null;
  rolled_from: string | null;
  rolled_to: string | null;
  leaked_at: string | null;
  leak_source: string | null;
};

export function rowToKey(row: ApiKeyRow): StoredKey {
  const fields: StoredKeyFields = {
    seq: row.seq,
    id: row.id,
    organizationId: row.organization_id,
    name: row.name,
    secretHash: row.secret_hash,
    keyLastFour: row.key_last_four,
    permissions: JSON.parse(row.permissions) as string[],
    status: row.status,
    createdBy: row.created_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
    rateLimit: budgetOf(row.rate_limit_requests, row.rate_limit_window_seconds),
    expiresAt: row.expires_at,
    rolledFrom: row.rolled_from,
    rolledTo: row.rolled_to,
    leakedAt: row.leaked_at,
    leakSource: row.leak_source,
  };
  // The schema's CHECK guarantees the pairing; a row breaking it is corrupt.
  if (row.kind === 'org' && row.client_id !== null && row.project_id === null)
    return { ...fields, kind: 'org', clientId: row.client_id, projectId: null };
  if (row.kind === 'project' && row.project_id !== null && row.client_id === null)
    return { ...fields, kind: 'project', clientId: null, projectId: row.project_id };
  throw new Error(`api_keys row ${row.id} breaks the kind CHECK`);
}

function rowToOrgKey(row: ApiKeyRow): StoredOrgKey {
  const key = rowToKey(row);
  if (key.kind !== 'org') throw new Error(`api_keys row ${row.id} is not an organization key`);
  return key;
}

function rowToProjectKey(row: ApiKeyRow): StoredProjectKey {
  const key = rowToKey(row);
  if (key.kind !== 'project') throw new Error(`api_keys row ${row.id} is not a project key`);
  return key;
}

/** How an insert ended: stored, stopped by the key limit, or by a taken name or value. */
export type InsertOutcome = 'inserted' | 'limit_reached' | UniqueConflict;

/**
 * An INSERT of `key` (?1–?15) that only writes when `condition` holds; the condition's own
 * parameters are ?16 onwards (`extra`). The key's creation time is ?10, its organization ?3.
 */
function conditionalKeyInsert(db: D1Database, key: NewKey, condition: string, ...extra: unknown[]): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO api_keys (id, kind, organization_id, project_id, name, client_id, secret_hash, key_last_four,
         permissions, created_by, created_at, updated_at, rate_limit_requests, rate_limit_window_seconds, expires_at, rolled_from, status)
       SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?11, ?10, ?10, ?12, ?13, ?14, ?15, 'active'
       WHERE ${condition}`,
    )
    .bind(
      key.id,
      key.kind,
      key.organizationId,
      key.projectId,
      key.name,
      key.clientId,
      key.secretHash,
      key.keyLastFour,
      JSON.stringify(key.permissions),
      key.createdAt,
      key.createdBy,
      key.rateLimit?.requests ?? null,
      key.rateLimit?.windowSeconds ?? null,
      key.expiresAt,
      key.rolledFrom,
      ...extra,
    );
}

/**
 * Inserts a key only while its organization has fewer active keys than its limit, and its audit
 * entry with it, in one batch (one transaction): concurrent creates cannot overshoot the limit.
 */
export async function insertKeyWithinLimit(
  db: D1Database,
  key: NewKey,
  defaultLimit: number,
  audit: AuditEntryInput,
): Promise<InsertOutcome> {
  const insert = conditionalKeyInsert(db, key, `${activeKeysExpression(3, 10)} < ${keyLimitExpression(3, 16)}`, defaultLimit);
  try {
    const [inserted] = await db.batch([insert, insertAuditAfterChange(db, audit)]);
    return applied(inserted) ? 'inserted' : 'limit_reached';
  } catch (err) {
    const conflict = uniqueConflictOf(err);
    if (conflict) return conflict;
    throw err;
  }
}

/** An active key as verification needs it: with the budget of its organization (org keys) or project (project keys). */
export type ActiveKey = { key: StoredKey; parentRateLimit: Budget | null };

/**
 * What verification reads of a key (aliased k): its row, the feed position the read saw (every
 * change up to it is reflected in the row, src/cache/feed.ts), and the request budget an operator
 * set for its organization (organization keys) or its project (project keys); NULL there means
 * the default (ORG_RATE_LIMIT, PROJECT_RATE_LIMIT).
 */
const VERIFICATION_SELECT = `SELECT k.*, ${FEED_POSITION_SQL} AS feed_position,
    CASE WHEN k.kind = 'org' THEN o.rate_limit_requests ELSE p.rate_limit_requests END AS parent_requests,
    CASE WHEN k.kind = 'org' THEN o.rate_limit_window_seconds ELSE p.rate_limit_window_seconds END AS parent_window_seconds
  FROM api_keys k
  LEFT JOIN organizations o ON o.id = k.organization_id
  LEFT JOIN projects p ON p.organization_id = k.organization_id AND p.project_id = k.project_id`;

type VerificationRow = ApiKeyRow & { feed_position: number; parent_requests: number | null; parent_window_seconds: number | null };

function activeKeyOf(row: VerificationRow): ActiveKey {
  return { key: rowToKey(row), parentRateLimit: budgetOf(row.parent_requests, row.parent_window_seconds) };
}

/**
 * What a verification's look-up found (null: no such active key) and whether the primary answered
 * it: a replica's answer may be behind the primary by the replica's lag (src/db/sessions.ts).
 */
export type KeyLookup = { active: ActiveKey | null; servedByPrimary: boolean; feedPosition?: number };

/**
 * The active key whose secret hashes to `secretHash`, if any, with the request budget an
 * operator set for its organization (organization keys) or its project (project keys); null
 * there means the default (ORG_RATE_LIMIT, PROJECT_RATE_LIMIT). `db` is the binding (the primary)
 * or a session (src/db/sessions.ts); the result says which instance answered, and at which
 * position of the key change feed.
 */
export async function findActiveKeyByHash(db: D1Queries, secretHash: string, now: string): Promise<KeyLookup> {
  const { results, meta } = await db
    .prepare(
      `${VERIFICATION_SELECT}
       WHERE k.secret_hash = ?1 AND k.status = 'active' AND ${notExpired(2, 'k')}`,
    )
    .bind(secretHash, now)
    .all<VerificationRow>();
  const row = results[0];
  if (!row) return { active: null, servedByPrimary: servedByPrimary(meta) };
  return {
    active: activeKeyOf(row),
    servedByPrimary: servedByPrimary(meta),
    // Every change of the key change feed up to here is reflected in this row (src/cache/feed.ts).
    feedPosition: row.feed_position,
  };
}

/** Where a page of the warm start's read ended: the last key's lastUsedAt ('' for never) and seq. */
export type WarmCursor = { lastUsedAt: string; seq: number };

/** A page of active keys for a new isolate's warm start (src/keys/verify.ts warmTier), most recently used first. */
export type WarmPage = {
  keys: Array<{ secretHash: string; active: ActiveKey }>;
  /** Every change of the key change feed up to here is reflected in these rows. */
  feedPosition: number;
  /** Where the next page starts (null: this was the last). */
  next: WarmCursor | null;
};

/** The warm start's page query (?1, ?2: the cursor; ?3: now; ?4: the page size). */
export const WARM_KEYS_SQL = `${VERIFICATION_SELECT}
  WHERE k.status = 'active' AND (coalesce(k.last_used_at, ''), k.seq) < (?1, ?2) AND ${notExpired(3, 'k')}
  ORDER BY coalesce(k.last_used_at, '') DESC, k.seq DESC
  LIMIT ?4`;

/**
 * Up to `limit` active, unexpired keys used before `after` (most recently used first, then newest
 * first; never-used keys last), with what verification needs of each (as findActiveKeyByHash).
 * Served by the api_keys_active_last_used index (migration 0007): a page reads about `limit` rows.
 */
export async function readWarmKeys(db: D1Queries, after: WarmCursor | null, limit: number, now: string): Promise<WarmPage> {
  // Past every ISO 8601 time and every seq: the first page.
  const from = after ?? { lastUsedAt: '~', seq: Number.MAX_SAFE_INTEGER };
  const { results } = await db.prepare(WARM_KEYS_SQL).bind(from.lastUsedAt, from.seq, now, limit).all<VerificationRow>();
  const last = results.at(-1);
  return {
    keys: results.map((row) => ({ secretHash: row.secret_hash, active: activeKeyOf(row) })),
    // An empty page carries no row to read the position from: nothing is held from it anyway.
    feedPosition: results[0]?.feed_position ?? 0,
    next: last && results.length === limit ? { lastUsedAt: last.last_used_at ?? '', seq: last.seq } : null,
  };
}

/**
 * The active key for `secretHash` as verification looks it up (src/keys/verify.ts): any replica
 * may answer (a 'first-unconstrained' session), unless `primaryOnly`. Only the primary may say
 * that a key does not exist: a replica without it may be behind its creation or reactivation, so
 * a replica's miss is asked again of the primary. A key found on a replica is reported as such.
 */
export async function lookUpActiveKey(db: D1Database, secretHash: string, now: string, primaryOnly: boolean): Promise<KeyLookup> {
  const found = await findActiveKeyByHash(primaryOnly ? primaryReads(db) : replicaReads(db), secretHash, now);
  if (found.active || found.servedByPrimary) return found;
  return findActiveKeyByHash(primaryReads(db), secretHash, now);
}

/** An organization's active (not revoked, not expired) organization keys, newest first. */
export async function listActiveOrgKeys(db: D1Database, organizationId: string, now: string): Promise<StoredOrgKey[]> {
  const { results } = await db
    .prepare(
      `SELECT * FROM api_keys WHERE organization_id = ?1 AND kind = 'org' AND status = 'active' AND ${notExpired(2)}
       ORDER BY seq DESC`,
    )
    .bind(organizationId, now)
    .all<ApiKeyRow>();
  return results.map(rowToOrgKey);
}

/** An active (not revoked, not expired) organization key of this organization, by its id or its client ID. */
export async function findActiveOrgKey(
  db: D1Database,
  organizationId: string,
  idOrClientId: string,
  now: string,
): Promise<StoredOrgKey | null> {
  const row = await db
    .prepare(
      `SELECT * FROM api_keys WHERE kind = 'org' AND status = 'active' AND organization_id = ?1
         AND (id = ?2 OR client_id = ?2) AND ${notExpired(3)}`,
    )
    .bind(organizationId, idOrClientId, now)
    .first<ApiKeyRow>();
  return row ? rowToOrgKey(row) : null;
}

/** An organization key of this organization in any status, by its id or its client ID. */
export async function findOrgKey(db: D1Database, organizationId: string, idOrClientId: string): Promise<StoredOrgKey | null> {
  const row = await db
    .prepare(`SELECT * FROM api_keys WHERE kind = 'org' AND organization_id = ?1 AND (id = ?2 OR client_id = ?2)`)
    .bind(organizationId, idOrClientId)
    .first<ApiKeyRow>();
  return row ? rowToOrgKey(row) : null;
}

/**
 * Sets a key's status (revoking or reactivating it) with its audit entry in one batch.
 * Only changes a key of this organization that is not already in that status; returns whether it did.
 */
export async function setKeyStatus(
  db: D1Database,
  organizationId: string,
  keyId: string,
  status: KeyStatus,
  now: string,
  audit: AuditEntryInput,
): Promise<boolean> {
  const update = db
    .prepare(
      `UPDATE api_keys SET status = ?3, updated_at = ?4,
         revoked_at = CASE WHEN ?3 = 'revoked' THEN ?4 ELSE NULL END
       WHERE id = ?1 AND organization_id = ?2 AND status <> ?3`,
    )
    .bind(keyId, organizationId, status, now);
  const [updated] = await db.batch([update, insertAuditAfterChange(db, audit)]);
  return applied(updated);
}

/** A project of an organization that holds keys, with how many of them are active and revoked. */
export type ProjectKeyCounts = { projectId: string; activeKeys: number; revokedKeys: number };

/** The projects of an organization that hold project keys, by project id. */
export async function listProjectsWithKeys(db: D1Database, organizationId: string): Promise<ProjectKeyCounts[]> {
  const { results } = await db
    .prepare(
      `SELECT project_id, SUM(status = 'active') AS active_keys, SUM(status = 'revoked') AS revoked_keys
       FROM api_keys WHERE organization_id = ?1 AND kind = 'project'
       GROUP BY project_id ORDER BY project_id`,
    )
    .bind(organizationId)
    .all<{ project_id: string; active_keys: number; revoked_keys: number }>();
  return results.map((row) => ({ projectId: row.project_id, activeKeys: row.active_keys, revokedKeys: row.revoked_keys }));
}

/**
 * Sets the name and the request budget of an active key of this organization, with its audit
 * entry, in one batch. Returns whether it did (false: no such active key, e.g. revoked meanwhile).
 */
export async function updateActiveKey(
  db: D1Database,
  organizationId: string,
  keyId: string,
  change: { name: string; rateLimit: Budget | null },
  now: string,
  audit: AuditEntryInput,
): Promise<boolean> {
  const update = db
    .prepare(
      `UPDATE api_keys SET name = ?3, rate_limit_requests = ?4, rate_limit_window_seconds = ?5, updated_at = ?6
       WHERE id = ?1 AND organization_id = ?2 AND status = 'active'`,
    )
    .bind(keyId, organizationId, change.name, change.rateLimit?.requests ?? null, change.rateLimit?.windowSeconds ?? null, now);
  const [updated] = await db.batch([update, insertAuditAfterChange(db, audit)]);
  return applied(updated);
}

/** Uses per UPDATE of touchLastUsed (two parameters each; D1 binds at most 100 per statement). */
const TOUCH_CHUNK = 45;

/**
 * Records when keys were used, at most once per `intervalMs` each: a row is only written when its
 * last_used_at is older than that, never moved backwards, and never set to a time at or after the
 * key's revocation (a use an isolate still accepted inside the revocation window is not recorded
 * as if the key had worked then). One statement per 45 uses, all in one batch.
 */
export async function touchLastUsed(
  db: D1Database,
  uses: ReadonlyArray<{ keyId: string; usedAt: string }>,
  now: Date,
  intervalMs: number,
): Promise<void> {
  // The latest use of each key.
  const latest = new Map<string, string>();
  for (const use of uses) {
    const seen = latest.get(use.keyId);
    if (seen === undefined || use.usedAt > seen) latest.set(use.keyId, use.usedAt);
  }
  if (latest.size === 0) return;
  const threshold = new Date(now.getTime() - intervalMs).toISOString();
  const entries = [...latest];
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < entries.length; i += TOUCH_CHUNK) {
    const chunk = entries.slice(i, i + TOUCH_CHUNK);
    const rows = chunk.map((_, j) => `(?${2 * j + 2}, ?${2 * j + 3})`).join(', ');
    statements.push(
      db
        .prepare(
          `UPDATE api_keys SET last_used_at = u.used_at
           FROM (SELECT column1 AS id, column2 AS used_at FROM (VALUES ${rows})) AS u
           WHERE api_keys.id = u.id
             AND (api_keys.last_used_at IS NULL OR (api_keys.last_used_at <= ?1 AND api_keys.last_used_at < u.used_at))
             AND (api_keys.revoked_at IS NULL OR api_keys.revoked_at > u.used_at)`,
        )
        .bind(threshold, ...chunk.flat()),
    );
  }
  await db.batch(statements);
}

/** One key of one project (any status), or null; the organization and project must match. */
export async function findProjectKey(
  db: D1Database,
  organizationId: string,
  projectId: string,
  keyId: string,
): Promise<StoredProjectKey | null> {
  const row = await db
    .prepare(`SELECT * FROM api_keys WHERE id = ?1 AND organization_id = ?2 AND project_id = ?3 AND kind = 'project'`)
    .bind(keyId, organizationId, projectId)
    .first<ApiKeyRow>();
  return row ? rowToProjectKey(row) : null;
}

/**
 * A page of a project's keys, newest first: at most `limit` keys after the one at `after` (null
 * for the first page), optionally of one status. Within one millisecond, insertion order decides;
 * the cursor's key is looked up inside this project only, and a deleted one repeats (never
 * skips) the keys of its millisecond.
 */
export async function listProjectKeys(
  db: D1Database,
  query: { organizationId: string; projectId: string; status: KeyStatus | null; limit: number; after: PagePosition | null },
): Promise<StoredProjectKey[]> {
  const { results } = await db
    .prepare(
      `SELECT * FROM api_keys
       WHERE organization_id = ?1 AND project_id = ?2 AND kind = 'project'
         AND (?3 IS NULL OR status = ?3)
         AND (?4 IS NULL OR created_at < ?4 OR (created_at = ?4 AND seq < COALESCE(
           (SELECT seq FROM api_keys WHERE id = ?5 AND organization_id = ?1 AND project_id = ?2), ${Number.MAX_SAFE_INTEGER})))
       ORDER BY created_at DESC, seq DESC LIMIT ?6`,
    )
    .bind(query.organizationId, query.projectId, query.status, query.after?.createdAt ?? null, query.after?.id ?? null, query.limit)
    .all<ApiKeyRow>();
  return results.map(rowToProjectKey);
}

/**
 * Renames and/or changes the status of a project key that still has `expectedStatus` and
 * `expectedName` (the state the change was computed from), with
 * one audit entry per change, in one batch. Reactivation only happens while the organization is
 * under its key limit. 'not_applied': the key was not in that state, or the limit stopped it.
 */
export async function updateProjectKey(
  db: D1Database,
  change: {
    organizationId: string;
    projectId: string;
    keyId: string;
    expectedStatus: KeyStatus;
    expectedName: string;
    name: string | null;
    status: KeyStatus | null;
    /** The new budget, or undefined to keep the stored one. */
    rateLimit?: Budget | null;
    now: string;
    defaultLimit: number;
  },
  audits: AuditEntryInput[],
): Promise<'updated' | 'not_applied' | 'name_taken'> {
  const update = db
    .prepare(
      `UPDATE api_keys SET
         name = COALESCE(?5, name),
         status = COALESCE(?6, status),
         updated_at = ?7,
         rate_limit_requests = CASE WHEN ?10 = 1 THEN ?11 ELSE rate_limit_requests END,
         rate_limit_window_seconds = CASE WHEN ?10 = 1 THEN ?12 ELSE rate_limit_window_seconds END,
         revoked_at = CASE WHEN ?6 = 'revoked' THEN ?7 WHEN ?6 = 'active' THEN NULL ELSE revoked_at END
       WHERE id = ?1 AND organization_id = ?2 AND project_id = ?3 AND kind = 'project' AND status = ?4
         AND name = ?9
         AND (?6 IS NOT 'active' OR ?4 = 'active'
              OR ${activeKeysExpression(2, 7)}
                 < ${keyLimitExpression(2, 8)})`,
    )
    .bind(
      change.keyId,
      change.organizationId,
      change.projectId,
      change.expectedStatus,
      change.name,
      change.status,
      change.now,
      change.defaultLimit,
      change.expectedName,
      change.rateLimit === undefined ? 0 : 1,
      change.rateLimit?.requests ?? null,
      change.rateLimit?.windowSeconds ?? null,
    );
  // Each audit INSERT writes only when the statement before it changed one row, so the chain
  // stops at the first statement that did nothing.
  try {
    const [updated] = await db.batch([update, ...audits.map((entry) => insertAuditAfterChange(db, entry))]);
    return applied(updated) ? 'updated' : 'not_applied';
  } catch (err) {
    if (uniqueConflictOf(err) === 'name') return 'name_taken';
    throw err;
  }
}

/** Deletes a project key and writes its audit entry, in one batch. Returns whether it existed. */
export async function deleteProjectKey(
  db: D1Database,
  organizationId: string,
  projectId: string,
  keyId: string,
  audit: AuditEntryInput,
): Promise<boolean> {
  const remove = db
    .prepare(`DELETE FROM api_keys WHERE id = ?1 AND organization_id = ?2 AND project_id = ?3 AND kind = 'project'`)
    .bind(keyId, organizationId, projectId);
  const [deleted] = await db.batch([remove, insertAuditAfterChange(db, audit)]);
  return applied(deleted);
}

/**
 * Rolls a key, in one batch: the old key (still active, not expired, never rolled) gets its
 * successor, its new expiry (the end of the grace) and, for project keys, a new name (the new key
 * takes the name); then the new key is inserted, then the old key's 'rolled' entry and the new
 * key's 'created' entry. Each statement only writes when the one before it changed a row, so a
 * key that another request revoked or rolled meanwhile leaves nothing behind. The key limit is
 * not checked: the old key stops counting when its grace ends.
 */
export async function rollKey(
  db: D1Database,
  roll: { old: StoredKey; oldName: string; oldExpiresAt: string; now: string },
  key: NewKey,
  audits: { rolled: AuditEntryInput; created: AuditEntryInput },
): Promise<'rolled' | 'not_applied' | UniqueConflict> {
  const update = db
    .prepare(
      `UPDATE api_keys SET rolled_to = ?3, expires_at = ?4, name = ?5, updated_at = ?6
       WHERE id = ?1 AND organization_id = ?2 AND status = 'active' AND rolled_to IS NULL AND ${notExpired(6)}`,
    )
    .bind(roll.old.id, roll.old.organizationId, key.id, roll.oldExpiresAt, roll.oldName, roll.now);
  const insert = conditionalKeyInsert(db, key, 'changes() = 1');
  try {
    const [updated] = await db.batch([
      update,
      insert,
      insertAuditAfterChange(db, audits.rolled),
      insertAuditAfterChange(db, audits.created),
    ]);
    return applied(updated) ? 'rolled' : 'not_applied';
  } catch (err) {
    const conflict = uniqueConflictOf(err);
    if (conflict) return conflict;
    throw err;
  }
}
