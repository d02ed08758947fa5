// npm run bench:focus -- <scenario ids> [--pairs K] [--n N] [--duration S]: a few scenarios of the
// load benchmark, each paired with what it is judged against (the no-op, the origin hop alone, the
// same key with budgets off, what Keygate did replayed without it, and that replay against the
// no-op or the hop), K rounds on one Miniflare, every other round in reverse order. For
// deciding whether a change moves a ratio: one full run gives 3 pairs per N, whose spread on a
// shared 2-core machine is wider than most changes. Prints the paired medians and writes
// bench/.build/focus.json; bench/RESULTS.md is not touched.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildBench } from './lib/build.mjs';
import { LoadGenerator, runToEnd, stopOnSignals } from './lib/generator.mjs';
import { keygateConfig, startMiniflare } from './lib/miniflare.mjs';
import { BUILD } from './lib/paths.mjs';
import { comparedWith, paired, pairedCpu, pairedRatio, replayOf } from './lib/report.mjs';
import { runScenarios, SCENARIOS, seedBench } from './lib/scenarios.mjs';
import { median } from './lib/stats.mjs';

const USAGE = `usage: npm run bench:focus -- <scenario>... [--pairs K] [--n N] [--duration S] [--rate R]
scenarios: ${SCENARIOS.map((s) => s.id).join(', ')}
--rate R: offer R requests/s rather than as many as are answered (CPU per request at one load for both sides of a pair)`;

/** @param {string} message */
function usageError(message) {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

/** @type {{ values: { pairs?: string, n?: string, duration?: string, rate?: string, help?: boolean }, positionals: string[] }} */
let parsed;
try {
  parsed = parseArgs({
    options: {
      pairs: { type: 'string' },
      n: { type: 'string' },
      duration: { type: 'string' },
      rate: { type: 'string' },
      help: { type: 'boolean' },
    },
    allowPositionals: true,
  });
} catch (err) {
  usageError(err instanceof Error ? err.message : String(err));
  throw err;
}
/** @param {string | undefined} value @param {number} fallback @param {string} name */
function positive(value, fallback, name) {
  const n = value === undefined ? fallback : Number(value);
  if (!Number.isInteger(n) || n < 1) usageError(`--${name} must be a positive integer`);
  return n;
}
if (parsed.values.help) {
  console.log(USAGE);
  process.exit(0);
}
const wanted = parsed.positionals;
if (wanted.length === 0) usageError('name at least one scenario');
const unknownIds = wanted.filter((id) => !SCENARIOS.some((s) => s.id === id));
if (unknownIds.length > 0) usageError(`unknown scenario: ${unknownIds.join(', ')}`);
const pairs = positive(parsed.values.pairs, 9, 'pairs');
const n = positive(parsed.values.n, 100, 'n');
const duration = positive(parsed.values.duration, 5, 'duration');
const rate = parsed.values.rate === undefined ? undefined : positive(parsed.values.rate, 0, 'rate');

// What every wanted scenario is compared with runs too, in the same rounds.
const only = [...new Set(wanted.flatMap((id) => [id, ...comparedWith(id)]))];
const cold = only.some((id) => id === 'cold' || id === 'coldFloor');
/** @type {import('./lib/scenarios.mjs').Settings} */
const settings = {
  reps: pairs,
  connections: 32,
  duration,
  warmup: 1,
  coldRequests: 1_000,
  coldWarmup: 200,
  memorySeconds: 0,
  heapEvery: 1,
  ...(rate ? { rate } : {}),
};

/** @type {{ mf?: import('miniflare').Miniflare, generator?: LoadGenerator }} */
const live = {};
const shutdown = stopOnSignals(live);
/** @param {string} line */
const log = (line) => console.log(line);

async function main() {
  log(`Keygate bench focus: ${only.join(', ')}; ${pairs} rounds of ${duration} s, N = ${n.toLocaleString('en-US')}`);
  const { scriptPath, formatModule, format } = await buildBench();
  const jwtSecret = randomBytes(32).toString('hex');
  const config = keygateConfig(jwtSecret);
  const generator = new LoadGenerator();
  live.generator = generator;
  const { mf, url } = await startMiniflare({ scriptPath, config });
  live.mf = mf;
  const { bench } = await seedBench(mf, n, { url, generator, settings, format, formatModule, jwtSecret, config }, log, { cold });
  const scenarios = await runScenarios(bench, log, { only, alternate: true });
  const runs = [{ n, rows: 0, coldPool: 0, scenarios }];
  // Each scenario against its baselines, and its replay (what Keygate did, without Keygate)
  // against the first of them: how far the answer or forward alone stays from the no-op or the hop.
  const comparisons = wanted.flatMap((id) => {
    const against = comparedWith(id);
    const replay = replayOf(id);
    return [...against.map((a) => [id, a]), ...(replay ? [[replay, against[0]]] : [])].map(([of, base]) => {
      const { ratios, p99Ratios, cpuUs } = paired(runs, [of], base);
      return { id: of, against: base, ratios, p99Ratios, cpuUs };
    });
  });
  const problems = Object.entries(scenarios).flatMap(([id, s]) => s.problems.map((p) => `${id}: ${p}`));
  log('\nscenario vs against: req/s ratio (median, spread over pairs); p99 ratio; workerd CPU µs/request more');
  for (const c of comparisons) {
    log(`  ${c.id} vs ${c.against}: ${pairedRatio(c.ratios)}; p99 ${median(c.p99Ratios).toFixed(2)}×; ${pairedCpu(c.cpuUs)}`);
  }
  for (const [id, s] of Object.entries(scenarios)) {
    log(`  ${id}: ${Math.round(s.median.rps)} req/s, workerd ${s.median.cpuUsPerRequest?.toFixed(0) ?? 'n/a'} µs CPU/request (medians)`);
  }
  log(problems.length === 0 ? 'status check: ok' : `status check: ${problems.length} problems\n  ${problems.join('\n  ')}`);
  mkdirSync(BUILD, { recursive: true });
  const out = join(BUILD, 'focus.json');
  writeFileSync(
    out,
    `${JSON.stringify({ generatedAt: new Date().toISOString(), settings, n, comparisons, scenarios, problems }, null, 2)}\n`,
  );
  log(`Wrote ${out}.`);
  live.mf = undefined;
  await mf.dispose();
  generator.stop();
}

await runToEnd(main, shutdown);
