// npm test: type checks, generated types up to date, a dry-run deploy, the Vitest suite inside
// workerd, and the browser tests (test/e2e: the console in Debian's Chromium against a local
// service of their own). Ends with one line "N passed, N failed" (also written to
// test-results/summary.txt for .ci/run).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CHROMIUM, CHROMIUM_MISSING } from './lib/chromium.mjs';
import { ROOT, WRANGLER, wranglerEnv } from './lib/wrangler.mjs';

const RESULTS = join(ROOT, 'test-results');
mkdirSync(RESULTS, { recursive: true });
const bin = (name) => join(ROOT, 'node_modules', '.bin', name);

const checks = [
  {
    name: 'lint and format (Biome: src, test, scripts, bench, examples, the console)',
    cmd: bin('biome'),
    args: ['check', '--error-on-warnings', '.'],
  },
  { name: 'typecheck src', cmd: bin('tsc'), args: ['-p', '.'] },
  { name: 'typecheck tests', cmd: bin('tsc'), args: ['-p', 'test'] },
  { name: 'typecheck scripts and test config', cmd: bin('tsc'), args: ['-p', 'tsconfig.node.json'] },
  { name: 'typecheck the console (public/console)', cmd: bin('tsc'), args: ['-p', 'public/console'] },
  { name: 'typecheck the browser tests (test/e2e)', cmd: bin('tsc'), args: ['-p', 'test/e2e'] },
  { name: 'typecheck the benchmark Worker (bench)', cmd: bin('tsc'), args: ['-p', 'bench'] },
  { name: 'typecheck the benchmark scripts (bench)', cmd: bin('tsc'), args: ['-p', 'bench/tsconfig.node.json'] },
  {
    // `wrangler types --check` ignores --env-file and reads .dev.vars, which a fresh clone lacks:
    // regenerate into a temporary file instead and compare (scripts/check-types.mjs).
    name: 'worker-configuration.d.ts matches wrangler.toml (npm run types)',
    cmd: process.execPath,
    args: ['scripts/check-types.mjs'],
  },
  { name: 'wrangler deploy --dry-run', cmd: WRANGLER, args: ['deploy', '--dry-run', '--outdir', 'dist'] },
  { name: 'OpenAPI document lints clean (Redocly recommended rules)', cmd: process.execPath, args: ['scripts/check-openapi.mjs'] },
];

let passed = 0;
let failed = 0;
for (const check of checks) {
  const result = spawnSync(check.cmd, check.args, { cwd: ROOT, env: wranglerEnv(), encoding: 'utf8' });
  if (result.status === 0) {
    passed++;
    console.log(`✓ ${check.name}`);
  } else {
    failed++;
    console.log(`✗ ${check.name}\n${result.stdout}${result.stderr}`);
  }
}

/**
 * Runs one Vitest suite and adds its counts. The report is removed first, so a run that dies
 * before writing one is never counted with an old one.
 * @param {string} reportName @param {string[]} args
 */
/**
 * Lines the Workers test pool prints on every green run that are not about Keygate: workerd
 * reports each test file's closed RPC WebSocket as an "exception". Dropped from the output.
 */
const POOL_NOISE = [/^exception = workerd\/api\/web-socket\.c\+\+:\d+: disconnected: WebSocket peer disconnected$/];

async function runVitest(reportName, args) {
  const report = join(RESULTS, reportName);
  rmSync(report, { force: true });
  const vitest = spawn(bin('vitest'), ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...args], {
    cwd: ROOT,
    env: wranglerEnv({ FORCE_COLOR: process.stdout.isTTY ? '1' : '0' }),
    stdio: ['inherit', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: vitest.stdout });
  lines.on('line', (line) => {
    if (!POOL_NOISE.some((noise) => noise.test(line))) process.stdout.write(`${line}\n`);
  });
  const status = await new Promise((resolve) => vitest.on('close', resolve));
  const failedBefore = failed;
  if (existsSync(report)) {
    const json = JSON.parse(readFileSync(report, 'utf8'));
    passed += json.numPassedTests;
    failed += json.numFailedTests;
    // A file that failed to load has no tests of its own: count it as one failure.
    failed += json.testResults.filter((file) => file.status === 'failed' && file.assertionResults.length === 0).length;
  }
  if (status !== 0 && failed === failedBefore) failed++;
}

await runVitest('vitest.json', process.argv.slice(2));

// The browser tests need Debian's Chromium; without it they are one failure that says so.
if (existsSync(CHROMIUM)) {
  await runVitest('e2e.json', ['-c', 'vitest.e2e.config.ts']);
} else {
  failed++;
  console.log(`✗ browser tests (test/e2e): ${CHROMIUM_MISSING}`);
}

const summary = `${passed} passed, ${failed} failed`;
writeFileSync(join(RESULTS, 'summary.txt'), `${summary}\n`);
console.log(`\n${summary}`);
process.exit(failed === 0 ? 0 : 1);
