// Bindings the test pool adds (vitest.config.ts).
declare namespace Cloudflare {
  interface Env {
    /** migrations/ as readD1Migrations() reads them; test/support/setup.ts applies them to DB. */
    TEST_MIGRATIONS: import('cloudflare:test').D1Migration[];
    /** schema.sql as statements (JSON array). */
    TEST_SCHEMA: string;
    /** schema.sql as deployed before migrations/ (test/db/fixtures/schema-a2e59ce.sql), as statements (JSON array). */
    TEST_LEGACY_SCHEMA: string;
    /** Empty databases for test/db/migrations.test.ts: migrations/, schema.sql and the old schema.sql. */
    MIGRATIONS_DB: D1Database;
    SCHEMA_CHECK_DB: D1Database;
    LEGACY_DB: D1Database;
    TEST_JWKS_URL: string;
    TEST_JWKS_PRIVATE_KEY: string;
  }
}
