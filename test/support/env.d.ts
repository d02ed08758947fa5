// Bindings vitest.config.ts adds for the project-key, gateway, origin and RPC tests.
declare namespace Cloudflare {
  interface Env {
    /** An origin reached by URL: vitest.config.ts's outboundService echoes requests to it. */
    TEST_ORIGIN_URL: string;
    /** examples/origin/schema.sql then seed.sql, as statements (JSON array). */
    TEST_ORIGIN_SCHEMA: string;
    /** The reference origin's database, for examples/origin run in-process. */
    ORIGIN_DB: D1Database;
    /** The auxiliary rpc-client Worker, bound to Keygate's KeygateVerifier entrypoint. */
    RPC_CLIENT: Fetcher;
  }
}
