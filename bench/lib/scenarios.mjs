// The load scenarios and how one is measured: warm-up, its background work settled, counters
// reset, the measured run, counters read once its background work (usage batches included) has
// settled; repeated, and summarised by medians.
import { loadavg } from 'node:os';
import { sign } from 'hono/jwt';
import { workerdCpuSeconds } from './cpu.mjs';
import { applySchema, countKeys, generateKeys, insertKeys } from './seed.mjs';
import { median } from './stats.mjs';

/** @typedef {import('../load.mjs').LoadSpec} LoadSpec */
/** @typedef {import('../load.mjs').LoadResult} LoadResult */
/** @typedef {import('./generator.mjs').LoadGenerator} LoadGenerator */
/** @typedef {import('./seed.mjs').OrgKey} OrgKey */
/** @typedef {import('./seed.mjs').ProjectKey} ProjectKey */
/** @typedef {import('./build.mjs').KeyFormat} KeyFormat */

/**
 * @typedef {object} Settings
 * @property {number} reps runs of every scenario
 * @property {number} connections
 * @property {number} duration seconds of each measured run
 * @property {number} warmup seconds of warm-up before each
 * @property {number} coldRequests requests (distinct keys) of each measured cold run
 * @property {number} coldWarmup requests (distinct keys) of each cold warm-up
 * @property {number} memorySeconds length of the memory flood
 * @property {number} heapEvery seconds between heap samples
 * @property {number} [rate] offered load of every run, requests per second (absent: as fast as answered)
 */

/** @typedef {{ reads: number, writes: number }} Counts */

/**
 * @typedef {object} WorkerCounts what bench/worker.ts counted since its last reset
 * @property {Counts} d1 D1 statements
 * @property {Counts} kv KV operations
 * @property {Counts} usage the D1 statements on usage_hourly (part of d1: the usage batches)
 * @property {Counts} feed the key change feed's polls (part of d1)
 * @property {{ calls: number }} counter BudgetCounter calls (Durable Object round trips)
 * @property {number} usagePending usage counts in memory, not yet written (not reset)
 */

/**
 * @typedef {object} Bench what scenarios run against: one started Miniflare and its keys
 * @property {URL} url
 * @property {LoadGenerator} generator
 * @property {Settings} settings
 * @property {KeyFormat} format
 * @property {string} jwtSecret
 * @property {OrgKey} hotOrgKey
 * @property {ProjectKey} hotProjectKey
 * @property {ProjectKey[]} revocableKeys one per rep, never used by another scenario
 * @property {ProjectKey[]} coldKeys never used by another scenario
 * @property {ProjectKey[]} floorKeys the cold baseline's, likewise
 * @property {ProjectKey} overBudgetKey a key whose own budget (OVER_BUDGET_LIMIT) no other scenario uses
 * @property {string} formatModule the key-format bundle, for the load generator's forged keys
 * @property {number} usageFlushSeconds Keygate's USAGE_FLUSH_SECONDS: how long usage counts wait for their batch
 */

/** @typedef {'2xx' | 401 | 429} Expectation every response 2xx, or every response exactly 401, or 429 */

/**
 * @typedef {object} Scenario
 * @property {string} id
 * @property {string} label
 * @property {Expectation} expect
 * @property {Expectation[]} [warmupAlso] what the warm-up may answer besides `expect` (before a throttle engages)
 * @property {boolean} [baseline] measures the runtime without Keygate, to compare scenarios with
 * @property {(bench: Bench, rep: number) => Promise<{ warmup: Partial<LoadSpec>, measure: Partial<LoadSpec> }>} prepare
 *   sets the scenario up for one rep and says what to send
 * @property {(bench: Bench, rep: number) => Promise<string[]>} [check] after the counters are read:
 *   what is wrong with Keygate's state (problems), nothing when all is well
 */

/**
 * @typedef {object} RepResult
 * @property {LoadResult} warmup
 * @property {LoadResult} measured
 * @property {Counts} d1 D1 statements during the measured run (and its background work)
 * @property {Counts} kv KV operations, likewise
 * @property {Counts} usage the D1 statements of usage batches (part of d1), likewise: every count of
 *   the measured run written, and none of the warm-up's
 * @property {Counts} feed the key change feed's polls (part of d1), likewise
 * @property {number} counterCalls BudgetCounter calls, likewise
 * @property {number | null} cpuSeconds workerd's CPU time, likewise (null: not measurable here)
 * @property {number} load1 the machine's 1-minute load average right after the measured run
 */

/**
 * @typedef {object} Summary medians over the reps
 * @property {number} rps
 * @property {number} p50
 * @property {number} p99
 * @property {number | null} cpuUsPerRequest workerd CPU microseconds per request, all its Workers together
 * @property {number} d1ReadsPer1k
 * @property {number} d1WritesPer1k
 * @property {number} kvReadsPer1k
 * @property {number} kvWritesPer1k
 * @property {number} usageWritesPer1k D1 statements of usage batches per 1,000 requests
 * @property {number} counterCallsPer1k BudgetCounter calls per 1,000 requests
 */

/**
 * @typedef {object} ScenarioResult
 * @property {string} label
 * @property {Expectation} expect
 * @property {RepResult[]} reps
 * @property {Summary} median
 * @property {Expectation[]} [warmupAlso]
 * @property {string[]} problems responses that broke the expectation, errors, repeated keys (warm-ups
 *   included), failed checks
 */

/** @param {{ organizationId: string, projectId: string }} key */
const contentPath = (key) => `/api/v1/organizations/${key.organizationId}/projects/${key.projectId}/content`;

/** @param {string} secret the same key with a wrong checksum (its last character changed) */
const withBadChecksum = (secret) => secret.slice(0, -1) + (secret.endsWith('A') ? 'B' : 'A');

/** Requests sent with a key before it is revoked, so every cache tier holds it. */
export const WARM_REQUESTS_BEFORE_REVOKE = 20;

/**
 * The over-budget key's own budget: one request a day (the longest window), spent before its
 * scenario; its window ends at 00:00 UTC, and a run across that admits one request more.
 */
export const OVER_BUDGET_LIMIT = { requests: 1, windowSeconds: 86_400 };

/** Picks Keygate's configuration for a request (bench/worker.ts; the variants are in bench/lib/miniflare.mjs). */
const CONFIG_HEADER = 'x-bench-config';

/**
 * The client IP of the forged-key flood in run `rep` (TEST-NET-2; Miniflare passes a client's
 * CF-Connecting-IP on), and another that sends nothing else. Every other scenario comes from
 * 127.0.0.1, which Miniflare sets.
 */
const floodIp = (/** @type {number} */ rep) => `198.51.100.${1 + rep}`;
const bystanderIp = (/** @type {number} */ rep) => `198.51.100.${101 + rep}`;

/** Same request for the warm-up and the measured run, each for its configured time. */
function flood(/** @type {Bench} */ bench, /** @type {Partial<LoadSpec>} */ request) {
  return { warmup: { ...request, duration: bench.settings.warmup }, measure: { ...request, duration: bench.settings.duration } };
}

/**
 * A flood of one x-api-key on the content route of a key's project.
 * @param {Bench} bench
 * @param {ProjectKey} route the key whose project's path is used
 * @param {string} apiKey
 */
const keyFlood = (bench, route, apiKey) => flood(bench, { path: contentPath(route), headers: { 'x-api-key': apiKey } });

/**
 * A flood of a request to the replay baseline (bench/worker.ts), which does what Keygate did for
 * it once (answered it, or forwarded it), without Keygate's work.
 * @param {Bench} bench
 * @param {{ path: string, headers?: Record<string, string> }} request
 */
const replayFlood = (bench, { path, headers }) => flood(bench, { path: `/__bench/replay${path}`, headers });

/**
 * The same flood of one x-api-key on the content route of a key's project, replayed.
 * @param {Bench} bench
 * @param {ProjectKey} route
 * @param {string} apiKey
 */
const keyReplayFlood = (bench, route, apiKey) => replayFlood(bench, { path: contentPath(route), headers: { 'x-api-key': apiKey } });

/**
 * One request per key, each key sent once: the run's share of a pool of keys never sent before.
 * @param {Bench} bench
 * @param {ProjectKey[]} pool
 * @param {number} rep
 * @param {(key: ProjectKey) => string} pathOf
 */
function neverSent(bench, pool, rep, pathOf) {
  const { coldRequests, coldWarmup } = bench.settings;
  const start = rep * (coldWarmup + coldRequests);
  const requests = pool
    .slice(start, start + coldWarmup + coldRequests)
    .map((key) => ({ path: pathOf(key), headers: { 'x-api-key': key.secret } }));
  if (requests.length < coldWarmup + coldRequests) throw new Error(`not enough never-sent keys for run ${rep + 1}`);
  return { warmup: { perRequest: requests.slice(0, coldWarmup) }, measure: { perRequest: requests.slice(coldWarmup) } };
}

/**
 * The hot keys' requests: the organization key's pair on the gateway, the project key on its
 * content route, with request budgets on (out of reach) or off. Both send the config header, so
 * the two differ by their budgets only.
 * @param {Bench} bench
 * @param {'budgets-on' | 'budgets-off'} config
 */
export const hotRequests = (bench, config) => ({
  hotOrg: {
    path: '/v1/companies',
    headers: { 'x-metal-client-id': bench.hotOrgKey.clientId, 'x-metal-api-key': bench.hotOrgKey.secret, [CONFIG_HEADER]: config },
  },
  hotProject: { path: contentPath(bench.hotProjectKey), headers: { 'x-api-key': bench.hotProjectKey.secret, [CONFIG_HEADER]: config } },
});

/**
 * The refusals' requests for the in-isolate loop, with the no-op they are compared with: the key
 * over its budget (spent by its scenario), the invalid key, and GET /health.
 * @param {Bench} bench
 */
export const refusalRequests = (bench) => ({
  noop: { path: '/health', headers: {} },
  overBudget: { path: contentPath(bench.overBudgetKey), headers: { 'x-api-key': bench.overBudgetKey.secret } },
  invalid: { path: contentPath(bench.hotProjectKey), headers: { 'x-api-key': withBadChecksum(bench.hotProjectKey.secret) } },
});

/** A flood of the hot organization key. @param {Bench} bench @param {'budgets-on' | 'budgets-off'} config */
const hotOrgFlood = (bench, config) => flood(bench, hotRequests(bench, config).hotOrg);

/** A flood of the hot project key. @param {Bench} bench @param {'budgets-on' | 'budgets-off'} config */
const hotProjectFlood = (bench, config) => flood(bench, hotRequests(bench, config).hotProject);

/**
 * The scenarios, in the order each round runs them: each soon after what it is compared with
 * (comparedWith, report.mjs), since a shared machine's speed drifts over minutes. The refusals,
 * judged against the no-op, follow it (one to seven runs later), each refusal's replay follows it,
 * the hot keys follow the origin hop alone, each with budgets on is followed by the same with
 * budgets off and then by its forward replayed, and the cold keys by their floor.
 * @type {Scenario[]}
 */
export const SCENARIOS = [
  {
    id: 'noop',
    label: 'no-op (GET /health)',
    expect: '2xx',
    prepare: async (bench) => flood(bench, { path: '/health' }),
  },
  {
    id: 'invalid',
    label: 'invalid key (bad checksum)',
    expect: 401,
    prepare: async (bench) => keyFlood(bench, bench.hotProjectKey, withBadChecksum(bench.hotProjectKey.secret)),
  },
  {
    // A baseline, not a target: the invalid key's 401 above replayed as Keygate answered it
    // (status, headers, body), without Keygate's work: what the answer itself costs.
    id: 'invalidReplay',
    label: "baseline: the invalid key's 401 replayed, no Keygate",
    expect: 401,
    baseline: true,
    prepare: async (bench) => keyReplayFlood(bench, bench.hotProjectKey, withBadChecksum(bench.hotProjectKey.secret)),
  },
  {
    id: 'unknown',
    label: 'unknown well-formed key',
    expect: 401,
    prepare: async (bench) => keyFlood(bench, bench.hotProjectKey, bench.format.generateKey('project')),
  },
  {
    id: 'overBudget',
    label: 'key over its own budget (429)',
    expect: 429,
    prepare: async (bench) => {
      await spendBudget(bench, bench.overBudgetKey);
      return keyFlood(bench, bench.overBudgetKey, bench.overBudgetKey.secret);
    },
  },
  {
    // A baseline, not a target: the 429 above replayed, as the invalid key's 401.
    id: 'overBudgetReplay',
    label: "baseline: the key over its budget's 429 replayed, no Keygate",
    expect: 429,
    baseline: true,
    prepare: async (bench) => {
      await spendBudget(bench, bench.overBudgetKey);
      return keyReplayFlood(bench, bench.overBudgetKey, bench.overBudgetKey.secret);
    },
  },
  {
    id: 'revoked',
    label: 'just-revoked key',
    expect: 401,
    prepare: async (bench, rep) => {
      const key = bench.revocableKeys[rep];
      if (!key) throw new Error(`no revocable key for run ${rep + 1}`);
      await revoke(bench, key);
      return keyFlood(bench, key, key.secret);
    },
  },
  {
    // Forged keys (well-formed, checksum valid, unknown), a new one every request, from one IP,
    // with the refused-credential throttle as wrangler.toml sets it: the warm-up passes its
    // threshold (401 until then), the measured run is answered 429 from memory.
    id: 'forgedFlood',
    label: 'forged keys from one IP, throttle on',
    expect: 429,
    warmupAlso: [401],
    prepare: async (bench, rep) => {
      const request = {
        path: contentPath(bench.hotProjectKey),
        headers: { [CONFIG_HEADER]: 'throttle-on', 'cf-connecting-ip': floodIp(rep) },
        randomKeys: { formatModule: bench.formatModule, header: 'x-api-key' },
      };
      // A throttle that engaged already would make the warm-up no test of the threshold.
      const first = await forged(bench, floodIp(rep));
      if (first !== 401) throw new Error(`the flood's IP was answered ${first} before its flood`);
      return flood(bench, request);
    },
    check: async (bench, rep) => {
      // The throttle is per client IP, by the CF-Connecting-IP the client sent: another IP is
      // still answered 401, the flooding one 429.
      const problems = [];
      const bystander = await forged(bench, bystanderIp(rep));
      if (bystander !== 401) problems.push(`run ${rep + 1}: a forged key from another IP was answered ${bystander}, not 401`);
      const flooder = await forged(bench, floodIp(rep));
      if (flooder !== 429) problems.push(`run ${rep + 1}: the flooding IP was answered ${flooder} after its flood, not 429`);
      return problems;
    },
  },
  {
    // A baseline, not a target: the origin hop the hot scenarios make, without Keygate.
    id: 'forward',
    label: 'baseline: origin hop only, no Keygate',
    expect: '2xx',
    baseline: true,
    prepare: async (bench) => flood(bench, { path: '/__bench/forward' }),
  },
  {
    id: 'hotOrg',
    label: 'hot organization key (GET /v1/companies)',
    expect: '2xx',
    prepare: async (bench) => hotOrgFlood(bench, 'budgets-on'),
  },
  {
    // Not a target of its own: what the hot organization key's budgets cost is measured against it.
    id: 'hotOrgOff',
    label: 'hot organization key, budgets off',
    expect: '2xx',
    prepare: async (bench) => hotOrgFlood(bench, 'budgets-off'),
  },
  {
    // A baseline, not a target: the hot organization key's forward replayed (bench/worker.ts):
    // the request Keygate sent the origin and the headers it added to the answer, with no key
    // check, budgets or policy: what the forward the contract prescribes costs over the bare hop.
    id: 'hotOrgReplay',
    label: "baseline: the hot organization key's forward replayed, no Keygate",
    expect: '2xx',
    baseline: true,
    prepare: async (bench) => replayFlood(bench, hotRequests(bench, 'budgets-on').hotOrg),
  },
  {
    id: 'hotProject',
    label: 'hot project key (GET …/content)',
    expect: '2xx',
    prepare: async (bench) => hotProjectFlood(bench, 'budgets-on'),
  },
  {
    id: 'hotProjectOff',
    label: 'hot project key, budgets off',
    expect: '2xx',
    prepare: async (bench) => hotProjectFlood(bench, 'budgets-off'),
  },
  {
    // A baseline, not a target: the hot project key's forward replayed, as the organization key's.
    id: 'hotProjectReplay',
    label: "baseline: the hot project key's forward replayed, no Keygate",
    expect: '2xx',
    baseline: true,
    prepare: async (bench) => replayFlood(bench, hotRequests(bench, 'budgets-on').hotProject),
  },
  {
    id: 'cold',
    label: 'cold keys (a new key every request)',
    expect: '2xx',
    prepare: async (bench, rep) => neverSent(bench, bench.coldKeys, rep, contentPath),
  },
  {
    // A baseline, not a target: the storage calls of a cold key and the origin hop, without the
    // rest of Keygate, for keys of its own pool (seeded like the cold ones, never sent before).
    id: 'coldFloor',
    label: 'baseline: cold-key storage calls + origin hop, no Keygate',
    expect: '2xx',
    baseline: true,
    prepare: async (bench, rep) => neverSent(bench, bench.floorKeys, rep, () => '/__bench/cold-floor'),
  },
];

/**
 * Seeds a fresh Miniflare's D1 for the scenarios: the schema, `n` keys (half organization, half
 * project keys), the key over its budget, and, when `cold` (the default), pools of never-sent keys
 * for the cold scenario and its baseline (seeded apart when the n keys are too few).
 * @param {import('miniflare').Miniflare} mf
 * @param {number} n
 * @param {Pick<Bench, 'url' | 'generator' | 'settings' | 'format' | 'formatModule' | 'jwtSecret'> & { config: import('./miniflare.mjs').KeygateConfig }} setup
 * @param {(line: string) => void} log
 * @param {{ cold?: boolean }} [options]
 * @returns {Promise<{ bench: Bench, rows: number, coldPool: number }>}
 */
export async function seedBench(mf, n, setup, log, { cold = true } = {}) {
  const { config, ...shared } = setup;
  const { format, settings } = setup;
  const db = await mf.getD1Database('DB');
  await applySchema(db);
  log(`N = ${n.toLocaleString('en-US')}: seeding D1`);
  const keys = generateKeys(format, { count: n, prefix: 'org' });
  await insertKeys(db, format, keys);
  const [hotOrgKey] = keys.orgKeys;
  const [hotProjectKey] = keys.projectKeys;
  if (!hotOrgKey || !hotProjectKey) throw new Error(`N = ${n} is too few keys`);
  // The key over its budget: a project key of an organization of its own, with its own budget.
  const [limited] = generateKeys(format, { count: 1, prefix: 'limited', projectOnly: true }).projectKeys;
  if (!limited) throw new Error('no key to put over its budget');
  const overBudgetKey = { ...limited, rateLimit: OVER_BUDGET_LIMIT };
  await insertKeys(db, format, { orgKeys: [], projectKeys: [overBudgetKey] });
  const revocableKeys = keys.projectKeys.slice(1, 1 + settings.reps);
  // The cold scenario and its baseline each need keys never sent before, in pools of their own.
  const coldNeeded = cold ? settings.reps * (settings.coldWarmup + settings.coldRequests) : 0;
  let pool = keys.projectKeys.slice(1 + settings.reps);
  let coldPool = 0;
  if (pool.length < 2 * coldNeeded) {
    pool = generateKeys(format, { count: 2 * coldNeeded, prefix: 'cold', projectOnly: true }).projectKeys;
    await insertKeys(db, format, { orgKeys: [], projectKeys: pool });
    coldPool = pool.length;
  }
  const bench = {
    ...shared,
    hotOrgKey,
    hotProjectKey,
    revocableKeys,
    coldKeys: pool.slice(0, coldNeeded),
    floorKeys: pool.slice(coldNeeded, 2 * coldNeeded),
    overBudgetKey,
    usageFlushSeconds: Number(config.vars.USAGE_FLUSH_SECONDS ?? 5),
  };
  return { bench, rows: await countKeys(db), coldPool };
}

/**
 * Makes the key hot (accepted, so cached in every tier), then revokes it through the admin API
 * (PUT .../api-keys/{id} {"status": "revoked"} with an admin JWT of its organization).
 * @param {Bench} bench
 * @param {ProjectKey} key
 */
async function revoke(bench, key) {
  for (let i = 0; i < WARM_REQUESTS_BEFORE_REVOKE; i++) {
    const res = await fetch(new URL(contentPath(key), bench.url), { headers: { 'x-api-key': key.secret } });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`key to revoke answered ${res.status} before its revocation`);
  }
  const now = Math.floor(Date.now() / 1000);
  const token = await sign({ sub: 'bench', org: key.organizationId, role: 'admin', iat: now, exp: now + 600 }, bench.jwtSecret, 'HS256');
  const res = await fetch(new URL(`/app/v1/organizations/${key.organizationId}/projects/${key.projectId}/api-keys/${key.id}`, bench.url), {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ status: 'revoked' }),
  });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`revoking a key answered ${res.status}: ${body}`);
}

/**
 * Sends its budget's one request with the key (unless spent already), then checks that the key
 * is refused as a spent budget is: 429 with Retry-After, X-RateLimit-Remaining 0, RATE_LIMITED.
 * @param {Bench} bench
 * @param {ProjectKey} key
 */
async function spendBudget(bench, key) {
  for (let i = 0; i <= OVER_BUDGET_LIMIT.requests; i++) {
    const res = await fetch(new URL(contentPath(key), bench.url), { headers: { 'x-api-key': key.secret } });
    const body = await res.text();
    if (res.status === 200) continue;
    const code = /** @type {{ error?: { code?: string } }} */ (JSON.parse(body)).error?.code;
    if (
      res.status !== 429 ||
      code !== 'RATE_LIMITED' ||
      !res.headers.get('retry-after') ||
      res.headers.get('x-ratelimit-remaining') !== '0'
    ) {
      throw new Error(`the key over its budget answered ${res.status} ${body} (Retry-After ${res.headers.get('retry-after')})`);
    }
    return;
  }
  throw new Error(`the key with a budget of ${OVER_BUDGET_LIMIT.requests} request(s) was never refused`);
}

/**
 * The status of one request with a new forged key, from `ip`, with the throttle on.
 * @param {Bench} bench
 * @param {string} ip
 */
async function forged(bench, ip) {
  const res = await fetch(new URL(contentPath(bench.hotProjectKey), bench.url), {
    headers: { 'x-api-key': bench.format.generateKey('project'), [CONFIG_HEADER]: 'throttle-on', 'cf-connecting-ip': ip },
  });
  await res.arrayBuffer();
  return res.status;
}

/**
 * @param {URL} url
 * @param {'GET' | 'POST'} method GET reads, POST resets (and answers the zeroed counts)
 * @returns {Promise<WorkerCounts>}
 */
async function counters(url, method) {
  const res = await fetch(new URL(`/__bench/counts${method === 'POST' ? '/reset' : ''}`, url), { method });
  if (!res.ok) throw new Error(`bench counters answered ${res.status}`);
  return /** @type {WorkerCounts} */ (await res.json());
}

/**
 * Polls the counters until background work (waitUntil) is done: no usage counts wait for their
 * batch, and nothing moved the counters for 200 ms. Usage counts wait up to USAGE_FLUSH_SECONDS
 * for their batch, so this waits at most that long and 5 s more.
 * @param {Bench} bench
 * @returns {Promise<{ counts: WorkerCounts, settled: boolean }>}
 */
async function settledCounters(bench) {
  const deadline = Date.now() + (bench.usageFlushSeconds + 5) * 1000;
  const { usagePending: _pending, ...first } = await counters(bench.url, 'GET');
  let previous = JSON.stringify(first);
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const counts = await counters(bench.url, 'GET');
    const { usagePending, ...moving } = counts;
    const now = JSON.stringify(moving);
    if (usagePending === 0 && now === previous) return { counts, settled: true };
    if (Date.now() >= deadline) return { counts, settled: false };
    previous = now;
  }
}

/**
 * What broke the expectation in one load run.
 * @param {LoadResult} result
 * @param {Expectation[]} allowed the statuses every response must be one of
 * @param {string} phase
 */
function problemsOf(result, allowed, phase) {
  const problems = [];
  for (const [code, count] of Object.entries(result.statuses)) {
    const ok = allowed.some((expect) => (expect === '2xx' ? code.startsWith('2') : Number(code) === expect));
    if (!ok) problems.push(`${phase}: ${count} × ${code}`);
  }
  if (result.errors) {
    const messages = Object.entries(result.errorMessages).map(([message, n]) => `${n} × ${message}`);
    problems.push(`${phase}: ${result.errors} errors (${messages.join(', ')})`);
  }
  if (result.repeats) problems.push(`${phase}: ${result.repeats} repeated keys`);
  if (result.requests === 0) problems.push(`${phase}: no responses`);
  return problems;
}

/**
 * @param {RepResult[]} reps
 * @returns {Summary}
 */
function summarise(reps) {
  /** @param {(rep: RepResult) => number} pick */
  const med = (pick) => median(reps.map(pick));
  /** @param {RepResult} rep @param {number} count */
  const per1k = (rep, count) => (count / Math.max(1, rep.measured.requests)) * 1000;
  const cpu = reps.flatMap((r) => (r.cpuSeconds === null ? [] : [(r.cpuSeconds / Math.max(1, r.measured.requests)) * 1e6]));
  return {
    rps: med((r) => r.measured.rps),
    p50: med((r) => r.measured.p50),
    p99: med((r) => r.measured.p99),
    cpuUsPerRequest: cpu.length === reps.length ? median(cpu) : null,
    d1ReadsPer1k: med((r) => per1k(r, r.d1.reads)),
    d1WritesPer1k: med((r) => per1k(r, r.d1.writes)),
    kvReadsPer1k: med((r) => per1k(r, r.kv.reads)),
    kvWritesPer1k: med((r) => per1k(r, r.kv.writes)),
    usageWritesPer1k: med((r) => per1k(r, r.usage.writes)),
    counterCallsPer1k: med((r) => per1k(r, r.counterCalls)),
  };
}

/**
 * Expected wall time of a run, for the generator's time limit.
 * @param {Partial<LoadSpec>} spec
 */
const expectedMs = (spec) => (spec.duration ? spec.duration * 1000 : 120_000);

/**
 * Runs every scenario `settings.reps` times, round by round (so drift spreads evenly over them).
 * @param {Bench} bench
 * @param {(line: string) => void} log
 * @param {{ only?: string[], alternate?: boolean }} [options] `only`: these scenarios (ids), in
 *   SCENARIOS' order; `alternate`: every other round in reverse order, so that in a pair of
 *   scenarios neither always runs first (drift within a round cancels over two rounds)
 * @returns {Promise<Record<string, ScenarioResult>>}
 */
export async function runScenarios(bench, log, { only, alternate = false } = {}) {
  const selected = only ? SCENARIOS.filter((s) => only.includes(s.id)) : SCENARIOS;
  /** @type {Record<string, RepResult[]>} */
  const reps = Object.fromEntries(selected.map((s) => [s.id, []]));
  /** @type {Record<string, string[]>} */
  const problems = Object.fromEntries(selected.map((s) => [s.id, []]));
  const { rate } = bench.settings;
  const base = { url: bench.url.origin, connections: bench.settings.connections, path: '/', ...(rate ? { rate } : {}) };
  for (let rep = 0; rep < bench.settings.reps; rep++) {
    const round = alternate && rep % 2 === 1 ? [...selected].reverse() : selected;
    for (const scenario of round) {
      const { warmup, measure } = await scenario.prepare(bench, rep);
      const warmupResult = await bench.generator.run({ ...base, ...warmup }, expectedMs(warmup));
      // The warm-up's background work (its usage batch, KV fills) lands before the reset, so the
      // measured run's counts are its own: its usage counts are all written, and no others.
      const warmupSettled = (await settledCounters(bench)).settled;
      await counters(bench.url, 'POST');
      const cpuBefore = workerdCpuSeconds();
      const measured = await bench.generator.run({ ...base, ...measure }, expectedMs(measure));
      const { counts, settled } = await settledCounters(bench);
      const cpuAfter = workerdCpuSeconds();
      const cpuSeconds = cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore;
      const { d1, kv, usage, feed } = counts;
      const counterCalls = counts.counter.calls;
      reps[scenario.id]?.push({
        warmup: warmupResult,
        measured,
        d1,
        kv,
        usage,
        feed,
        counterCalls,
        cpuSeconds,
        load1: loadavg()[0] ?? 0,
      });
      const warmupAllowed = [scenario.expect, ...(scenario.warmupAlso ?? [])];
      problems[scenario.id]?.push(
        ...problemsOf(warmupResult, warmupAllowed, `run ${rep + 1} warm-up`),
        ...problemsOf(measured, [scenario.expect], `run ${rep + 1}`),
        ...(warmupSettled && settled
          ? []
          : [`run ${rep + 1}: background work still running ${bench.usageFlushSeconds + 5} s after a load`]),
        ...((await scenario.check?.(bench, rep)) ?? []),
      );
      log(
        `  run ${rep + 1}/${bench.settings.reps} ${scenario.id.padEnd(13)} ${Math.round(measured.rps)} req/s, ` +
          `p50 ${measured.p50.toFixed(2)} ms, p99 ${measured.p99.toFixed(2)} ms, D1 ${d1.reads} reads/${d1.writes} writes ` +
          `(usage ${usage.writes}), KV ${kv.reads} reads, counter ${counterCalls} calls` +
          (cpuSeconds === null ? '' : `, workerd ${Math.round((cpuSeconds / Math.max(1, measured.requests)) * 1e6)} µs CPU/request`),
      );
    }
  }
  return Object.fromEntries(
    selected.map((s) => {
      const results = reps[s.id] ?? [];
      const summary = { label: s.label, expect: s.expect, reps: results, median: summarise(results), problems: problems[s.id] ?? [] };
      return [s.id, s.warmupAlso ? { ...summary, warmupAlso: s.warmupAlso } : summary];
    }),
  );
}
