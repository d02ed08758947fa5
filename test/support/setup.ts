// Runs before every test file: applies migrations/ to this file's D1 (as wrangler d1 migrations
// apply does; test/db/migrations.test.ts holds them equal to schema.sql), and records everything
// the code logs so the file can prove that no secret or hash was ever logged. What a test logs is
// printed only when that test fails: tests that provoke failures on purpose (D1 unavailable, an
// unhandled error) keep a green run quiet, and a red one shows the log of its failing test.
import { applyD1Migrations } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import { issuedSecrets } from './fixtures';

const logged: string[] = [];
const methods = ['log', 'info', 'warn', 'error', 'debug'] as const;
type Method = (typeof methods)[number];

/** The console as it was, for printing a failed test's lines. */
const original = Object.fromEntries(methods.map((m) => [m, console[m].bind(console)])) as Record<Method, (...args: unknown[]) => void>;
/** The lines of the running test (null between tests: printed at once). */
let testLines: Array<{ method: Method; args: unknown[] }> | null = null;

function text(args: unknown[]): string {
  return args
    .map((a) => (a instanceof Error ? `${a.name}: ${a.message}\n${a.stack}` : typeof a === 'string' ? a : JSON.stringify(a)))
    .join(' ');
}

beforeAll(async () => {
  await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
  for (const method of methods) {
    console[method] = (...args: unknown[]) => {
      logged.push(text(args));
      if (testLines) testLines.push({ method, args });
      else original[method](...args);
    };
  }
});

beforeEach((context) => {
  const lines: Array<{ method: Method; args: unknown[] }> = [];
  testLines = lines;
  context.onTestFailed(() => {
    for (const { method, args } of lines) original[method](...args);
  });
});

afterAll(() => {
  testLines = null;
  const output = logged.join('\n');
  for (const secret of issuedSecrets) {
    expect(output.includes(secret.value), `a ${secret.kind} was logged`).toBe(false);
    expect(output.includes(secret.hash), `the hash of a ${secret.kind} was logged`).toBe(false);
  }
});
