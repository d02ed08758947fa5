// The npm commands a newcomer runs first, as processes: npm start refusing a PORT that is taken
// (before it starts or announces anything), and the --help and lifetime checks of the scripts.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { unstable_readConfig } from 'wrangler';
import { ROOT, runWrangler } from '../../scripts/lib/wrangler.mjs';

type Run = { code: number | null; stdout: string; stderr: string };

function node(script: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, script), ...args],
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err && typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : err ? null : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('npm start', () => {
  it('names PORT and exits 1, announcing nothing, when something already listens there', async () => {
    const other = createServer((socket) => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const address = other.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const run = await node('scripts/start.mjs', [], { PORT: String(port) });
      expect(run.code, run.stderr).toBe(1);
      expect(run.stderr).toContain(`PORT ${port} is already in use`);
      expect(run.stdout).not.toContain('Keygate is running');
      expect(run.stdout).not.toContain('Applying');
    } finally {
      other.close();
    }
  });
});

describe('wrangler.toml', () => {
  it('AUTH_FAILURE_LIMIT says what the AUTH_FAILURES rate limiter enforces', () => {
    const config = unstable_readConfig({ config: join(ROOT, 'wrangler.toml') });
    const limiter = config.ratelimits.find((r: { name: string }) => r.name === 'AUTH_FAILURES');
    expect(limiter?.simple).toBeDefined();
    expect(config.vars.AUTH_FAILURE_LIMIT).toBe(`${limiter?.simple.limit}/${limiter?.simple.period}s`);
  });

  it('declares the budget counters as a SQLite-backed Durable Object class', () => {
    const config = unstable_readConfig({ config: join(ROOT, 'wrangler.toml') });
    expect(config.durable_objects.bindings).toContainEqual(expect.objectContaining({ name: 'BUDGETS', class_name: 'BudgetCounter' }));
    expect(config.migrations.flatMap((m: { new_sqlite_classes?: string[] }) => m.new_sqlite_classes ?? [])).toContain('BudgetCounter');
  });
});

describe('the scripts', () => {
  for (const script of ['scripts/token.mjs', 'scripts/set-limits.mjs']) {
    it(`${script} --help prints its usage and exits 0`, async () => {
      const run = await node(script, ['--help']);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/^usage: npm run /);
    });
  }

  it('npm run token refuses a lifetime Keygate would refuse (JWT_MAX_LIFETIME_SECONDS)', async () => {
    const run = await node('scripts/token.mjs', ['--org', 'acme', '--sub', 'alice', '--ttl', '90000'], {
      JWT_SECRET: 'scripts-test-secret-0123456789abcdef',
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('JWT_MAX_LIFETIME_SECONDS (86400)');
    expect(run.stdout).toBe('');
  });
});

describe('npm run set-limits', () => {
  it("sets an organization's key limit and request budget, and a project's budget, in the local D1; default resets them", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keygate-limits-'));
    try {
      runWrangler(['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', dir], { quiet: true });
      const set = await node('scripts/set-limits.mjs', ['--org', 'acme', '--keys', '7', '--rate', '50/10s', '--persist-to', dir]);
      expect(set.code, set.stderr).toBe(0);
      expect(set.stdout).toContain('acme: key limit set to 7; request budget set to 50 requests per 10 s (local D1)');
      const project = await node('scripts/set-limits.mjs', ['--org', 'acme', '--project', 'web', '--rate', '5/60s', '--persist-to', dir]);
      expect(project.code, project.stderr).toBe(0);
      // The older spelling still works.
      const alias = await node('scripts/set-limits.mjs', ['--org', 'globex', '--limit', '3', '--persist-to', dir]);
      expect(alias.code, alias.stderr).toBe(0);
      const rows = () =>
        JSON.parse(
          runWrangler(
            [
              'd1',
              'execute',
              'DB',
              '--local',
              '--persist-to',
              dir,
              '--json',
              '--command',
              `SELECT 'org' AS kind, id, key_limit, rate_limit_requests, rate_limit_window_seconds FROM organizations
               UNION ALL SELECT 'project', organization_id || '/' || project_id, NULL, rate_limit_requests, rate_limit_window_seconds FROM projects
               ORDER BY kind, id`,
            ],
            { quiet: true },
          ),
        )[0].results;
      expect(rows()).toEqual([
        { kind: 'org', id: 'acme', key_limit: 7, rate_limit_requests: 50, rate_limit_window_seconds: 10 },
        { kind: 'org', id: 'globex', key_limit: 3, rate_limit_requests: null, rate_limit_window_seconds: null },
        { kind: 'project', id: 'acme/web', key_limit: null, rate_limit_requests: 5, rate_limit_window_seconds: 60 },
      ]);
      const reset = await node('scripts/set-limits.mjs', ['--org', 'acme', '--rate', 'default', '--persist-to', dir]);
      expect(reset.code, reset.stderr).toBe(0);
      expect(rows()[0]).toEqual({ kind: 'org', id: 'acme', key_limit: 7, rate_limit_requests: null, rate_limit_window_seconds: null });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it.each([
    [['--org', 'acme'], 'give --keys and/or --rate'],
    [['--org', 'acme', '--rate', '10/0s'], '--rate must be N/Ss'],
    [['--org', 'acme', '--rate', '10 per minute'], '--rate must be N/Ss'],
    [['--org', 'acme', '--project', 'web', '--keys', '5'], '--keys is an organization setting'],
    [['--org', "acme'; DROP TABLE api_keys; --", '--keys', '5'], '--org must be'],
  ])('refuses %j with exit 2 and says why', async (args, message) => {
    const run = await node('scripts/set-limits.mjs', args);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
  });
});
