// migrations/ and schema.sql describe one schema: every migration applied to an empty database
// gives exactly what schema.sql gives; a database created by the schema.sql deployed before
// migrations (commit a2e59ce, test/db/fixtures/schema-a2e59ce.sql) upgrades to it keeping every
// row; and a second application changes nothing.
import { applyD1Migrations } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';

const migrations = env.TEST_MIGRATIONS;

/** Tables that are not the schema's: the migrations' record, AUTOINCREMENT counters, D1's own. */
const IGNORED = `name NOT IN ('d1_migrations', 'sqlite_sequence') AND tbl_name NOT IN ('d1_migrations', 'sqlite_sequence')
  AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND tbl_name NOT LIKE '\\_cf\\_%' ESCAPE '\\'`;

/** A CREATE statement compared as text: comments stripped, whitespace collapsed, IF NOT EXISTS removed. */
function normalise(sql: string | null): string | null {
  if (sql === null) return null;
  return sql
    .replace(/--[^\n]*/g, ' ')
    .replace(/\bIF\s+NOT\s+EXISTS\b/gi, ' ')
    .replace(/\s+/g, ' ')
    .replace(/\(\s+/g, '(')
    .replace(/\s+\)/g, ')')
    .replace(/\s+,/g, ',')
    .trim();
}

type Column = { name: string; type: string; notnull: number; dflt_value: string | null; pk: number };
type IndexColumn = { seqno: number; cid: number; name: string | null; desc: number; coll: string; key: number };

/** Everything about a database's schema a migration could get wrong, in a form toEqual can compare. */
async function schemaOf(db: D1Database) {
  const { results: objects } = await db
    .prepare(`SELECT type, name, tbl_name, sql FROM sqlite_master WHERE ${IGNORED} ORDER BY type, name`)
    .all<{ type: string; name: string; tbl_name: string; sql: string | null }>();
  const tables: Record<string, unknown> = {};
  for (const table of objects.filter((o) => o.type === 'table')) {
    const { results: columns } = await db.prepare(`PRAGMA table_info("${table.name}")`).all<Column & { cid: number }>();
    const { results: indexList } = await db
      .prepare(`PRAGMA index_list("${table.name}")`)
      .all<{ name: string; unique: number; origin: string; partial: number }>();
    const indexes: Record<string, unknown> = {};
    for (const index of indexList) {
      const { results: indexColumns } = await db.prepare(`PRAGMA index_xinfo("${index.name}")`).all<IndexColumn>();
      const sql = normalise(objects.find((o) => o.type === 'index' && o.name === index.name)?.sql ?? null);
      indexes[index.name] = {
        unique: index.unique,
        origin: index.origin,
        partial: index.partial,
        where: sql === null ? null : (/ WHERE (.*)$/i.exec(sql)?.[1] ?? null),
        columns: indexColumns.map(({ seqno, cid, name, desc, coll, key }) => ({ seqno, cid, name, desc, coll, key })),
      };
    }
    tables[table.name] = {
      // The CREATE TABLE text carries what the pragmas do not: CHECK and UNIQUE constraints.
      sql: normalise(table.sql),
      columns: columns.map(({ name, type, notnull, dflt_value, pk }) => ({ name, type, notnull, dflt_value, pk })),
      indexes,
    };
  }
  return {
    // Indexes are compared through the pragmas above; views and triggers by their text.
    objects: objects.map(({ type, name, tbl_name, sql }) => ({
      type,
      name,
      tbl_name,
      sql: type === 'index' || type === 'table' ? undefined : normalise(sql),
    })),
    tables,
  };
}

async function appliedMigrations(db: D1Database) {
  const { results } = await db
    .prepare('SELECT id, name, applied_at FROM d1_migrations ORDER BY id')
    .all<{ id: number; name: string; applied_at: string }>();
  return results;
}

async function execute(db: D1Database, statementsJson: string): Promise<void> {
  const statements = JSON.parse(statementsJson) as string[];
  await db.batch(statements.map((sql) => db.prepare(sql)));
}

/** Runs `fn` once; later calls get the same promise (the databases live for the whole file). */
function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let result: Promise<T> | undefined;
  return () => (result ??= fn());
}

const schemaSql = once(async () => {
  await execute(env.SCHEMA_CHECK_DB, env.TEST_SCHEMA);
  return schemaOf(env.SCHEMA_CHECK_DB);
});

const migratedFromEmpty = once(async () => {
  await applyD1Migrations(env.MIGRATIONS_DB, migrations);
  return env.MIGRATIONS_DB;
});

const TIME = '2025-01-01T00:00:00.000Z';

/** The rows a database created by the old schema.sql holds before it is upgraded. */
const LEGACY_ROWS = [
  `INSERT INTO organizations (id, key_limit, created_at, updated_at) VALUES
     ('acme', 500, '${TIME}', '${TIME}'),
     ('globex', NULL, '${TIME}', '${TIME}')`,
  // Columns: seq, id, kind, organization_id, project_id, name, client_id, secret_hash, key_last_four,
  // permissions, status, created_by, created_at, updated_at, revoked_at, last_used_at.
  `INSERT INTO api_keys VALUES
     (1, 'key_org1', 'org', 'acme', NULL, 'Production sync', 'kg_ci_1', 'hash1', 'aaa1', '[]', 'active', 'alice', '${TIME}', '${TIME}', NULL, '${TIME}'),
     (2, 'key_org2', 'org', 'acme', NULL, 'production SYNC', 'kg_ci_2', 'hash2', 'aaa2', '["read"]', 'revoked', 'alice', '${TIME}', '${TIME}', '${TIME}', NULL),
     (3, 'key_p1', 'project', 'acme', 'web', 'Deploy', NULL, 'hash3', 'aaa3', '["GET /a"]', 'active', 'alice', '${TIME}', '${TIME}', NULL, NULL),
     (4, 'key_p2', 'project', 'acme', 'web', 'CI', NULL, 'hash4', 'aaa4', '[]', 'active', 'key:key_org1', '${TIME}', '${TIME}', NULL, NULL),
     (5, 'key_p3', 'project', 'acme', 'web', 'deploy', NULL, 'hash5', 'aaa5', '[]', 'revoked', 'bob', '${TIME}', '${TIME}', '${TIME}', NULL),
     (6, 'key_p4', 'project', 'acme', 'mobile', 'deploy', NULL, 'hash6', 'aaa6', '[]', 'active', 'bob', '${TIME}', '${TIME}', NULL, NULL),
     (7, 'key_p5', 'project', 'globex', 'web', 'DEPLOY', NULL, 'hash7', 'aaa7', '[]', 'active', 'carol', '${TIME}', '${TIME}', NULL, NULL),
     (8, 'key_p6', 'project', 'acme', 'web', 'DEPLOY', NULL, 'hash8', 'aaa8', '[]', 'active', 'alice', '${TIME}', '${TIME}', NULL, NULL),
     (9, 'key_p7', 'project', 'acme', 'api', 'Build', NULL, 'hash9', 'aaa9', '[]', 'active', 'alice', '${TIME}', '${TIME}', NULL, NULL),
     (10, 'key_p8', 'project', 'acme', 'api', 'Build (2)', NULL, 'hash10', 'aa10', '[]', 'active', 'alice', '${TIME}', '${TIME}', NULL, NULL),
     (11, 'key_p9', 'project', 'acme', 'api', 'build', NULL, 'hash11', 'aa11', '[]', 'active', 'alice', '${TIME}', '${TIME}', NULL, NULL)`,
  `INSERT INTO audit_entries (id, organization_id, project_id, key_id, key_kind, action, actor_type, actor_id, ip, user_agent, created_at) VALUES
     ('aud_1', 'acme', NULL, 'key_org1', 'org', 'created', 'user', 'alice', '192.0.2.1', 'curl/8', '${TIME}'),
     ('aud_2', 'acme', NULL, 'key_org2', 'org', 'revoked', 'user', 'alice', NULL, NULL, '${TIME}'),
     ('aud_3', 'acme', 'web', 'key_p1', 'project', 'created', 'user', 'alice', NULL, NULL, '${TIME}'),
     ('aud_4', 'acme', 'web', 'key_p3', 'project', 'updated', 'key', 'key_org1', '198.51.100.7', 'sdk', '${TIME}'),
     ('aud_5', 'globex', 'web', 'key_p5', 'project', 'updated', 'user', 'carol', NULL, NULL, '${TIME}'),
     ('aud_6', 'globex', 'web', 'key_gone', 'project', 'deleted', 'user', 'carol', NULL, NULL, '${TIME}')`,
];

/** What 0002 renames (see its header): the later duplicates under NOCASE within one project. */
const RENAMED: Record<string, string> = {
  key_p3: 'deploy (2)', // "Deploy" (seq 3) keeps its name; "deploy" (seq 5) is the second
  key_p6: 'DEPLOY (3)', // and "DEPLOY" (seq 8) the third; other projects and organizations are apart
  key_p9: 'build (key_p9)', // "build (2)" is taken by "Build (2)" under NOCASE: the id instead
};

async function allRows(db: D1Database) {
  const organizations = (await db.prepare('SELECT * FROM organizations ORDER BY id').all()).results;
  const apiKeys = (await db.prepare('SELECT * FROM api_keys ORDER BY seq').all<{ id: string; name: string }>()).results;
  const auditEntries = (await db.prepare('SELECT * FROM audit_entries ORDER BY seq').all()).results;
  // The AUTOINCREMENT counters of the schema's tables (list cursors rely on seq never coming back).
  const sequences = (await db.prepare(`SELECT name, seq FROM sqlite_sequence WHERE name <> 'd1_migrations' ORDER BY name`).all()).results;
  return { organizations, apiKeys, auditEntries, sequences };
}

describe('migrations/', () => {
  it('applied to an empty database, gives exactly the schema of schema.sql', async () => {
    const expected = await schemaSql();
    const db = await migratedFromEmpty();
    expect((await appliedMigrations(db)).map((m) => m.name)).toEqual(migrations.map((m) => m.name));
    // Not two empty schemas compared: schema.sql creates the service's tables.
    expect(Object.keys(expected.tables).sort()).toEqual([
      'api_keys',
      'audit_entries',
      'key_changes',
      'organizations',
      'projects',
      'usage_hourly',
    ]);
    // ... and the key change feed's triggers (compared by their text below).
    expect(expected.objects.filter((o) => o.type === 'trigger').map((o) => o.name)).toEqual([
      'api_keys_changed',
      'api_keys_deleted',
      'organizations_budget_changed',
      'organizations_budget_set',
      'projects_budget_changed',
      'projects_budget_set',
    ]);
    expect(await schemaOf(db)).toEqual(expected);
  });

  it('upgrades a database created by the old schema.sql, keeping every row and renaming the later duplicate names', async () => {
    const db = env.LEGACY_DB;
    await execute(db, env.TEST_LEGACY_SCHEMA);
    await execute(db, JSON.stringify(LEGACY_ROWS));
    const before = await allRows(db);
    expect(before.apiKeys).toHaveLength(11);
    // The old schema keeps no record of migrations: wrangler applies all of them, 0001 included.
    const legacyTables = (await db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'd1_migrations'`).all()).results;
    expect(legacyTables).toEqual([]);

    await applyD1Migrations(db, migrations);

    const after = await allRows(db);
    // 0004 adds budgets, unset (null: the defaults) on every existing row.
    const noBudget = { rate_limit_requests: null, rate_limit_window_seconds: null };
    // 0005 adds the key lifecycle, unset on every existing row.
    const noLifecycle = { expires_at: null, rolled_from: null, rolled_to: null, leaked_at: null, leak_source: null };
    const expectedKeys = before.apiKeys.map((row) => ({
      ...row,
      ...noBudget,
      ...noLifecycle,
      ...(row.id in RENAMED ? { name: RENAMED[row.id] } : {}),
    }));
    // 0003 names each entry's key as it is after 0002; a deleted key's entries keep NULL.
    const nameOf = new Map(expectedKeys.map((row) => [row.id, row.name]));
    const expectedAudit = before.auditEntries.map((row) => ({ ...row, key_name: nameOf.get(row.key_id as string) ?? null }));
    expect(expectedAudit.map((row) => row.key_name)).toEqual([
      'Production sync',
      'production SYNC',
      'Deploy',
      'deploy (2)',
      'DEPLOY',
      null,
    ]);
    const expectedOrganizations = before.organizations.map((row) => ({ ...row, ...noBudget }));
    expect(after).toEqual({ ...before, organizations: expectedOrganizations, apiKeys: expectedKeys, auditEntries: expectedAudit });
    expect((await appliedMigrations(db)).map((m) => m.name)).toEqual(migrations.map((m) => m.name));
    expect(await schemaOf(db)).toEqual(await schemaSql());
    // The case-insensitive uniqueness holds now.
    await expect(
      db
        .prepare(
          `INSERT INTO api_keys (id, kind, organization_id, project_id, name, secret_hash, key_last_four, created_by, created_at, updated_at)
           VALUES ('key_new', 'project', 'acme', 'web', 'deploy', 'hash_new', 'anew', 'alice', ?1, ?1)`,
        )
        .bind(TIME)
        .run(),
    ).rejects.toThrow(/UNIQUE constraint failed/);
  });

  it('applied a second time, changes nothing', async () => {
    const db = await migratedFromEmpty();
    await db
      .prepare(
        `INSERT INTO api_keys (id, kind, organization_id, project_id, name, secret_hash, key_last_four, created_by, created_at, updated_at)
         VALUES ('key_again', 'project', 'acme', 'web', 'Deploy', 'hash_again', 'agai', 'alice', ?1, ?1)`,
      )
      .bind(TIME)
      .run();
    const schemaBefore = await schemaOf(db);
    const rowsBefore = await allRows(db);
    const appliedBefore = await appliedMigrations(db);
    expect(appliedBefore.map((m) => m.name)).toEqual(migrations.map((m) => m.name));

    await applyD1Migrations(db, migrations);

    expect(await appliedMigrations(db)).toEqual(appliedBefore);
    expect(await allRows(db)).toEqual(rowsBefore);
    expect(await schemaOf(db)).toEqual(schemaBefore);
  });
});
