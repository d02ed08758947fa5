// Bindings the test pool adds (vitest.config.ts).
declare namespace Cloudflare {
  interface Env {
    TEST_SCHEMA: string;
    TEST_JWKS_URL: string;
    TEST_JWKS_PRIVATE_KEY: string;
  }
}
