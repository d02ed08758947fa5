// The load scenarios and how one is measured: warm-up, D1/KV counters reset, the measured run,
// counters read once background work has settled; repeated, and summarised by medians.
import { loadavg } from 'node:os';
import { sign } from 'hono/jwt';
import { workerdCpuSeconds } from './cpu.mjs';

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
 */

/** @typedef {{ reads: number, writes: number }} Counts */

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
 */

/** @typedef {'2xx' | 401} Expectation every response 2xx, or every response exactly 401 */

/**
 * @typedef {object} Scenario
 * @property {string} id
 * @property {string} label
 * @property {Expectation} expect
 * @property {boolean} [baseline] measures the runtime without Keygate, to compare scenarios with
 * @property {(bench: Bench, rep: number) => Promise<{ warmup: Partial<LoadSpec>, measure: Partial<LoadSpec> }>} prepare
 *   sets the scenario up for one rep and says what to send
 */

/**
 * @typedef {object} RepResult
 * @property {LoadResult} warmup
 * @property {LoadResult} measured
 * @property {Counts} d1 D1 statements during the measured run (and its background work)
 * @property {Counts} kv KV operations, likewise
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
 */

/**
 * @typedef {object} ScenarioResult
 * @property {string} label
 * @property {Expectation} expect
 * @property {RepResult[]} reps
 * @property {Summary} median
 * @property {string[]} problems responses that broke the expectation, errors, repeated keys (warm-ups included)
 */

/** @param {{ organizationId: string, projectId: string }} key */
const contentPath = (key) => `/api/v1/organizations/${key.organizationId}/projects/${key.projectId}/content`;

/** @param {string} secret the same key with a wrong checksum (its last character changed) */
const withBadChecksum = (secret) => secret.slice(0, -1) + (secret.endsWith('A') ? 'B' : 'A');

/** Requests sent with a key before it is revoked, so every cache tier holds it. */
export const WARM_REQUESTS_BEFORE_REVOKE = 20;

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

/** @type {Scenario[]} */
export const SCENARIOS = [
  {
    id: 'noop',
    label: 'no-op (GET /health)',
    expect: '2xx',
    prepare: async (bench) => flood(bench, { path: '/health' }),
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
    prepare: async (bench) =>
      flood(bench, {
        path: '/v1/companies',
        headers: { 'x-metal-client-id': bench.hotOrgKey.clientId, 'x-metal-api-key': bench.hotOrgKey.secret },
      }),
  },
  {
    id: 'hotProject',
    label: 'hot project key (GET …/content)',
    expect: '2xx',
    prepare: async (bench) => keyFlood(bench, bench.hotProjectKey, bench.hotProjectKey.secret),
  },
  {
    id: 'invalid',
    label: 'invalid key (bad checksum)',
    expect: 401,
    prepare: async (bench) => keyFlood(bench, bench.hotProjectKey, withBadChecksum(bench.hotProjectKey.secret)),
  },
  {
    id: 'unknown',
    label: 'unknown well-formed key',
    expect: 401,
    prepare: async (bench) => keyFlood(bench, bench.hotProjectKey, bench.format.generateKey('project')),
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
];

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
 * @param {URL} url
 * @param {'d1' | 'kv'} store
 * @param {'GET' | 'POST'} method
 * @returns {Promise<Counts>}
 */
async function counters(url, store, method) {
  const res = await fetch(new URL(`/__bench/${store}${method === 'POST' ? '/reset' : ''}`, url), { method });
  if (!res.ok) throw new Error(`bench counters answered ${res.status}`);
  return /** @type {Counts} */ (await res.json());
}

/** Polls for the counters until background work (waitUntil) stops moving them, at most ~5 s. */
async function settledCounters(/** @type {URL} */ url) {
  let previous = { d1: await counters(url, 'd1', 'GET'), kv: await counters(url, 'kv', 'GET') };
  for (let i = 0; i < 25; i++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const now = { d1: await counters(url, 'd1', 'GET'), kv: await counters(url, 'kv', 'GET') };
    if (JSON.stringify(now) === JSON.stringify(previous)) return now;
    previous = now;
  }
  return previous;
}

/**
 * What broke the expectation in one load run.
 * @param {LoadResult} result
 * @param {Expectation} expect
 * @param {string} phase
 */
function problemsOf(result, expect, phase) {
  const problems = [];
  for (const [code, count] of Object.entries(result.statuses)) {
    const ok = expect === '2xx' ? code.startsWith('2') : Number(code) === expect;
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

/** @param {number[]} values */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
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
 * @returns {Promise<Record<string, ScenarioResult>>}
 */
export async function runScenarios(bench, log) {
  /** @type {Record<string, RepResult[]>} */
  const reps = Object.fromEntries(SCENARIOS.map((s) => [s.id, []]));
  /** @type {Record<string, string[]>} */
  const problems = Object.fromEntries(SCENARIOS.map((s) => [s.id, []]));
  const base = { url: bench.url.origin, connections: bench.settings.connections, path: '/' };
  for (let rep = 0; rep < bench.settings.reps; rep++) {
    for (const scenario of SCENARIOS) {
      const { warmup, measure } = await scenario.prepare(bench, rep);
      const warmupResult = await bench.generator.run({ ...base, ...warmup }, expectedMs(warmup));
      await counters(bench.url, 'd1', 'POST');
      await counters(bench.url, 'kv', 'POST');
      const cpuBefore = workerdCpuSeconds();
      const measured = await bench.generator.run({ ...base, ...measure }, expectedMs(measure));
      const { d1, kv } = await settledCounters(bench.url);
      const cpuAfter = workerdCpuSeconds();
      const cpuSeconds = cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore;
      reps[scenario.id]?.push({ warmup: warmupResult, measured, d1, kv, cpuSeconds, load1: loadavg()[0] ?? 0 });
      problems[scenario.id]?.push(
        ...problemsOf(warmupResult, scenario.expect, `run ${rep + 1} warm-up`),
        ...problemsOf(measured, scenario.expect, `run ${rep + 1}`),
      );
      log(
        `  run ${rep + 1}/${bench.settings.reps} ${scenario.id.padEnd(10)} ${Math.round(measured.rps)} req/s, ` +
          `p50 ${measured.p50.toFixed(2)} ms, p99 ${measured.p99.toFixed(2)} ms, D1 ${d1.reads} reads/${d1.writes} writes` +
          (cpuSeconds === null ? '' : `, workerd ${Math.round((cpuSeconds / Math.max(1, measured.requests)) * 1e6)} µs CPU/request`),
      );
    }
  }
  return Object.fromEntries(
    SCENARIOS.map((s) => {
      const results = reps[s.id] ?? [];
      return [s.id, { label: s.label, expect: s.expect, reps: results, median: summarise(results), problems: problems[s.id] ?? [] }];
    }),
  );
}
