// The npm commands a newcomer runs first, as processes: npm start refusing a PORT that is taken
// (before it starts or announces anything), and the --help and lifetime checks of the scripts.
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { unstable_readConfig } from 'wrangler';
import { ROOT } from '../../scripts/lib/wrangler.mjs';

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
});

describe('the scripts', () => {
  for (const script of ['scripts/token.mjs', 'scripts/set-key-limit.mjs']) {
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
