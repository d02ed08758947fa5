// npm run bench [-- --quick]: Keygate's load benchmark (issues 4 and 11). Builds the bench Worker;
// for N = 100 and N = 100,000 keys starts a fresh Miniflare, seeds D1 and runs every scenario
// from a child load generator (request budgets on, out of reach; the budgets-off and throttle-on
// variants in the same isolate); then samples the isolate's heap under a flood of random keys.
// Writes bench/RESULTS.md and bench/results.json (with --quick, a smoke run, to bench/.build/),
// keeping the production latency model's section of RESULTS.md (npm run bench:model) as it was.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { buildBench } from './lib/build.mjs';
import { hashCostUs, loopCostUs } from './lib/cpu.mjs';
import { LoadGenerator, runToEnd, stopOnSignals } from './lib/generator.mjs';
import { HeapProbe } from './lib/heap.mjs';
import { measureHeap } from './lib/memory.mjs';
import { keygateConfig, startMiniflare } from './lib/miniflare.mjs';
import { BENCH, BUILD, ROOT } from './lib/paths.mjs';
import { evaluateTargets, modelSectionOf, renderMarkdown, withModelSection } from './lib/report.mjs';
import { hotRequests, refusalRequests, runScenarios, seedBench } from './lib/scenarios.mjs';
import { applySchema } from './lib/seed.mjs';

/** @typedef {import('./lib/scenarios.mjs').Settings} Settings */
/** @typedef {import('./lib/report.mjs').Run} Run */

/** @type {Settings} */
const FULL = { reps: 3, connections: 32, duration: 10, warmup: 2, coldRequests: 3_000, coldWarmup: 500, memorySeconds: 60, heapEvery: 5 };
/** @type {Settings} */
const QUICK = { reps: 1, connections: 32, duration: 2, warmup: 1, coldRequests: 600, coldWarmup: 200, memorySeconds: 10, heapEvery: 2 };

const KEY_COUNTS = [100, 100_000];

/** The in-isolate loop's requests also looped through the replay baseline: the hot keys' forwards, the refusals' answers. */
const LOOP_REPLAYED = ['hotOrg', 'hotProject', 'overBudget', 'invalid'];

const USAGE = 'usage: npm run bench [-- --quick]';
const args = process.argv.slice(2);
if (args.some((arg) => arg !== '--quick')) {
  console.error(USAGE);
  process.exit(2);
}
const quick = args.includes('--quick');
const settings = quick ? QUICK : FULL;
const outDir = quick ? BUILD : BENCH;

// What must be stopped on the way out: the current Miniflare and the load generator.
/** @type {{ mf?: import('miniflare').Miniflare, generator?: LoadGenerator }} */
const live = {};
const shutdown = stopOnSignals(live);

/** @param {string} line */
const log = (line) => console.log(line);

/** @param {string} name */
function versionOf(name) {
  return /** @type {{ version: string }} */ (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8'))).version;
}

/** The commit measured, and whether src/ differs from it (read-only git; null outside a checkout). */
function measuredSource() {
  /** @param {string[]} args */
  const git = (args) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' });
  const head = git(['rev-parse', '--short', 'HEAD']);
  if (head.status !== 0) return null;
  return { commit: head.stdout.trim(), srcChanged: git(['status', '--porcelain', '--', 'src']).stdout.trim() !== '' };
}

/** @param {number[]} loadBefore os.loadavg() when the run started */
function machine(loadBefore) {
  /** @type {string | undefined} */
  let model;
  try {
    model = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m)?.[1];
  } catch {
    // not Linux: os.cpus() names the model
  }
  model ??= os.cpus()[0]?.model ?? 'unknown';
  return {
    cpu: model.trim(),
    cores: os.cpus().length,
    ramGiB: os.totalmem() / 1024 ** 3,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    loadBefore: loadBefore[0] ?? 0,
    loadAfter: os.loadavg()[0] ?? 0,
  };
}

async function main() {
  const startedAt = Date.now();
  const source = measuredSource();
  const loadBefore = os.loadavg();
  if ((loadBefore[0] ?? 0) > os.cpus().length / 2) {
    log(
      `warning: the machine was busy in the last minute (load average ${loadBefore[0]?.toFixed(2)} on ${os.cpus().length} cores); figures may be low and noisy`,
    );
  }
  log(`Keygate bench${quick ? ' (quick)' : ''}: building bench/worker.ts and the key format`);
  const { scriptPath, formatModule, format } = await buildBench();
  const jwtSecret = randomBytes(32).toString('hex');
  const config = keygateConfig(jwtSecret);
  const generator = new LoadGenerator();
  live.generator = generator;

  /** @type {Run[]} */
  const runs = [];
  for (const n of KEY_COUNTS) {
    // With the inspector, so that the in-isolate loop can run a full GC around each loop.
    const { mf, url } = await startMiniflare({ scriptPath, config, inspector: true });
    live.mf = mf;
    const { bench, rows, coldPool } = await seedBench(mf, n, { url, generator, settings, format, formatModule, jwtSecret, config }, log);
    log(`N = ${n.toLocaleString('en-US')}: ${rows.toLocaleString('en-US')} rows in api_keys; running the scenarios at ${url.origin}`);
    const scenarios = await runScenarios(bench, log);
    const sha256Us = await hashCostUs(url);
    log(`  SHA-256 of a key (sha256Hex): ${sha256Us === null ? 'n/a' : `${sha256Us.toFixed(1)} µs CPU`}`);
    const loopCpu = await loopCosts(mf, url, bench);
    for (const [id, cost] of Object.entries(loopCpu ?? {})) {
      const replayed = cost.replayUs === undefined ? '' : `; replayed without Keygate ${cost.replayUs.toFixed(1)} µs`;
      const origin =
        cost.originUs === undefined
          ? ''
          : `; the origin stand-in's loop alone ${cost.originUs.toFixed(1)} µs (pairs: ${(cost.originPairsUs ?? []).map((us) => us.toFixed(0)).join(', ')})`;
      log(
        `  ${id}, in-isolate loop: Keygate's own CPU ${cost.ownUs.toFixed(1)} µs/request (pairs: ${cost.pairsUs.map((us) => us.toFixed(0)).join(', ')})${replayed}${origin}`,
      );
    }
    runs.push({ n, rows, coldPool, scenarios, sha256Us, loopCpu });
    live.mf = undefined;
    await mf.dispose();
  }

  log(`memory: ${settings.memorySeconds} s flood of random unknown keys, heap sampled every ${settings.heapEvery} s`);
  const memory = await measureHeapOnce(scriptPath, config, generator, formatModule);
  generator.stop();

  const { JWT_SECRET: _secret, ...keygateVars } = config.vars;
  const results = {
    generatedAt: new Date().toISOString(),
    quick,
    source,
    settings,
    machine: machine(loadBefore),
    versions: {
      node: process.version,
      miniflare: versionOf('miniflare'),
      workerd: versionOf('workerd'),
      autocannon: versionOf('autocannon'),
      esbuild: versionOf('esbuild'),
      hono: versionOf('hono'),
    },
    keygateVars,
    keygateVariants: config.variants,
    runs,
    memory,
    targets: evaluateTargets(runs, memory, keygateVars),
  };
  mkdirSync(outDir, { recursive: true });
  const markdown = renderMarkdown(results);
  writeFileSync(join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  // The latency model's section (bench/model.mjs) is not this run's: keep it as the file has it.
  const resultsPath = join(outDir, 'RESULTS.md');
  const modelSection = existsSync(resultsPath) ? modelSectionOf(readFileSync(resultsPath, 'utf8')) : null;
  writeFileSync(resultsPath, modelSection === null ? markdown : withModelSection(markdown, modelSection));
  // Biome formats Markdown too (npm test checks bench/): write the tables as it would.
  spawnSync(join(ROOT, 'node_modules', '.bin', 'biome'), ['format', '--write', join(outDir, 'RESULTS.md')], { stdio: 'ignore' });
  log(`\n${markdown.slice(markdown.indexOf('## Results'))}`);
  log(`Wrote ${join(outDir, 'RESULTS.md')} and results.json in ${Math.round((Date.now() - startedAt) / 1000)} s.`);
}

await runToEnd(main, shutdown);

/**
 * The in-isolate loop's costs (bench/lib/cpu.mjs) of the hot keys and the refusals, each loop
 * between two full GCs run through workerd's inspector.
 * @param {import('miniflare').Miniflare} mf
 * @param {URL} url
 * @param {import('./lib/scenarios.mjs').Bench} bench
 */
async function loopCosts(mf, url, bench) {
  const nudge = async () => (await fetch(new URL('/health', url))).arrayBuffer();
  const probe = await HeapProbe.connect(await mf.getInspectorURL(), 'keygate', nudge);
  try {
    return await loopCostUs(
      url,
      { ...hotRequests(bench, 'budgets-on'), ...refusalRequests(bench) },
      {
        replayed: LOOP_REPLAYED,
        collect: () => probe.collect(),
      },
    );
  } finally {
    probe.close();
  }
}

/**
 * The heap check on a fresh Miniflare. Its inspector calls can time out on a loaded machine (a
 * full GC under the flood once took more than 15 s; a sample under the flood that times out is
 * left out, see lib/memory.mjs): a failure is retried once on another fresh instance; a second
 * one is reported as the check's result ("not measured", a missed target), so it never loses the
 * scenarios' 20 minutes.
 * @param {string} scriptPath
 * @param {import('./lib/miniflare.mjs').KeygateConfig} config
 * @param {LoadGenerator} generator
 * @param {string} formatModule
 * @returns {Promise<import('./lib/report.mjs').MemoryOutcome>}
 */
async function measureHeapOnce(scriptPath, config, generator, formatModule) {
  for (let attempt = 1; ; attempt++) {
    const { mf, url } = await startMiniflare({ scriptPath, config, inspector: true });
    live.mf = mf;
    try {
      await applySchema(await mf.getD1Database('DB'));
      return await measureHeap({ url, generator, settings }, await mf.getInspectorURL(), formatModule);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (attempt === 2) {
        log(`memory: ${message} again; reported as not measured`);
        return { error: message };
      }
      log(`memory: ${message}; once more, on a fresh instance`);
    } finally {
      live.mf = undefined;
      await mf.dispose();
    }
  }
}
