// npm run bench:model [-- --quick] [options]: the production latency model (issue 13). Keygate
// runs as `npm run bench` runs it (bench/worker.ts in Miniflare, keys seeded straight into D1),
// but every KV, D1 and BudgetCounter call lasts a delay drawn from a production latency
// distribution (bench/lib/latency.mjs), keys are drawn by Zipf popularity with a share of
// never-seen keys, and the isolate restarts on schedule. Two designs run side by side in the one
// isolate, on the same draws: `today` (KEY_REFRESH=off, KEY_FEED_SECONDS=0: an isolate entry
// expires and the next request waits) and `current` (the default configuration: refresh ahead,
// the key change feed, a warm start; its tier sized to the key set, --warm-keys). Reports, per
// scenario and design, Keygate's added latency (the time a request waited on storage) and the
// share of requests that waited, and
// judges issue 13's targets. Writes the "Production latency model" section of bench/RESULTS.md
// and bench/model.json (with --quick, a smoke run, to bench/.build/).
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { buildBench } from './lib/build.mjs';
import { ChildGenerator, runToEnd, stopOnSignals } from './lib/generator.mjs';
import { DEFAULT_LATENCIES, DISTRIBUTION_NAMES, lognormal, workerDistributions } from './lib/latency.mjs';
import { BUDGET_OUT_OF_REACH, keygateConfig, startMiniflare } from './lib/miniflare.mjs';
import { BENCH, BUILD, ROOT } from './lib/paths.mjs';
import { MODEL_BEGIN, MODEL_END, withModelSection } from './lib/report.mjs';
import { applySchema, countKeys, generateKeys, insertKeys } from './lib/seed.mjs';
import { harmonic, permutation, seededRandom, ZipfSampler } from './lib/zipf.mjs';

/** @typedef {import('./model-load.mjs').ModelKey} ModelKey */
/** @typedef {import('./model-load.mjs').ModelLoadSpec} ModelLoadSpec */
/** @typedef {import('./model-load.mjs').ModelLoadResult} ModelLoadResult */
/** @typedef {import('./model-load.mjs').Sample} Sample */
/** @typedef {import('./lib/latency.mjs').DistributionName} DistributionName */
/** @typedef {import('./lib/latency.mjs').Quantiles} Quantiles */

/**
 * @typedef {object} Options
 * @property {number} keys seeded keys the Zipf draws from (half organization, half project keys)
 * @property {number} zipf the exponent s
 * @property {number} unseen share of draws that are a never-seen key
 * @property {number} seconds measured seconds, after the warm-up
 * @property {number} warmup seconds of warm-up (discarded)
 * @property {number} restartEvery seconds between isolate restarts (0: never)
 * @property {number} rate draws per second; each is sent to both designs
 * @property {'primary' | 'replica'} d1 D1 read replication off (every query the primary) or on (session reads a replica)
 * @property {boolean} inject storage calls delayed (false: --no-latency, the local simulators' own times)
 * @property {number} seed
 * @property {number | null} warmKeys WARM_KEYS of the current design, its ISOLATE_CACHE_MAX_ENTRIES at least as many (null: as many as the seeded keys)
 * @property {Record<DistributionName, Quantiles>} latencies
 */

/** The designs compared, as bench/lib/miniflare.mjs names their variants. */
const DESIGNS = ['today', 'current'];
const SCENARIOS = /** @type {const} */ (['org', 'project']);
const SCENARIO_LABELS = { org: 'organization keys (GET /v1/companies)', project: 'project keys (GET …/content)' };

/** @type {Omit<Options, 'latencies'>} */
const FULL = {
  keys: 100_000,
  zipf: 1.1,
  unseen: 0.002,
  seconds: 240,
  warmup: 60,
  restartEvery: 60,
  rate: 30,
  d1: 'primary',
  inject: true,
  seed: 1,
  warmKeys: null,
};
/** @type {Omit<Options, 'latencies'>} */
const QUICK = { ...FULL, seconds: 40, warmup: 20, restartEvery: 20 };

/** Requests never answered before this many are unanswered at once are not sent (counted as skipped). */
const MAX_IN_FLIGHT = 2_000;
/** Seconds of each time-series bucket in the report. */
const BUCKET_SECONDS = 20;
/** Targets (issue 13). */
const MAX_SHARE_WAITED = 0.01;
const MIN_P99_IMPROVEMENT = 10;

const USAGE = `usage: npm run bench:model [-- [--quick] [--keys N] [--zipf S] [--unseen SHARE] [--seconds N] [--warmup N]
         [--restart-every S] [--rate R] [--d1 primary|replica] [--warm-keys N] [--no-latency] [--seed N] [--<latency> P50,P99 ...]]
  --quick            a smoke run (${QUICK.warmup} s warm-up, ${QUICK.seconds} s measured, restarts every ${QUICK.restartEvery} s), written to bench/.build/
  --keys N           seeded keys the Zipf draws from, half organization, half project keys (${FULL.keys})
  --zipf S           Zipf exponent (${FULL.zipf})
  --unseen SHARE     share of draws that are a well-formed key nobody has (${FULL.unseen})
  --seconds N        measured seconds (${FULL.seconds}), after --warmup N seconds (${FULL.warmup}) that are discarded
  --restart-every S  seconds between isolate restarts, 0 for none (${FULL.restartEvery})
  --rate R           draws per second, open loop; each goes to both designs (${FULL.rate})
  --d1 primary|replica  D1 read replication: off, every query from the primary (${FULL.d1}), or on: reads through
                     the Sessions API from a nearby replica, other queries from the primary
  --warm-keys N      WARM_KEYS of the current design, and its ISOLATE_CACHE_MAX_ENTRIES at least N (default: as many
                     as --keys, the tier sized to the key set as the README advises; wrangler.toml's is 10,000)
  --no-latency       no delays: storage answers as fast as the local simulators (the harness's floor)
  --seed N           seed of the key draws, the never-seen draws and the delays (${FULL.seed})
  ${DISTRIBUTION_NAMES.map((n) => `--${kebab(n)} P50,P99`).join(' ')}
                     a latency in ms (defaults in bench/lib/latency.mjs, with their sources)`;

/** @param {string} name camelCase → kebab-case */
function kebab(name) {
  return name.replace(/[A-Z0-9]+/g, (m) => `-${m.toLowerCase()}`);
}

/**
 * @param {string[]} args
 * @returns {{ quick: boolean, options: Options }}
 */
function parseArgs(args) {
  const quick = args.includes('--quick');
  /** @type {Options} */
  const options = {
    ...(quick ? QUICK : FULL),
    latencies: /** @type {Record<DistributionName, Quantiles>} */ (
      Object.fromEntries(DISTRIBUTION_NAMES.map((n) => [n, { p50: DEFAULT_LATENCIES[n].p50, p99: DEFAULT_LATENCIES[n].p99 }]))
    ),
  };
  const fail = (/** @type {string} */ message) => {
    console.error(`${message}\n${USAGE}`);
    process.exit(2);
  };
  const numeric = {
    '--keys': 'keys',
    '--zipf': 'zipf',
    '--unseen': 'unseen',
    '--seconds': 'seconds',
    '--warmup': 'warmup',
    '--restart-every': 'restartEvery',
    '--rate': 'rate',
    '--seed': 'seed',
    '--warm-keys': 'warmKeys',
  };
  for (let i = 0; i < args.length; i++) {
    const arg = /** @type {string} */ (args[i]);
    if (arg === '--quick') continue;
    if (arg === '--no-latency') {
      options.inject = false;
      continue;
    }
    if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    }
    const value = args[++i];
    if (value === undefined) fail(`${arg} needs a value`);
    const v = /** @type {string} */ (value);
    if (arg in numeric) {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) fail(`${arg}: not a number ≥ 0: ${v}`);
      /** @type {Record<string, unknown>} */ (options)[numeric[/** @type {keyof typeof numeric} */ (arg)]] = n;
      continue;
    }
    if (arg === '--d1') {
      if (v !== 'primary' && v !== 'replica') fail(`--d1: primary or replica, not ${v}`);
      options.d1 = /** @type {'primary' | 'replica'} */ (v);
      continue;
    }
    const latency = DISTRIBUTION_NAMES.find((n) => `--${kebab(n)}` === arg);
    if (latency) {
      const [p50, p99] = v.split(',').map(Number);
      if (!(p50 !== undefined && p99 !== undefined && p50 > 0 && p99 >= p50)) fail(`${arg}: P50,P99 in ms with 0 < P50 ≤ P99, not ${v}`);
      options.latencies[latency] = { p50: /** @type {number} */ (p50), p99: /** @type {number} */ (p99) };
      continue;
    }
    fail(`unknown option ${arg}`);
  }
  if (!Number.isInteger(options.keys) || options.keys < 20) fail('--keys: an integer ≥ 20');
  if (!(options.zipf > 0)) fail('--zipf: > 0');
  if (options.unseen > 1) fail('--unseen: a share, 0 to 1');
  if (options.warmKeys !== null && !Number.isInteger(options.warmKeys)) fail('--warm-keys: an integer ≥ 0');
  if (!(options.rate > 0) || !(options.seconds > 0)) fail('--rate and --seconds: > 0');
  return { quick, options };
}

const { quick, options } = parseArgs(process.argv.slice(2));
const outDir = quick ? BUILD : BENCH;

// What must be stopped on the way out: the current Miniflare and the model's load generator.
/** @type {{ mf?: import('miniflare').Miniflare, generator?: ChildGenerator<ModelLoadSpec, ModelLoadResult> }} */
const live = {};
const shutdown = stopOnSignals(live);

/** @param {string} line */
const log = (line) => console.log(line);

/** Nearest-rank percentile of sorted values. @param {number[]} sorted @param {number} p */
function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;
}

/** @param {Sample} s */
const waited = (s) => s.onKey || s.onBudget;

/**
 * A live key: drawn before in the same isolate (since its last restart) at most this many seconds
 * earlier, the revocation window while D1 answers (README: Revocation window). Issue 13's "a key
 * verified within the revocation window should not make a request wait" is judged on these.
 */
const LIVE_SECONDS = 10;

/**
 * @typedef {object} Cell what one design did for one scenario in the measured window
 * @property {number} requests
 * @property {number} rps requests per second (measured window)
 * @property {number} known requests with a seeded key
 * @property {number} unseen requests with a never-seen key
 * @property {{ p50: number, p99: number, p999: number, max: number, mean: number }} addedMs the storage wait per request (0 when none)
 * @property {number} shareWaited requests that awaited a storage call
 * @property {number} shareWaitedKnown of the known-key requests
 * @property {number} shareWaitedUnseen of the never-seen-key requests
 * @property {number} shareWaitedOnKey awaited a KV or D1 read of the key
 * @property {number} shareWaitedOnBudget awaited a BudgetCounter call
 * @property {number} shareWaitedAwayFromRestarts the share among requests not within ISOLATE_CACHE_TTL_SECONDS after a restart (steady state)
 * @property {{ p99: number, p999: number }} awayAddedMs the storage wait per request away from restarts (steady state)
 * @property {number} live requests with a live key (used in this isolate within LIVE_SECONDS)
 * @property {number} shareWaitedLive of the live-key requests, the share that awaited a storage call
 * @property {{ key: number, budget: number }} shareWaitedLiveOn of the live-key requests, the share that awaited a read of the key, a BudgetCounter call
 * @property {{ p99: number, p999: number }} liveAddedMs the storage wait per live-key request
 * @property {{ p50: number, p99: number }} wallMs start to forward in the local workerd (CPU and local queueing included)
 * @property {{ p50: number, p99: number }} clientMs as the load generator saw it
 * @property {number} unexpected answers other than 2xx (known keys) or 401 (never-seen keys)
 * @property {Record<string, number>} statuses
 * @property {number} readsPer1k KV + D1 reads per 1,000 requests (background refreshes and fills included)
 * @property {number} kvReadsPer1k
 * @property {number} d1ReadsPer1k
 * @property {number} counterCallsPer1k BudgetCounter calls per 1,000 requests
 */

/**
 * @param {Sample[]} samples one design's, one scenario's
 * @param {number} seconds measured seconds
 * @param {Record<string, number> | undefined} counts the Worker's model counts for them
 * @param {number[]} restartsAt
 * @param {number} ttlSeconds
 * @returns {Cell}
 */
function cellOf(samples, seconds, counts, restartsAt, ttlSeconds) {
  const n = samples.length;
  const share = (/** @type {Sample[]} */ of, /** @type {(s: Sample) => boolean} */ pick) =>
    of.length === 0 ? 0 : of.filter(pick).length / of.length;
  // The storage wait of each request (0 when it awaited none), sorted for percentiles.
  const addedOf = (/** @type {Sample[]} */ of) => of.map((s) => (waited(s) ? s.waitedMs : 0)).sort((a, b) => a - b);
  const added = addedOf(samples);
  const wall = samples.map((s) => s.wallMs).sort((a, b) => a - b);
  const client = samples.map((s) => s.clientMs).sort((a, b) => a - b);
  const known = samples.filter((s) => !s.unseen);
  const unseen = samples.filter((s) => s.unseen);
  const away = samples.filter((s) => !restartsAt.some((r) => s.at >= r && s.at < r + ttlSeconds));
  const awayAdded = addedOf(away);
  const live = samples.filter((s) => s.live);
  const liveAdded = addedOf(live);
  /** @type {Record<string, number>} */
  const statuses = {};
  for (const s of samples) statuses[s.status] = (statuses[s.status] ?? 0) + 1;
  const per1k = (/** @type {number} */ x) => (n === 0 ? 0 : (x / n) * 1000);
  const c = counts ?? {};
  return {
    requests: n,
    rps: n / seconds,
    known: known.length,
    unseen: unseen.length,
    addedMs: {
      p50: percentile(added, 50),
      p99: percentile(added, 99),
      p999: percentile(added, 99.9),
      max: added[added.length - 1] ?? 0,
      mean: n === 0 ? 0 : added.reduce((a, b) => a + b, 0) / n,
    },
    shareWaited: share(samples, waited),
    shareWaitedKnown: share(known, waited),
    shareWaitedUnseen: share(unseen, waited),
    shareWaitedOnKey: share(samples, (s) => s.onKey),
    shareWaitedOnBudget: share(samples, (s) => s.onBudget),
    shareWaitedAwayFromRestarts: share(away, waited),
    awayAddedMs: { p99: percentile(awayAdded, 99), p999: percentile(awayAdded, 99.9) },
    live: live.length,
    shareWaitedLive: share(live, waited),
    shareWaitedLiveOn: { key: share(live, (s) => s.onKey), budget: share(live, (s) => s.onBudget) },
    liveAddedMs: { p99: percentile(liveAdded, 99), p999: percentile(liveAdded, 99.9) },
    wallMs: { p50: percentile(wall, 50), p99: percentile(wall, 99) },
    clientMs: { p50: percentile(client, 50), p99: percentile(client, 99) },
    unexpected: samples.filter((s) => (s.unseen ? s.status !== 401 : s.status < 200 || s.status > 299)).length,
    statuses,
    readsPer1k: per1k((c.kvReads ?? 0) + (c.d1Reads ?? 0)),
    kvReadsPer1k: per1k(c.kvReads ?? 0),
    d1ReadsPer1k: per1k(c.d1Reads ?? 0),
    counterCallsPer1k: per1k(c.counterCalls ?? 0),
  };
}

/**
 * The share of requests that waited, per design, in buckets of BUCKET_SECONDS of the measured window.
 * @param {Sample[]} samples
 * @param {number} warmup
 * @param {number} seconds
 */
function timeSeries(samples, warmup, seconds) {
  const buckets = Math.max(1, Math.ceil(seconds / BUCKET_SECONDS));
  return DESIGNS.map((design, variant) => {
    const total = new Array(buckets).fill(0);
    const hit = new Array(buckets).fill(0);
    for (const s of samples) {
      if (s.variant !== variant) continue;
      const b = Math.min(buckets - 1, Math.floor((s.at - warmup) / BUCKET_SECONDS));
      total[b]++;
      if (waited(s)) hit[b]++;
    }
    return { design, shares: total.map((t, i) => (t === 0 ? 0 : hit[i] / t)) };
  });
}

/** @typedef {{ target: string, measured: string, met: boolean, verdict: string }} TargetRow */

const pct = (/** @type {number} */ x, digits = 2) => `${(x * 100).toFixed(digits)} %`;
const ms = (/** @type {number} */ x) => `${x.toFixed(0)} ms`;
const int = (/** @type {number} */ n) => Math.round(n).toLocaleString('en-US');

/**
 * Issue 13's targets, per scenario.
 * @param {Record<string, Record<string, Cell>>} cells scenario → design → cell
 * @returns {TargetRow[]}
 */
function evaluate(cells) {
  /** @type {TargetRow[]} */
  const rows = [];
  for (const scenario of SCENARIOS) {
    const current = cells[scenario]?.current;
    const today = cells[scenario]?.today;
    if (!current || !today) continue;
    const label = SCENARIO_LABELS[scenario];
    {
      const share = current.shareWaitedAwayFromRestarts;
      const met = share < MAX_SHARE_WAITED;
      rows.push({
        target: `${label}: under ${pct(MAX_SHARE_WAITED, 0)} of requests wait on storage at steady state, away from restarts (current)`,
        measured: `${pct(share)} away from restarts; all requests ${pct(current.shareWaited)}, the seconds after each restart included (known keys ${pct(current.shareWaitedKnown)}, never-seen ${pct(current.shareWaitedUnseen)})`,
        met,
        verdict: met
          ? 'met'
          : `missed by ${((share - MAX_SHARE_WAITED) * 100).toFixed(2)} points (${(share / MAX_SHARE_WAITED).toFixed(1)}× the target)`,
      });
    }
    {
      const share = current.shareWaitedLive;
      const met = current.live > 0 && share < MAX_SHARE_WAITED;
      rows.push({
        target: `${label}: live keys (used in the same isolate within the last ${LIVE_SECONDS} s, the revocation window) never wait: under ${pct(MAX_SHARE_WAITED, 0)} of their requests (current)`,
        measured: `${pct(share)} of ${int(current.live)} live-key requests (${pct(current.live / Math.max(1, current.requests), 1)} of all; on the key ${pct(current.shareWaitedLiveOn.key)}, on a budget ${pct(current.shareWaitedLiveOn.budget)}); today's design ${pct(today.shareWaitedLive)}; p99 / p99.9 added ${ms(current.liveAddedMs.p99)} / ${ms(current.liveAddedMs.p999)} (today ${ms(today.liveAddedMs.p99)} / ${ms(today.liveAddedMs.p999)})`,
        met,
        verdict: met ? 'met' : `missed by ${((share - MAX_SHARE_WAITED) * 100).toFixed(2)} points`,
      });
    }
    {
      const a = current.liveAddedMs.p99;
      const b = today.liveAddedMs.p99;
      const met = current.live > 0 && (a === 0 ? b > 0 || current.shareWaitedLive === 0 : a * MIN_P99_IMPROVEMENT <= b);
      rows.push({
        target: `${label}: live keys: p99 added latency of current ≤ today's / ${MIN_P99_IMPROVEMENT} (same run)`,
        measured: `current ${ms(a)}, today ${ms(b)}`,
        met,
        verdict: met ? 'met' : `missed: ${a === 0 ? 'both 0' : `${(b / a).toFixed(2)}× instead of ${MIN_P99_IMPROVEMENT}×`}`,
      });
    }
    {
      const a = current.awayAddedMs.p99;
      const b = today.awayAddedMs.p99;
      const met = a === 0 ? b > 0 : a * MIN_P99_IMPROVEMENT <= b;
      const ratio = a === 0 ? Number.POSITIVE_INFINITY : b / a;
      rows.push({
        target: `${label}: p99 added latency at steady state, away from restarts: current ≤ today's / ${MIN_P99_IMPROVEMENT} (same run)`,
        measured: `current ${ms(a)}, today ${ms(b)}: ${a === 0 ? 'current 0' : `${ratio.toFixed(2)}× lower`}; all requests: current ${ms(current.addedMs.p99)}, today ${ms(today.addedMs.p99)}`,
        met,
        verdict: met
          ? 'met'
          : `missed: ${a === 0 ? 'both 0' : `${ratio.toFixed(2)}× instead of ${MIN_P99_IMPROVEMENT}× (current ${ms(a - b / MIN_P99_IMPROVEMENT)} too high)`}`,
      });
    }
    {
      const share = current.shareWaitedOnBudget;
      const met = share === 0;
      rows.push({
        target: `${label}: with request budgets on, a budget check adds no storage wait (current)`,
        measured: `${pct(share)} of requests awaited a BudgetCounter call (${current.counterCallsPer1k.toFixed(1)} calls per 1,000 requests)`,
        met,
        verdict: met ? 'met' : `missed by ${pct(share)} of requests`,
      });
    }
  }
  return rows;
}

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

/**
 * The seeded keys as the load generator sends them, by popularity: ranks alternate between the
 * two kinds (odd ranks organization keys, even ranks project keys, as long as both last), so
 * each scenario sees the same Zipf shape, and within a kind a seeded permutation says which key
 * has which rank.
 * @param {import('./lib/seed.mjs').SeededKeys} keys
 * @param {number} seed
 * @returns {ModelKey[]}
 */
function modelKeys(keys, seed) {
  /** @param {string} secret */
  const hash = (secret) => createHash('sha256').update(secret).digest('hex');
  const random = seededRandom(seed + 2);
  /** @type {<T>(list: T[]) => T[]} */
  const shuffled = (list) => Array.from(permutation(list.length, random), (i) => /** @type {any} */ (list[i]));
  /** @type {ModelKey[]} */
  const org = shuffled(
    keys.orgKeys.map((k) => ({
      scenario: /** @type {const} */ ('org'),
      path: '/v1/companies',
      headers: { 'x-metal-client-id': k.clientId, 'x-metal-api-key': k.secret },
      hash: hash(k.secret),
      budget: `org:${k.organizationId}`,
    })),
  );
  /** @type {ModelKey[]} */
  const project = shuffled(
    keys.projectKeys.map((k) => ({
      scenario: /** @type {const} */ ('project'),
      path: `/api/v1/organizations/${k.organizationId}/projects/${k.projectId}/content`,
      headers: { 'x-api-key': k.secret },
      hash: hash(k.secret),
      budget: `project:${k.organizationId}:${k.projectId}`,
    })),
  );
  /** @type {ModelKey[]} */
  const ranked = [];
  for (let i = 0; i < Math.max(org.length, project.length); i++) {
    const a = org[i];
    const b = project[i];
    if (a) ranked.push(a);
    if (b) ranked.push(b);
  }
  return ranked;
}

/**
 * @param {ModelKey[]} ranked
 * @param {number} s
 */
function popularity(ranked, s) {
  const zipf = new ZipfSampler(ranked.length, s, Math.random);
  const h = harmonic(ranked.length, s);
  return {
    rank1: 1 / h,
    top100: 1 - zipf.tail(100),
    beyond1000: zipf.tail(1000),
    beyond10000: zipf.tail(10_000),
    orgShare: ranked.filter((k) => k.scenario === 'org').length / ranked.length,
  };
}

async function main() {
  const startedAt = Date.now();
  const source = measuredSource();
  const loadBefore = os.loadavg()[0] ?? 0;
  log(`Keygate latency model${quick ? ' (quick)' : ''}: building bench/worker.ts and the key format`);
  const { scriptPath, formatModule, format } = await buildBench();
  const config = keygateConfig(randomBytes(32).toString('hex'));
  const warmKeys = options.warmKeys ?? options.keys;
  const tierEntries = Math.max(warmKeys, Number(config.vars.ISOLATE_CACHE_MAX_ENTRIES ?? 10_000));
  config.variants.current.vars = { WARM_KEYS: String(warmKeys), ISOLATE_CACHE_MAX_ENTRIES: String(tierEntries) };
  const { mf, url } = await startMiniflare({ scriptPath, config });
  live.mf = mf;
  const db = await mf.getD1Database('DB');
  await applySchema(db);
  log(`seeding ${int(options.keys)} keys into D1`);
  const keys = generateKeys(format, { count: options.keys, prefix: 'model' });
  await insertKeys(db, format, keys);
  const rows = await countKeys(db);
  const ranked = modelKeys(keys, options.seed);
  const projectPaths = [...new Set(ranked.filter((k) => k.scenario === 'project').map((k) => k.path))];

  const distributions = workerDistributions(options.latencies);
  const setup = await fetch(new URL('/__bench/model', url), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inject: options.inject, d1Reads: options.d1, seed: options.seed, distributions, resetCounts: true }),
  });
  if (!setup.ok) throw new Error(`POST /__bench/model answered ${setup.status}: ${await setup.text()}`);

  const ttlSeconds = Number(config.vars.ISOLATE_CACHE_TTL_SECONDS ?? 10);
  log(
    `${rows.toLocaleString('en-US')} rows in api_keys; ${options.warmup} s warm-up and ${options.seconds} s measured at ${options.rate} draws/s ` +
      `(each to ${DESIGNS.join(' and ')}), restarts every ${options.restartEvery || '∞'} s, at ${url.origin}`,
  );
  /** @type {ChildGenerator<ModelLoadSpec, ModelLoadResult>} */
  const load = new ChildGenerator('model-load.mjs', 'model load generator');
  live.generator = load;
  /** @type {ModelLoadSpec} */
  const spec = {
    url: url.origin,
    keys: ranked,
    projectPaths,
    formatModule,
    variants: DESIGNS,
    zipf: options.zipf,
    unseen: options.unseen,
    rate: options.rate,
    warmupSeconds: options.warmup,
    seconds: options.seconds,
    restartEvery: options.restartEvery,
    liveSeconds: LIVE_SECONDS,
    seed: options.seed,
    maxInFlight: MAX_IN_FLIGHT,
  };
  const result = await load.runWithin(spec, (options.warmup + options.seconds + 120) * 1000);
  load.stop();
  live.mf = undefined;
  await mf.dispose();

  const measuredRestarts = result.restartsAt.filter((r) => r >= options.warmup);
  /** @type {Record<string, Record<string, Cell>>} */
  const cells = {};
  for (const [si, scenario] of SCENARIOS.entries()) {
    cells[scenario] = {};
    for (const [vi, design] of DESIGNS.entries()) {
      const samples = result.samples.filter((s) => s.scenario === si && s.variant === vi);
      /** @type {Record<string, Cell>} */ (cells[scenario])[design] = cellOf(
        samples,
        result.measuredSeconds,
        result.counts[`${design}/${scenario}`],
        result.restartsAt,
        ttlSeconds,
      );
    }
  }
  const perDesign = DESIGNS.map((design, vi) => ({
    design,
    requests: result.samples.filter((s) => s.variant === vi).length,
    rps: result.samples.filter((s) => s.variant === vi).length / result.measuredSeconds,
  }));
  const targets = evaluate(cells);
  const { JWT_SECRET: _secret, ...keygateVars } = config.vars;
  const model = {
    generatedAt: new Date().toISOString(),
    quick,
    source,
    options: { ...options, latencies: undefined },
    latencies: Object.fromEntries(
      DISTRIBUTION_NAMES.map((n) => [
        n,
        {
          ...options.latencies[n],
          ...lognormal(options.latencies[n]),
          what: DEFAULT_LATENCIES[n].what,
          source: DEFAULT_LATENCIES[n].source,
        },
      ]),
    ),
    machine: {
      cpu: os.cpus()[0]?.model?.trim() ?? 'unknown',
      cores: os.cpus().length,
      loadBefore,
      loadAfter: os.loadavg()[0] ?? 0,
    },
    versions: { node: process.version, miniflare: versionOf('miniflare'), workerd: versionOf('workerd') },
    keygateVars,
    designs: Object.fromEntries(DESIGNS.map((d) => [d, config.variants[d]])),
    rows,
    popularity: popularity(ranked, options.zipf),
    load: {
      sentDraws: result.sentDraws,
      skippedDraws: result.skippedDraws,
      lateDraws: result.lateDraws,
      errors: result.errors,
      errorMessages: result.errorMessages,
      warmupRequests: result.warmupRequests,
      unexpected: result.unexpected,
      measuredSeconds: result.measuredSeconds,
      restartsAt: result.restartsAt,
      measuredRestarts: measuredRestarts.length,
      perDesign,
    },
    counts: result.counts,
    countsWarmup: result.countsWarmup,
    delays: result.delays,
    cells,
    timeSeries: timeSeries(result.samples, options.warmup, options.seconds),
    targets,
  };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'model.json'), `${JSON.stringify(model, null, 2)}\n`);
  const section = renderModel(model);
  const resultsPath = join(outDir, 'RESULTS.md');
  const previous = existsSync(resultsPath) ? readFileSync(resultsPath, 'utf8') : '';
  writeFileSync(resultsPath, withModelSection(previous, section));
  // npm test checks bench/ with Biome (Markdown and JSON included): write both files as it would.
  spawnSync(join(ROOT, 'node_modules', '.bin', 'biome'), ['format', '--write', resultsPath, join(outDir, 'model.json')], {
    stdio: 'ignore',
  });
  log(`\n${section}`);
  const problems = SCENARIOS.flatMap((s) => DESIGNS.map((d) => cells[s]?.[d]?.unexpected ?? 0)).reduce((a, b) => a + b, 0);
  log(`Wrote ${resultsPath} (model section) and model.json in ${Math.round((Date.now() - startedAt) / 1000)} s.`);
  if (problems > 0 || result.errors > 0) {
    console.error(`warning: ${problems} unexpected answers and ${result.errors} request errors (RESULTS.md and model.json list them)`);
  }
}

/** The vars that tell the designs apart. */
const DESIGN_VARS = ['KEY_REFRESH', 'KEY_FEED_SECONDS', 'WARM_KEYS', 'ISOLATE_CACHE_MAX_ENTRIES'];

/**
 * A design's settings as the report names them: its own vars over the bench's.
 * @param {{ vars: Record<string, string> } | undefined} design
 * @param {Record<string, string>} vars the bench's vars (wrangler.toml's)
 */
function designVars(design, vars) {
  const all = { ...vars, ...(design?.vars ?? {}) };
  return DESIGN_VARS.filter((k) => all[k] !== undefined)
    .map((k) => `\`${k}=${all[k]}\``)
    .join(', ');
}

/**
 * How far the local simulators kept to the drawn delays.
 * @param {any} m what model.json holds
 */
function harnessText(m) {
  /** @type {Array<[string, { calls: number, overruns: number, overrunMs: number, over2s: number }]>} */
  const rows = Object.entries(m.delays ?? {});
  const sum = (/** @type {'calls' | 'overruns' | 'overrunMs' | 'over2s'} */ k) => rows.reduce((a, [, d]) => a + d[k], 0);
  const calls = sum('calls');
  const overruns = sum('overruns');
  const worst = rows
    .filter(([, d]) => d.overruns > 0)
    .sort((a, b) => b[1].overruns / b[1].calls - a[1].overruns / a[1].calls)
    .slice(0, 3)
    .map(([name, d]) => `${name} ${pct(d.overruns / d.calls, 0)}`)
    .join(', ');
  return (
    `${int(calls)} storage calls delayed in the measured window. ${pct(calls ? overruns / calls : 0, 1)} took longer locally than the delay drawn ` +
    `for them (by ${ms(overruns ? sum('overrunMs') / overruns : 0)} on average${worst ? `; ${worst} of their calls` : ''}): the request waited for the local ` +
    `call, but its added latency counts the drawn delay only. ${int(sum('over2s'))} took 2 s or more locally (Keygate's storage deadline: it may have ` +
    `given up on them). Load average (1 min) ${m.machine.loadBefore.toFixed(2)} at the start, ${m.machine.loadAfter.toFixed(2)} at the end, on ${m.machine.cores} cores ` +
    `(other programs included)`
  );
}

/**
 * The "Production latency model" section of RESULTS.md, markers included.
 * @param {any} m what model.json holds
 */
function renderModel(m) {
  /** @type {Options} */
  const o = { ...m.options, latencies: {} };
  const v = m.keygateVars;
  const p = m.popularity;
  const fmt = (/** @type {number} */ x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
  const latencyRows = DISTRIBUTION_NAMES.map((n) => {
    const d = m.latencies[n];
    return `| ${n} | ${fmt(d.p50)} | ${fmt(d.p99)} | ${d.what} | ${d.source} |`;
  }).join('\n');
  const resultRows = SCENARIOS.flatMap((scenario) =>
    DESIGNS.map((design) => {
      /** @type {Cell} */
      const c = m.cells[scenario][design];
      return (
        `| ${SCENARIO_LABELS[scenario]} | ${design} | ${int(c.requests)} | ${c.rps.toFixed(1)} | ${ms(c.addedMs.p50)} | ${ms(c.addedMs.p99)} | ${ms(c.addedMs.p999)} | ` +
        `${pct(c.shareWaited)} | ${pct(c.shareWaitedKnown)} / ${pct(c.shareWaitedUnseen, 0)} | ${pct(c.shareWaitedOnKey)} / ${pct(c.shareWaitedOnBudget)} | ` +
        `${pct(c.shareWaitedAwayFromRestarts)} | ${pct(c.shareWaitedLive)} | ${c.readsPer1k.toFixed(0)} (${c.kvReadsPer1k.toFixed(0)} KV, ${c.d1ReadsPer1k.toFixed(0)} D1) | ${c.counterCallsPer1k.toFixed(1)} | ${c.unexpected} |`
      );
    }),
  ).join('\n');
  const buckets = m.timeSeries[0]?.shares.length ?? 0;
  const seriesHeader = `| design | ${Array.from({ length: buckets }, (_, i) => `${i * BUCKET_SECONDS}–${Math.min(o.seconds, (i + 1) * BUCKET_SECONDS)} s`).join(' | ')} |`;
  const seriesRule = `|---|${Array.from({ length: buckets }, () => '---:').join('|')}|`;
  const seriesRows = m.timeSeries
    .map((/** @type {{ design: string, shares: number[] }} */ t) => `| ${t.design} | ${t.shares.map((x) => pct(x, 1)).join(' | ')} |`)
    .join('\n');
  const restarts = m.load.restartsAt
    .filter((/** @type {number} */ r) => r >= o.warmup)
    .map((/** @type {number} */ r) => `${(r - o.warmup).toFixed(0)} s`);
  const missed = m.targets.filter((/** @type {TargetRow} */ t) => !t.met).length;
  const perDesign = m.load.perDesign
    .map((/** @type {{ design: string, rps: number }} */ d) => `${d.design} ${d.rps.toFixed(1)} req/s`)
    .join(', ');

  return `${MODEL_BEGIN}

## Production latency model

Generated by \`npm run bench:model${m.quick ? ' -- --quick' : ''}\` on ${m.generatedAt}${m.quick ? ' (**quick smoke run**: short; not a measurement to quote)' : ''}. Code measured: ${
    m.source ? `commit \`${m.source.commit}\`${m.source.srcChanged ? ' with uncommitted changes under src/' : ''}` : 'not a git checkout'
  }. Raw figures: [model.json](model.json). \`npm run bench\` keeps this section as it is.

The load benchmark above runs against storage that answers in microseconds. Here every KV, D1 and
\`BudgetCounter\` call of Keygate lasts a delay drawn from a production latency distribution
(\`bench/worker.ts\`: the call is made, then a timer waits out the rest of the drawn delay; a KV
get draws from the hit distribution when the key is in KV, from the miss one when it is not),
keys are drawn by Zipf popularity, and the isolate restarts on schedule. Two designs run side by
side in the one isolate, on the same draws, each with its own KV namespace and budget leases:
**today**, the design before issue 13 (${designVars(m.designs.today, m.keygateVars)}: an isolate entry expires after
\`ISOLATE_CACHE_TTL_SECONDS\` and the next request waits), and **current**, the default configuration
with its tier sized to the key set as the README's "Warm start" advises
(${designVars(m.designs.current, m.keygateVars)}).

**Added latency** is the time a request waited on storage before Keygate forwarded it (or answered
it): the time covered by the KV and D1 reads of its key and the \`BudgetCounter\` calls of its
budget that it awaited (0 when it awaited none), each call counted for the delay drawn for it.
Keygate's CPU time is not in it (\`npm run bench\` measures that), nor the local machine's
queueing and slow simulator calls (workerd's \`Date.now()\` runs during CPU work under Miniflare,
so request wall times would count the contention of the load generator, the simulators and
other programs for the ${m.machine.cores} cores; those wall times are in model.json). A request **waited**
when it awaited at least one such call.

### Parameters

| parameter | value |
|---|---|
| keys | ${int(o.keys)} seeded (${pct(p.orgShare, 0)} organization keys, the rest project keys; 10 + 10 per organization, 5 project keys per project); popularity ranks alternate between the kinds (odd ranks organization keys, even ranks project keys), each kind in a seeded random order |
| popularity | Zipf, s = ${o.zipf}: rank 1 is ${pct(p.rank1, 1)} of draws, the top 100 ${pct(p.top100, 1)}; ranks beyond 1,000: ${pct(p.beyond1000, 1)}, beyond 10,000 (\`ISOLATE_CACHE_MAX_ENTRIES\`): ${pct(p.beyond10000, 1)} |
| never-seen keys | ${pct(o.unseen, 1)} of draws: a well-formed key (valid checksum) nobody has, half organization pairs, half project keys: typos, keys revoked and deleted long ago, old keys in forgotten configs. They are looked up in KV and D1 before the 401 (remembered as unknown for \`UNKNOWN_KEY_TTL_SECONDS\`), so they always wait, by design |
| load | open loop from a child process: ${o.rate} draws/s, each sent to both designs at once (${o.rate} req/s per design: this isolate's rate); achieved ${perDesign}; ${int(m.load.skippedDraws)} draws skipped (overload guard), ${int(m.load.lateDraws)} sent > 100 ms late, ${m.load.errors} errors |
| duration | ${o.warmup} s warm-up (discarded, storage counts too), ${o.seconds} s measured |
| harness | ${harnessText(m)} |
| isolate restarts | every ${o.restartEvery || '∞'} s (both designs: one isolate): the key tiers, parsed configuration and budget lease books dropped, as a new isolate starts; ${restarts.length ? `in the measured window at ${restarts.join(', ')}` : 'none in the measured window'}. Cloudflare publishes no isolate lifetime; assumed, pessimistic |
| Keygate | \`ISOLATE_CACHE_TTL_SECONDS=${v.ISOLATE_CACHE_TTL_SECONDS}\`, \`KEY_CACHE_TTL_SECONDS=${v.KEY_CACHE_TTL_SECONDS}\`, \`UNKNOWN_KEY_TTL_SECONDS=${v.UNKNOWN_KEY_TTL_SECONDS}\`, request budgets on and out of reach (\`ORG_RATE_LIMIT\` = \`PROJECT_RATE_LIMIT\` = \`${BUDGET_OUT_OF_REACH}\`) |
| D1 | ${o.d1 === 'primary' ? 'read replication off: every query answered by the primary, from another continent' : 'read replication on: reads made through the Sessions API (other than first-primary sessions) answered by a nearby replica; other queries and every write by the primary'} |
| seed | ${o.seed} (key draws, never-seen draws and delays; the never-seen keys themselves are random) |

Latencies (lognormal from p50 and p99, ms)${o.inject ? '' : '; **not applied in this run** (`--no-latency`: storage answered as fast as the local simulators)'}:

| call | p50 | p99 | stands for | source |
|---|---:|---:|---|---|
${latencyRows}

### Results

Per scenario and design, over the measured window. Added latency percentiles include the
requests that did not wait (0 ms). waited: share of requests that awaited storage; known / never-seen:
the same among requests with a seeded key and with a never-seen one; key / budget: awaited a read of
the key, a \`BudgetCounter\` call; away from restarts: the share outside the ${v.ISOLATE_CACHE_TTL_SECONDS} s after each restart;
live keys: the share among requests whose key the same isolate met within the previous ${LIVE_SECONDS} s (since its last restart).
Storage reads per 1,000 requests include background work (refresh ahead, KV fills).

| scenario | design | requests | req/s | added p50 | added p99 | added p99.9 | waited | known / never-seen | key / budget | away from restarts | live keys | KV + D1 reads per 1k | counter calls per 1k | unexpected answers |
|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
${resultRows}

Share of requests that waited, by ${BUCKET_SECONDS} s of the measured window (both scenarios):

${seriesHeader}
${seriesRule}
${seriesRows}

${
  m.load.unexpected.length === 0
    ? ''
    : `Unexpected answers (the first ${m.load.unexpected.length}; a seeded key must get 2xx, a never-seen one 401):\n\n${m.load.unexpected
        .map((/** @type {string} */ u) => `- ${u.replaceAll('|', '\\|').replaceAll('\n', ' ')}`)
        .join('\n')}\n\n`
}### Targets (issue 13)

${missed === 0 ? 'Every target met.' : `${missed} of ${m.targets.length} targets missed.`}

| target | measured | verdict |
|---|---|---|
${m.targets.map((/** @type {TargetRow} */ t) => `| ${t.target} | ${t.measured} | ${t.met ? 'met' : `**${t.verdict}**`} |`).join('\n')}

${MODEL_END}`;
}

await runToEnd(main, shutdown);
