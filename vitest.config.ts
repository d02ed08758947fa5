// Tests run inside workerd through the Workers Vitest pool, against wrangler.toml's bindings
// (D1 and KV in memory, isolated per test file). test/support/setup.ts applies migrations/ to DB.
import { readFileSync } from 'node:fs';
import { cloudflareTest, getRunnerName, readD1Migrations } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';
import { rs256KeyPair } from './scripts/lib/rs256.mjs';
import { splitSqlStatements } from './scripts/lib/sql.mjs';

/** The JWKS URL tests point JWT_JWKS_URL at; answered below, never fetched from the network. */
export const TEST_JWKS_URL = 'https://jwks.keygate.test/.well-known/jwks.json';

/** An origin reached by URL (ORIGIN_URL) in tests: answered below with an echo of the request. */
export const TEST_ORIGIN_URL = 'https://origin.keygate.test/';

// The Vitest project name; the pool names the Worker that runs the tests (and serves
// src/index.ts's exports) after it, which is how the auxiliary rpc-client binds to KeygateVerifier.
const PROJECT_NAME = 'keygate';
const mainWorkerName = getRunnerName({ name: PROJECT_NAME } as unknown as Parameters<typeof getRunnerName>[0]);

// A fresh RS256 key pair per run: the public half is served as the test JWKS, the private half
// is handed to the tests so they can sign identity-provider tokens.
const { publicJwk, privateJwk } = await rs256KeyPair('test-key-1');

let jwksFetches = 0;

/** Echo of a request to TEST_ORIGIN_URL: what an origin reached by URL received. */
async function echoOriginUrl(request: Request): Promise<Response> {
  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => {
    headers[name] = value;
  });
  const body = request.method === 'GET' || request.method === 'HEAD' ? null : await request.text();
  return Response.json({ echo: 'origin-url', method: request.method, url: request.url, headers, body });
}

export default defineConfig({
  plugins: [
    cloudflareTest({
      main: './src/index.ts',
      wrangler: { configPath: './wrangler.toml' },
      miniflare: {
        bindings: {
          JWT_SECRET: 'test-only-jwt-secret-0123456789abcdef0123456789abcdef',
          // Usage counts are written right after each response (tests that wait for a request's
          // waitUntil would otherwise wait the default 5 s); test/usage sets its own delays.
          USAGE_FLUSH_SECONDS: '0',
          // The key change feed is off here, so that tests of the isolate TTL and of each request's
          // exact storage operations see those alone; test/cache/feed*.test.ts turn it on.
          KEY_FEED_SECONDS: '0',
          // migrations/ as wrangler reads them, for applyD1Migrations (test/support/setup.ts).
          TEST_MIGRATIONS: await readD1Migrations('migrations'),
          // schema.sql, and schema.sql as deployed before migrations/ (commit a2e59ce), as
          // statements: test/db/migrations.test.ts holds the migrations to both.
          TEST_SCHEMA: JSON.stringify(splitSqlStatements(readFileSync('schema.sql', 'utf8'))),
          TEST_LEGACY_SCHEMA: JSON.stringify(splitSqlStatements(readFileSync('test/db/fixtures/schema-a2e59ce.sql', 'utf8'))),
          TEST_JWKS_URL,
          TEST_JWKS_PRIVATE_KEY: JSON.stringify(privateJwk),
          TEST_ORIGIN_URL,
          // The reference origin's schema and demo data, for ORIGIN_DB (test/support/origin.ts).
          TEST_ORIGIN_SCHEMA: JSON.stringify([
            ...splitSqlStatements(readFileSync('examples/origin/schema.sql', 'utf8')),
            ...splitSqlStatements(readFileSync('examples/origin/seed.sql', 'utf8')),
          ]),
        },
        // The reference origin's database, for tests that run examples/origin in-process; and three
        // empty databases for test/db/migrations.test.ts (migrations/, schema.sql, the old schema).
        d1Databases: {
          ORIGIN_DB: 'keygate-origin-test',
          MIGRATIONS_DB: 'keygate-migrations-test',
          SCHEMA_CHECK_DB: 'keygate-schema-check-test',
          LEGACY_DB: 'keygate-legacy-test',
        },
        serviceBindings: { RPC_CLIENT: 'rpc-client' },
        workers: [
          // wrangler.toml binds ORIGIN to the "keygate-origin" Worker. In tests it is this recording
          // origin: it answers with what it received, so tests can assert exactly what arrives.
          {
            name: 'keygate-origin',
            modules: true,
            compatibilityDate: '2026-04-20',
            script: `export default {
              async fetch(request) {
                const url = new URL(request.url);
                return Response.json(
                  { method: request.method, path: url.pathname, search: url.search,
                    headers: Object.fromEntries(request.headers), body: await request.text() },
                  { headers: { 'x-recording-origin': 'yes' } },
                );
              },
            };`,
          },
          // A Worker calling Keygate over RPC through a service binding to the KeygateVerifier entrypoint.
          {
            name: 'rpc-client',
            modules: true,
            scriptPath: './test/support/workers/rpc-client.mjs',
            compatibilityDate: '2026-04-20',
            serviceBindings: { KEYGATE: { name: mainWorkerName, entrypoint: 'KeygateVerifier' } },
          },
        ],
        outboundService(request: Request) {
          if (request.url === TEST_JWKS_URL) {
            jwksFetches++;
            return Response.json({ keys: [publicJwk] }, { headers: { 'x-jwks-fetches': String(jwksFetches) } });
          }
          if (request.url.startsWith(TEST_ORIGIN_URL)) return echoOriginUrl(request);
          return new Response('no network in tests', { status: 502 });
        },
      },
    }),
  ],
  test: {
    name: PROJECT_NAME,
    include: ['test/**/*.test.ts'],
    setupFiles: ['./test/support/setup.ts'],
  },
});
