// Seeds the bench's D1 directly (no HTTP): schema.sql, then api_keys rows for keys generated with
// Keygate's own key format and hashed as Keygate hashes them. The plaintext keys stay in memory.
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { splitSqlStatements } from '../../scripts/lib/sql.mjs';
import { ROOT } from './paths.mjs';

/** @typedef {Awaited<ReturnType<import('miniflare').Miniflare['getD1Database']>>} D1Database */
/** @typedef {import('./build.mjs').KeyFormat} KeyFormat */
/** @typedef {{ requests: number, windowSeconds: number }} RateLimit a request budget: N per S seconds */
/** @typedef {{ id: string, organizationId: string, clientId: string, secret: string, rateLimit?: RateLimit }} OrgKey */
/** @typedef {{ id: string, organizationId: string, projectId: string, secret: string, rateLimit?: RateLimit }} ProjectKey */
/** @typedef {{ orgKeys: OrgKey[], projectKeys: ProjectKey[] }} SeededKeys */

/** Keys per organization: ORG_KEYS_PER_ORG organization keys, then project keys in projects of PROJECT_SIZE. */
const ORG_KEYS_PER_ORG = 10;
const PROJECT_KEYS_PER_ORG = 10;
const PROJECT_SIZE = 5;

// Every prepare() through Miniflare's binding proxy is a synchronous round trip of a few ms, so
// rows go in multi-row INSERTs (ROWS_PER_INSERT each), STATEMENTS_PER_BATCH of them per batch.
const ROWS_PER_INSERT = 200;
const STATEMENTS_PER_BATCH = 25;

/** @param {D1Database} db */
export async function applySchema(db) {
  const statements = splitSqlStatements(readFileSync(join(ROOT, 'schema.sql'), 'utf8'));
  await db.batch(statements.map((sql) => db.prepare(sql)));
}

/**
 * Generates `count` keys, half organization keys (with client IDs) and half project keys, spread
 * over organizations named `${prefix}-00000`...; with `projectOnly`, project keys only.
 * @param {KeyFormat} format
 * @param {{ count: number, prefix: string, projectOnly?: boolean }} plan
 * @returns {SeededKeys}
 */
export function generateKeys(format, { count, prefix, projectOnly = false }) {
  /** @type {SeededKeys} */
  const keys = { orgKeys: [], projectKeys: [] };
  const perOrg = projectOnly ? PROJECT_KEYS_PER_ORG : ORG_KEYS_PER_ORG + PROJECT_KEYS_PER_ORG;
  for (let i = 0; i < count; i++) {
    const organizationId = `${prefix}-${String(Math.floor(i / perOrg)).padStart(5, '0')}`;
    const slot = i % perOrg;
    const isOrgKey = !projectOnly && slot < ORG_KEYS_PER_ORG;
    if (isOrgKey) {
      keys.orgKeys.push({
        id: `key_${format.randomBase62(24)}`,
        organizationId,
        clientId: format.generateKey('clientId'),
        secret: format.generateKey('orgSecret'),
      });
    } else {
      const projectSlot = projectOnly ? slot : slot - ORG_KEYS_PER_ORG;
      keys.projectKeys.push({
        id: randomUUID(),
        organizationId,
        projectId: `project-${Math.floor(projectSlot / PROJECT_SIZE)}`,
        secret: format.generateKey('project'),
      });
    }
  }
  return keys;
}

/** @param {string | number | null} value */
function sqlLiteral(value) {
  if (typeof value === 'number') return String(Math.trunc(value));
  return value === null ? 'NULL' : `'${value.replaceAll("'", "''")}'`;
}

/**
 * Inserts the keys as active api_keys rows, as Keygate stores them: SHA-256 (hex) of the
 * secret, its last four characters, the permissions new keys get, the key's own request budget
 * when it has one.
 * @param {D1Database} db
 * @param {KeyFormat} format
 * @param {SeededKeys} keys
 */
export async function insertKeys(db, format, keys) {
  const now = new Date().toISOString();
  const orgPermissions = JSON.stringify(format.ORG_KEY_PERMISSIONS);
  const projectPermissions = JSON.stringify(format.PROJECT_KEY_PERMISSIONS);
  /** @param {string} secret */
  const hash = (secret) => createHash('sha256').update(secret).digest('hex');
  const rows = [
    ...keys.orgKeys.map((k, i) => [
      k.id,
      'org',
      k.organizationId,
      null,
      `bench org key ${i}`,
      k.clientId,
      hash(k.secret),
      format.lastFour(k.secret),
      orgPermissions,
      k.rateLimit?.requests ?? null,
      k.rateLimit?.windowSeconds ?? null,
    ]),
    ...keys.projectKeys.map((k, i) => [
      k.id,
      'project',
      k.organizationId,
      k.projectId,
      `bench key ${i}`,
      null,
      hash(k.secret),
      format.lastFour(k.secret),
      projectPermissions,
      k.rateLimit?.requests ?? null,
      k.rateLimit?.windowSeconds ?? null,
    ]),
  ].map((values) => `(${[...values, 'active', 'bench', now, now].map(sqlLiteral).join(', ')})`);

  const statements = [];
  for (let start = 0; start < rows.length; start += ROWS_PER_INSERT) {
    statements.push(
      `INSERT INTO api_keys (id, kind, organization_id, project_id, name, client_id, secret_hash, key_last_four,
         permissions, rate_limit_requests, rate_limit_window_seconds, status, created_by, created_at, updated_at)
       VALUES ${rows.slice(start, start + ROWS_PER_INSERT).join(',\n')}`,
    );
  }
  for (let start = 0; start < statements.length; start += STATEMENTS_PER_BATCH) {
    await db.batch(statements.slice(start, start + STATEMENTS_PER_BATCH).map((sql) => db.prepare(sql)));
  }
}

/**
 * Rows in api_keys.
 * @param {D1Database} db
 * @returns {Promise<number>}
 */
export async function countKeys(db) {
  const row = await db.prepare('SELECT count(*) AS n FROM api_keys').first();
  return Number(row?.n ?? 0);
}
