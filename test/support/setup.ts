// Runs before every test file: applies migrations/ to this file's D1 (as wrangler d1 migrations
// apply does; test/db/migrations.test.ts holds them equal to schema.sql), and records everything
// the code logs so the file can prove that no secret or hash was ever logged.
import { applyD1Migrations } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterAll, beforeAll, expect } from 'vitest';
import { issuedSecrets } from './fixtures';

const logged: string[] = [];
const methods = ['log', 'info', 'warn', 'error', 'debug'] as const;

beforeAll(async () => {
  await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
  for (const method of methods) {
    const original = console[method].bind(console);
    console[method] = (...args: unknown[]) => {
      logged.push(
        args
          .map((a) => (a instanceof Error ? `${a.name}: ${a.message}\n${a.stack}` : typeof a === 'string' ? a : JSON.stringify(a)))
          .join(' '),
      );
      original(...args);
    };
  }
});

afterAll(() => {
  const output = logged.join('\n');
  for (const secret of issuedSecrets) {
    expect(output.includes(secret.value), `a ${secret.kind} was logged`).toBe(false);
    expect(output.includes(secret.hash), `the hash of a ${secret.kind} was logged`).toBe(false);
  }
});
