// Bindings the test pool adds (vitest.config.ts) and the main module's type for `exports`.
declare namespace Cloudflare {
  interface Env {
    TEST_SCHEMA: string;
    TEST_JWKS_URL: string;
    TEST_JWKS_PRIVATE_KEY: string;
  }
  interface GlobalProps {
    mainModule: typeof import('../src/index');
  }
}
