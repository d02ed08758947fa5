// Reading D1 directly: what tests assert about stored keys, audit entries and "nothing changed".
import { env } from 'cloudflare:workers';
import type { ApiKeyRow } from '../../src/db/api-keys';
import type { AuditRow as StoredAuditRow } from '../../src/db/audit';

/** A row of api_keys as stored. */
export type KeyRow = ApiKeyRow;

/** A row of audit_entries as stored. */
export type AuditRow = StoredAuditRow;

export function keyRow(id: string): Promise<KeyRow | null> {
  return env.DB.prepare('SELECT * FROM api_keys WHERE id = ?1').bind(id).first<KeyRow>();
}

export async function keyRowsOf(organizationId: string): Promise<KeyRow[]> {
  const { results } = await env.DB.prepare('SELECT * FROM api_keys WHERE organization_id = ?1 ORDER BY seq')
    .bind(organizationId)
    .all<KeyRow>();
  return results;
}

export async function auditRowsOf(organizationId: string): Promise<AuditRow[]> {
  const { results } = await env.DB.prepare('SELECT * FROM audit_entries WHERE organization_id = ?1 ORDER BY seq')
    .bind(organizationId)
    .all<AuditRow>();
  return results;
}

export async function auditRowsOfKey(keyId: string): Promise<AuditRow[]> {
  const { results } = await env.DB.prepare('SELECT * FROM audit_entries WHERE key_id = ?1 ORDER BY seq').bind(keyId).all<AuditRow>();
  return results;
}

/**
 * Everything a refused request could have written: the organization's keys (without last use,
 * which a successful verification may touch) and audit entries, and both tables' totals (a
 * write under the wrong organization shows there). Tests in a file run one after another, so
 * totals only move with the test's own requests.
 */
export async function storageState(organizationId: string) {
  const keys = (await keyRowsOf(organizationId)).map(({ last_used_at: _lastUsed, ...rest }) => rest);
  const audit = await auditRowsOf(organizationId);
  const totals = await env.DB.prepare(
    `SELECT (SELECT count(*) FROM api_keys) AS keys, (SELECT count(*) FROM api_keys WHERE status = 'active') AS active,
            (SELECT count(*) FROM audit_entries) AS audit`,
  ).first<{ keys: number; active: number; audit: number }>();
  return { keys, audit, totals };
}

/** Polls `read` until `done` holds or `timeoutMs` passes; returns the last value read. */
export async function poll<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 1_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value) && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    value = await read();
  }
  return value;
}
