// npm run scan (scripts/scan.mjs) as a process, over a temporary tree of real keys from the Worker's
// generateKey and of near misses: what it reports (path:line, masked), what it never reports, its
// exit codes, the published checksum, and the pre-commit hook of docs/pre-commit-scan.md in a real
// git repository.
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEY_PATTERN } from '../../scripts/lib/scan-patterns.mjs';
import { ROOT } from '../../scripts/lib/wrangler.mjs';
import { generateKey, isWellFormedKey, type KeyType, randomBase62 } from '../../src/keys/format.js';

const SCAN = join(ROOT, 'scripts', 'scan.mjs');
/** The hook line of docs/pre-commit-scan.md, as a developer pastes it. */
const HOOK = 'git diff --cached --name-only --diff-filter=ACMR -z | xargs -0 -r node scripts/scan.mjs';

type Run = { code: number | null; stdout: string; stderr: string };

function result(run: SpawnSyncReturns<string>): Run {
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

function scan(args: string[], cwd = ROOT): Run {
  return result(spawnSync(process.execPath, [SCAN, ...args], { cwd, encoding: 'utf8', timeout: 60_000 }));
}

/** A shell command in a scratch repository, away from the developer's git configuration and hooks. */
function sh(command: string, cwd: string): Run {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('GIT_')));
  return result(
    spawnSync('sh', ['-c', command], {
      cwd,
      encoding: 'utf8',
      timeout: 60_000,
      env: {
        ...env,
        GIT_CONFIG_GLOBAL: '/dev/null',
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_AUTHOR_NAME: 'Scan Test',
        GIT_AUTHOR_EMAIL: 'scan@example.com',
        GIT_COMMITTER_NAME: 'Scan Test',
        GIT_COMMITTER_EMAIL: 'scan@example.com',
      },
    }),
  );
}

/** Every key generated here, real or near miss: none may ever be printed whole. */
const issued: string[] = [];
function newKey(type: KeyType): string {
  const key = generateKey(type);
  issued.push(key);
  return key;
}

function expectNoKeyPrinted(run: Run) {
  for (const key of issued) {
    expect(run.stdout).not.toContain(key);
    expect(run.stderr).not.toContain(key);
  }
}

const masked = (key: string) => `${key.slice(0, 6)}…${key.slice(-4)}`;
const secret = (key: string) => `${masked(key)} (organization secret)`;
const project = (key: string) => `${masked(key)} (project key)`;

/** The key with the character at `at` replaced by another base62 character. */
function withOneCharacterChanged(key: string, at: number): string {
  let other = key[at];
  while (other === key[at]) other = randomBase62(1);
  return key.slice(0, at) + other + key.slice(at + 1);
}

function write(path: string, content: string | Buffer) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}

describe('npm run scan', () => {
  let dir = '';
  const keys = {
    sk1: newKey('orgSecret'),
    pk1: newKey('project'),
    sk2: newKey('orgSecret'),
    pk2: newKey('project'),
    sk3: newKey('orgSecret'),
    pk3: newKey('project'),
    sk4: newKey('orgSecret'),
    clientId: newKey('clientId'),
    ignored: newKey('orgSecret'),
  };
  const near = { sk: newKey('orgSecret'), pk: newKey('project') };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'keygate-scan-'));
    write(
      join(dir, '.env'),
      `# Keygate credentials of the sync job\nKEYGATE_CLIENT_ID=${keys.clientId}\nKEYGATE_API_KEY=${keys.sk1}\nKEYGATE_PROJECT_KEY="${keys.pk1}"\n`,
    );
    write(
      join(dir, 'src', 'client.js'),
      `// the client\nimport { run } from './run.js';\n\nexport const headers = { 'x-metal-client-id': '${keys.clientId}', 'x-metal-api-key': '${keys.sk2}', 'x-api-key': '${keys.pk2}' };\n`,
    );
    // Nested three deep; the secret inside a URL, between '=' and '&'.
    write(
      join(dir, 'config', 'deploy', 'prod', 'keys.json'),
      `${JSON.stringify({ service: 'billing', keygate: { projectKey: keys.pk3, url: `https://api.example.com/v1?key=${keys.sk3}&v=1` } }, null, 2)}\n`,
    );
    write(join(dir, 'windows.txt'), `first\r\nsecond\r\nAPI_KEY=${keys.sk4}\r\n`);
    write(
      join(dir, 'near-misses.txt'),
      [
        `checksum changed: ${withOneCharacterChanged(near.sk, near.sk.length - 3)}`,
        `body changed: ${withOneCharacterChanged(near.pk, 10)}`,
        `one short: ${near.sk.slice(0, -1)}`,
        `one long: ${near.sk}x`,
        `wrong prefix: kg_xx_${near.sk.slice(6)}`,
        `upper case: KG_SK_${near.sk.slice(6)}`,
        `dashes: kg-pk-${near.pk.slice(6)}`,
        `client ID alone: ${keys.clientId}`,
        `in an identifier: MY_${near.sk} x${near.pk} ${near.sk}_old ${near.pk}9 prefix_${near.pk}`,
        'placeholders: kg_sk_... kg_pk_… kg_sk_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX',
      ].join('\n'),
    );
    // Never walked into, binary, too large, or a link: none of these is read.
    write(join(dir, '.git', 'config'), `[remote "origin"]\n\ttoken = ${keys.ignored}\n`);
    write(join(dir, 'node_modules', 'pkg', 'index.js'), `export const key = '${keys.ignored}';\n`);
    write(join(dir, '.wrangler', 'state', 'notes.txt'), `${keys.ignored}\n`);
    const pngHeader = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0x0d]);
    write(join(dir, 'assets', 'logo.png'), Buffer.concat([pngHeader, Buffer.from(`\n${keys.ignored}\n`)]));
    write(join(dir, 'dump.sql'), `-- ${keys.ignored}\n${'x'.repeat(5 * 1024 * 1024)}\n`);
    symlinkSync(join(dir, '.env'), join(dir, 'link-to-env'));
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('--help prints its usage and exits 0', () => {
    const run = scan(['--help']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^usage: npm run scan -- PATH…\n/);
  });

  it('with no PATH prints its usage and exits 2; an unknown option too', () => {
    for (const args of [[], ['--staged']]) {
      const run = scan(args);
      expect(run.code, run.stderr).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toContain('usage: npm run scan -- PATH…');
    }
  });

  it('finds every key in a tree with path:line, masked, and exits 1, skipping .git, node_modules, .wrangler, binary and large files and links', () => {
    const run = scan(['.'], dir);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout.split('\n')).toEqual([
      `.env:3: ${secret(keys.sk1)}`,
      `.env:4: ${project(keys.pk1)}`,
      `config/deploy/prod/keys.json:4: ${project(keys.pk3)}`,
      `config/deploy/prod/keys.json:5: ${secret(keys.sk3)}`,
      `src/client.js:4: ${secret(keys.sk2)}`,
      `src/client.js:4: ${project(keys.pk2)}`,
      `windows.txt:3: ${secret(keys.sk4)}`,
      '',
    ]);
    expect(run.stderr).toContain('dump.sql: skipped: larger than 5 MB');
    expect(run.stderr).toContain('7 Keygate keys found in 4 files (5 files scanned; skipped 1 binary file, 1 file over 5 MB)');
    expectNoKeyPrinted(run);
  });

  it('scans files and directories named as PATHs, following a named link and walking a named node_modules', () => {
    const run = scan(['link-to-env', 'src/client.js', 'node_modules'], dir);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout.split('\n')).toEqual([
      `link-to-env:3: ${secret(keys.sk1)}`,
      `link-to-env:4: ${project(keys.pk1)}`,
      `src/client.js:4: ${secret(keys.sk2)}`,
      `src/client.js:4: ${project(keys.pk2)}`,
      `node_modules/pkg/index.js:1: ${secret(keys.ignored)}`,
      '',
    ]);
    expectNoKeyPrinted(run);
  });

  it('reports no near miss: checksum or body changed, wrong length, prefix or case, a client ID, a key inside an identifier', () => {
    const run = scan(['near-misses.txt'], dir);
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe('no Keygate keys found (1 file scanned)\n');
    expectNoKeyPrinted(run);
  });

  it('exits 2 for a path it cannot read, after reporting what it found in the others', () => {
    const run = scan(['.env', 'missing.txt'], dir);
    expect(run.code).toBe(2);
    expect(run.stdout.split('\n')).toEqual([`.env:3: ${secret(keys.sk1)}`, `.env:4: ${project(keys.pk1)}`, '']);
    expect(run.stderr).toContain('error: cannot read missing.txt: no such file or directory');
    expectNoKeyPrinted(run);
  });

  it('reports none of 200 random prefixed base62 strings of the right length, nor 200 real keys with one character changed', () => {
    const random = Array.from({ length: 200 }, (_, i) => `${i % 2 ? 'kg_sk_' : 'kg_pk_'}${randomBase62(39)}`);
    const changed = Array.from({ length: 200 }, (_, i) => {
      const key = newKey(i % 2 ? 'orgSecret' : 'project');
      return withOneCharacterChanged(key, 6 + Math.floor(Math.random() * 39));
    });
    const separators = [' ', '"', "'", '=', ': ', '\t', '(', ','];
    const lines = [...random, ...changed].map((value, i) => `value${separators[i % separators.length]}${value}`);
    const file = join(dir, 'random.txt');
    writeFileSync(file, lines.join('\n'));
    try {
      // A random string passes the checksum once in 2^32 tries: only such a one may be reported.
      const expected = random.flatMap((value, i) =>
        isWellFormedKey(value, value.startsWith('kg_sk_') ? 'orgSecret' : 'project') ? [`random.txt:${i + 1}: ${masked(value)}`] : [],
      );
      const run = scan(['random.txt'], dir);
      expect(run.stdout.split('\n').filter(Boolean)).toEqual(expected.map((line) => expect.stringContaining(line)));
      expect(run.code, run.stdout).toBe(expected.length ? 1 : 0);
      expect(run.stdout).not.toMatch(/kg_(?:sk|pk)_[0-9A-Za-z]/);
    } finally {
      rmSync(file);
    }
  });

  it('the checksum is the published one: CRC-32 of the first 39 characters as 6 base62 digits (0-9A-Za-z, most significant first)', () => {
    const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    for (let i = 0; i < 100; i++) {
      const key = generateKey(i % 2 ? 'orgSecret' : 'project');
      expect(key).toMatch(new RegExp(`^${KEY_PATTERN.source}$`));
      let n = crc32(key.slice(0, 39));
      let digits = '';
      for (let d = 0; d < 6; d++) {
        digits = alphabet[n % 62] + digits;
        n = Math.floor(n / 62);
      }
      expect(key.slice(39)).toBe(digits);
    }
    expect(generateKey('clientId')).not.toMatch(new RegExp(KEY_PATTERN.source));
  });
});

describe('the pre-commit hook (docs/pre-commit-scan.md)', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'pre-commit-scan.md'), 'utf8');
  let repo = '';

  beforeAll(() => {
    repo = mkdtempSync(join(tmpdir(), 'keygate-hook-'));
    expect(sh('git init -q -b main .', repo).code).toBe(0);
  });

  afterAll(() => {
    if (repo) rmSync(repo, { recursive: true, force: true });
  });

  it('publishes the scanner regex, in the gitleaks rule too, and this hook', () => {
    expect(doc).toContain(HOOK);
    expect(doc).toContain(`regex = '''${KEY_PATTERN.source}'''`);
  });

  it('passes with nothing staged (the scanner is not even started), refuses a commit that adds a key, accepts it without', () => {
    const pipeline = HOOK.replace('scripts/scan.mjs', `'${SCAN}'`);
    const idle = sh(pipeline, repo);
    expect(idle).toEqual({ code: 0, stdout: '', stderr: '' });

    const hook = join(repo, '.git', 'hooks', 'pre-commit');
    writeFileSync(hook, `#!/bin/sh\n${pipeline}\n`);
    chmodSync(hook, 0o755);
    const key = newKey('project');
    writeFileSync(join(repo, 'README.md'), '# demo\n');
    writeFileSync(join(repo, 'app settings.env'), `NAME=demo\nKEYGATE_PROJECT_KEY=${key}\n`);
    expect(sh('git add -A', repo).code).toBe(0);

    const found = sh(pipeline, repo);
    expect(found.code, found.stderr).toBe(123);
    expect(found.stdout).toBe(`app settings.env:2: ${project(key)}\n`);
    expect(found.stderr).toContain('1 Keygate key found in 1 file (2 files scanned)');
    expectNoKeyPrinted(found);

    // git shows a hook's stdout on stderr.
    const refused = sh('git commit -q -m "add settings"', repo);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`app settings.env:2: ${project(key)}\n`);
    expectNoKeyPrinted(refused);
    expect(sh('git rev-parse -q --verify HEAD', repo).code).not.toBe(0);

    writeFileSync(join(repo, 'app settings.env'), 'NAME=demo\n# KEYGATE_PROJECT_KEY comes from the environment\n');
    expect(sh('git add -A', repo).code).toBe(0);
    const accepted = sh('git commit -q -m "add settings"', repo);
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(accepted.stderr).toContain('no Keygate keys found (2 files scanned)');
  });
});
