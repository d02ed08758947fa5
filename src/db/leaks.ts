// Leaks reported by secret scanning, in api_keys: the stored keys among reported secrets (by the
// SHA-256 of each), and recording a leak (flagging, or flagging and revoking) with its audit entry.

import { type ApiKeyRow, rowToKey, type StoredKey } from './api-keys';
import { type AuditEntryInput, insertAuditAfterChange } from './audit';
import { applied } from './key-changes';

/** Hashes per lookup, bound as one JSON array: far below D1's limits on a statement's values. */
const HASHES_PER_QUERY = 500;
/** Leaks per batch; each key's change and audit entry always share one. */
const LEAKS_PER_BATCH = 50;

/** The stored keys, in any status, whose secret hashes to one of `secretHashes`. */
export async function findKeysBySecretHashes(db: D1Database, secretHashes: readonly string[]): Promise<StoredKey[]> {
  const keys: StoredKey[] = [];
  for (let start = 0; start < secretHashes.length; start += HASHES_PER_QUERY) {
    const { results } = await db
      .prepare('SELECT * FROM api_keys WHERE secret_hash IN (SELECT value FROM json_each(?1))')
      .bind(JSON.stringify(secretHashes.slice(start, start + HASHES_PER_QUERY)))
      .all<ApiKeyRow>();
    keys.push(...results.map(rowToKey));
  }
  return keys;
}

/** A reported leak of one key: where it was found (null: not said), whether to revoke it, and its audit entry. */
export type Leak = { keyId: string; source: string | null; revoke: boolean; audit: AuditEntryInput };

/**
 * Records leaks, each with its 'leaked' audit entry in the same batch. A key gets leaked_at and
 * leak_source unless it has them (the first report is kept); with `revoke`, an active key is
 * revoked too. A key with nothing left to change (flagged before, and revoked or not to be) is
 * left alone and gets no entry. Returns, per leak, whether its key changed.
 */
export async function recordLeaks(db: D1Database, leaks: readonly Leak[], now: string): Promise<boolean[]> {
  const changed: boolean[] = [];
  for (let start = 0; start < leaks.length; start += LEAKS_PER_BATCH) {
    const chunk = leaks.slice(start, start + LEAKS_PER_BATCH);
    const statements = chunk.flatMap((leak) => [
      // SQLite evaluates every SET expression on the row as it was: leaked_at is the old value throughout.
      db
        .prepare(
          `UPDATE api_keys SET
             leaked_at = COALESCE(leaked_at, ?2),
             leak_source = CASE WHEN leaked_at IS NULL THEN ?3 ELSE leak_source END,
             revoked_at = CASE WHEN ?4 = 1 AND status = 'active' THEN ?2 ELSE revoked_at END,
             status = CASE WHEN ?4 = 1 THEN 'revoked' ELSE status END,
             updated_at = ?2
           WHERE id = ?1 AND (leaked_at IS NULL OR (?4 = 1 AND status = 'active'))`,
        )
        .bind(leak.keyId, now, leak.source, leak.revoke ? 1 : 0),
      insertAuditAfterChange(db, leak.audit),
    ]);
    const results = await db.batch(statements);
    chunk.forEach((_, i) => {
      changed.push(applied(results[2 * i]));
    });
  }
  return changed;
}
