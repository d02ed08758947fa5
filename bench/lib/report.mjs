// The bench's outputs: the issue's targets judged against the measurements, and RESULTS.md
// (machine, versions, method, one table per N, cost per request, memory, targets).
import { FLAT_GROWTH } from './memory.mjs';
import { OVER_BUDGET_LIMIT, SCENARIOS, WARM_REQUESTS_BEFORE_REVOKE } from './scenarios.mjs';
import { median } from './stats.mjs';

/** @typedef {import('./scenarios.mjs').Settings} Settings */
/** @typedef {import('./scenarios.mjs').ScenarioResult} ScenarioResult */
/** @typedef {import('./memory.mjs').MemoryResult} MemoryResult */
/** @typedef {MemoryResult | { error: string }} MemoryOutcome the memory check's result, or why it could not be measured */
/** @typedef {import('./miniflare.mjs').Variant} Variant */

/**
 * @typedef {object} Run one Miniflare instance, seeded with n keys
 * @property {number} n
 * @property {number} rows rows in api_keys (n, plus the cold pool when there is one)
 * @property {number} coldPool keys seeded only for the cold scenario and its baseline
 * @property {Record<string, ScenarioResult>} scenarios
 * @property {number | null} [sha256Us] CPU µs of hashing one key (sha256Hex) in workerd
 * @property {Record<string, import('./cpu.mjs').LoopCost> | null} [loopCpu] Keygate's own CPU per hot request, in-isolate loop
 */

/** @typedef {{ target: string, measured: string, met: boolean, verdict: string, cost: string }} TargetRow */

/**
 * @typedef {object} BenchResults
 * @property {string} generatedAt
 * @property {boolean} quick
 * @property {{ commit: string, srcChanged: boolean } | null} source the code measured
 * @property {Settings} settings
 * @property {{ cpu: string, cores: number, ramGiB: number, os: string, loadBefore: number, loadAfter: number }} machine
 *   (load: the 1-minute load average when the run started and ended)
 * @property {Record<string, string>} versions
 * @property {Record<string, string>} keygateVars Keygate's string bindings (the JWT secret left out)
 * @property {Record<string, Variant>} keygateVariants the configurations some scenarios run with instead
 * @property {Run[]} runs
 * @property {MemoryOutcome} memory
 * @property {TargetRow[]} targets
 */

const fmtInt = (/** @type {number} */ n) => Math.round(n).toLocaleString('en-US');
const fmtMs = (/** @type {number} */ n) => n.toFixed(2);
const fmtX = (/** @type {number} */ n) => `${n.toFixed(2)}×`;
const fmtPct = (/** @type {number} */ n, digits = 0) => `${(n * 100).toFixed(digits)} %`;
const fmtMiB = (/** @type {number} */ bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** @param {ScenarioResult} scenario @param {ScenarioResult} noop */
const rpsRatio = (scenario, noop) => scenario.median.rps / noop.median.rps;
/** @param {ScenarioResult} scenario @param {ScenarioResult} noop */
const p99Ratio = (scenario, noop) => scenario.median.p99 / noop.median.p99;

/** What a request of the scenario cost, the evidence beside a verdict. */
const costOf = (/** @type {ScenarioResult} */ s) =>
  (s.median.cpuUsPerRequest === null ? '' : `workerd ${fmtInt(s.median.cpuUsPerRequest)} µs CPU; `) +
  `D1 ${s.median.d1ReadsPer1k.toFixed(0)} r / ${s.median.d1WritesPer1k.toFixed(0)} w, ` +
  `KV ${s.median.kvReadsPer1k.toFixed(0)} r / ${s.median.kvWritesPer1k.toFixed(0)} w per 1k`;

/** @param {string} target @param {ScenarioResult} scenario @param {number} measured @param {number} min */
function atLeast(target, scenario, measured, min) {
  const met = measured >= min;
  const verdict = met ? 'met' : `missed by ${fmtX(min - measured)} (${fmtPct((min - measured) / min)} short)`;
  return { target, measured: fmtX(measured), met, verdict, cost: costOf(scenario) };
}

/**
 * @param {string} target @param {ScenarioResult} scenario @param {number} measured @param {number} max
 * @param {(n: number) => string} fmt
 */
function atMost(target, scenario, measured, max, fmt) {
  const met = measured <= max;
  const verdict = met ? 'met' : `missed by ${fmt(measured - max)} (${fmtPct((measured - max) / max)} over)`;
  return { target, measured: fmt(measured), met, verdict, cost: costOf(scenario) };
}

/** Each hot scenario with request budgets on (out of reach) and the same with budgets off. */
const BUDGET_PAIRS = [
  { on: 'hotOrg', off: 'hotOrgOff' },
  { on: 'hotProject', off: 'hotProjectOff' },
];

/** Budgets on: at least this fraction of budgets off's req/s, and at most this multiple of its p99. */
const BUDGETS_MIN_RPS = 0.9;
const BUDGETS_MAX_P99 = 1.2;
/** A lean hot path: Keygate's own CPU per forwarded hot request, in µs, at most. */
const OWN_CPU_MAX_US = 60;
/** ... and its throughput, at least this fraction of the origin hop alone (no Keygate). */
const HOP_MIN_RPS = 0.9;
/** Refused keys: at least this fraction of the no-op's req/s. */
const REFUSED_MIN_RPS = 0.95;
/** The forged-key flood, once throttled: at most this many D1 + KV reads per 1,000 requests. */
const FLOOD_MAX_READS_PER_1K = 1;

/** D1 + KV reads per 1,000 requests of one run. @param {import('./scenarios.mjs').RepResult} rep */
const readsPer1k = (rep) => ((rep.d1.reads + rep.kv.reads) / Math.max(1, rep.measured.requests)) * 1000;

/** Each Keygate scenario and the request without Keygate it is compared with. */
const COMPARISONS = [
  { id: 'hotOrg', baseline: 'forward' },
  { id: 'hotProject', baseline: 'forward' },
  { id: 'cold', baseline: 'coldFloor' },
  { id: 'invalid', baseline: 'noop' },
  { id: 'unknown', baseline: 'noop' },
  { id: 'revoked', baseline: 'noop' },
];

/**
 * Each scenario and what Keygate did for it replayed without Keygate (bench/worker.ts): the
 * refusals are judged against the no-op, whose answer is smaller, and their replayed answer shows
 * what that answer alone costs; the hot keys are judged against the bare origin hop, and their
 * replayed forward (identity headers in, rate-limit headers out) shows what that forward costs.
 */
const REPLAYS = [
  { id: 'overBudget', baseline: 'overBudgetReplay' },
  { id: 'invalid', baseline: 'invalidReplay' },
  { id: 'hotOrg', baseline: 'hotOrgReplay' },
  { id: 'hotProject', baseline: 'hotProjectReplay' },
];

/**
 * What a scenario is judged against: its baseline without Keygate (COMPARISONS), the same key
 * with budgets off (BUDGET_PAIRS), and the no-op otherwise (the no-op itself: nothing); and the
 * replay of what Keygate did, for a scenario that has one (REPLAYS).
 * @param {string} id
 * @returns {string[]}
 */
export function comparedWith(id) {
  if (id === 'noop') return [];
  const against = [
    ...COMPARISONS.filter((c) => c.id === id).map((c) => c.baseline),
    ...BUDGET_PAIRS.filter((p) => p.on === id).map((p) => p.off),
  ];
  const replay = replayOf(id);
  return [...(against.length > 0 ? against : ['noop']), ...(replay ? [replay] : [])];
}

/**
 * The replay of what Keygate did for a scenario (REPLAYS), if it has one.
 * @param {string} id
 * @returns {string | undefined}
 */
export function replayOf(id) {
  return REPLAYS.find((r) => r.id === id)?.baseline;
}

/** How the reasons name the baselines a replay is set against. @type {Record<string, string>} */
const BASELINE_NAMES = { noop: 'the no-op', forward: 'the bare origin hop' };

/** What a replay does, by the baseline it is set against: a hot key's forward, or a refusal's answer. */
const REPLAYED = {
  forward:
    "forward replayed without Keygate (`/__bench/replay`: the request Keygate sent the origin, and the origin's answer copied with the headers Keygate added)",
  noop: 'answer replayed without Keygate (`/__bench/replay`: its status, headers and body, a new request id)',
};

/**
 * A scenario's replay against what the scenario is judged against (the no-op, the bare hop), and
 * Keygate against its replay, in words; `who` names the scenario where the replay was described
 * before ("For the organization key, it reaches …").
 * @param {Run[]} runs
 * @param {string} id
 * @param {string} [who]
 */
function replayText(runs, id, who) {
  const replay = replayOf(id);
  const against = comparedWith(id)[0];
  if (!replay || !against) return '';
  const done = paired(runs, [replay], against);
  const keygate = paired(runs, [id], replay);
  if (!done.ratios.length || !keygate.ratios.length) return '';
  const ratios = `${pairedRatio(done.ratios)} of ${BASELINE_NAMES[against] ?? against} (${cpuMore(done.cpuUs)}); Keygate reaches ${pairedRatio(keygate.ratios)} of that replay (${cpuMore(keygate.cpuUs)}: Keygate's own work).`;
  if (who) return ` For the ${who}, it reaches ${ratios}`;
  return ` The same ${against === 'forward' ? REPLAYED.forward : REPLAYED.noop} reaches ${ratios}`;
}

/**
 * The issues' targets, judged. Ratios are of medians, against the no-op of the same instance;
 * budgets on against off are medians of paired runs (each on run with the off run of its round).
 * @param {Run[]} runs
 * @param {MemoryOutcome} memory
 * @param {Record<string, string>} vars Keygate's vars in the bench (ISOLATE_CACHE_TTL_SECONDS)
 * @returns {TargetRow[]}
 */
export function evaluateTargets(runs, memory, vars) {
  const isolateTtlSeconds = Number(vars.ISOLATE_CACHE_TTL_SECONDS ?? 10);
  /** @type {TargetRow[]} */
  const rows = [];
  for (const run of runs) {
    const s = run.scenarios;
    const noop = s.noop;
    if (!noop) continue;
    const at = `N = ${fmtInt(run.n)}`;
    for (const id of ['hotOrg', 'hotProject']) {
      const scenario = s[id];
      if (!scenario) continue;
      rows.push(atLeast(`${at}: ${scenario.label} ≥ 0.85× no-op req/s`, scenario, rpsRatio(scenario, noop), 0.85));
      rows.push(atMost(`${at}: ${scenario.label} p99 ≤ 1.3× no-op p99`, scenario, p99Ratio(scenario, noop), 1.3, fmtX));
      const hop = paired([run], [id], 'forward');
      // The same forward replayed without Keygate, against the same hop: what the forward costs alone.
      const replay = replayOf(id);
      const forward = replay ? paired([run], [replay], 'forward') : { ratios: [], cpuUs: [] };
      if (hop.ratios.length > 0) {
        rows.push({
          ...atLeast(
            `${at}: ${scenario.label} ≥ ${HOP_MIN_RPS}× origin-hop-only req/s (paired runs)`,
            scenario,
            median(hop.ratios),
            HOP_MIN_RPS,
          ),
          measured: `${pairedRatio(hop.ratios)}${forward.ratios.length ? `; its forward replayed without Keygate ${fmtX(median(forward.ratios))}` : ''}`,
        });
      }
      if (hop.cpuUs.length > 0) {
        rows.push({
          ...atMost(
            `${at}: ${scenario.label}: Keygate's own CPU ≤ ${OWN_CPU_MAX_US} µs per request under load (workerd CPU minus the origin hop's, paired runs)`,
            scenario,
            median(hop.cpuUs),
            OWN_CPU_MAX_US,
            (us) => `${fmtInt(us)} µs`,
          ),
          ...(forward.cpuUs.length
            ? { measured: `${fmtInt(median(hop.cpuUs))} µs; its forward replayed without Keygate ${fmtInt(median(forward.cpuUs))} µs` }
            : {}),
        });
      }
      const loop = run.loopCpu?.[id];
      if (loop) {
        rows.push({
          ...atMost(
            `${at}: ${scenario.label}: Keygate's own CPU ≤ ${OWN_CPU_MAX_US} µs per request in the isolate (POST /__bench/loop, median of ${loop.pairsUs.length} pairs)`,
            scenario,
            loop.ownUs,
            OWN_CPU_MAX_US,
            (us) => `${us.toFixed(0)} µs`,
          ),
          measured:
            `${loop.ownUs.toFixed(0)} µs (${loop.pairsUs.map((us) => us.toFixed(0)).join(', ')}); answered ${JSON.stringify(loop.statuses)}` +
            (loop.replayUs === undefined ? '' : `; its forward replayed without Keygate ${loop.replayUs.toFixed(0)} µs`) +
            machineGauge(run, loop),
        });
      }
    }
    for (const id of ['invalid', 'unknown']) {
      const scenario = s[id];
      if (!scenario) continue;
      rows.push(atLeast(`${at}: ${scenario.label} ≥ ${REFUSED_MIN_RPS}× no-op req/s`, scenario, rpsRatio(scenario, noop), REFUSED_MIN_RPS));
      rows.push(
        atMost(`${at}: ${scenario.label} ≤ 1 D1 read per 1,000 requests`, scenario, scenario.median.d1ReadsPer1k, 1, (n) => n.toFixed(1)),
      );
    }
    if (s.cold) rows.push(atLeast(`${at}: ${s.cold.label} ≥ 0.35× no-op req/s`, s.cold, rpsRatio(s.cold, noop), 0.35));
    for (const { on, off } of BUDGET_PAIRS) {
      const scenario = s[on];
      if (!scenario || !s[off]) continue;
      const pairs = paired([run], [on], off);
      rows.push({
        ...atLeast(
          `${at}: ${scenario.label}, budgets on ≥ ${BUDGETS_MIN_RPS}× budgets off req/s`,
          scenario,
          median(pairs.ratios),
          BUDGETS_MIN_RPS,
        ),
        measured: pairedRatio(pairs.ratios),
      });
      rows.push({
        ...atMost(
          `${at}: ${scenario.label}, budgets on p99 ≤ ${BUDGETS_MAX_P99}× budgets off p99`,
          scenario,
          median(pairs.p99Ratios),
          BUDGETS_MAX_P99,
          fmtX,
        ),
        measured: pairedRatio(pairs.p99Ratios),
      });
    }
    if (s.overBudget) {
      const over = s.overBudget;
      rows.push(atLeast(`${at}: ${over.label} ≥ 1× no-op req/s`, over, rpsRatio(over, noop), 1));
      // No storage for the budget: no D1 read, no counter call. The key itself is verified as every
      // hot key is: its record is trusted ISOLATE_CACHE_TTL_SECONDS in the isolate tier and, in
      // steady use, read again from KV after the response once half of that has passed (refresh
      // ahead), so a run of E seconds may read KV up to ceil(E / (TTL / 2)) times, whatever the budget.
      const refreshSeconds = isolateTtlSeconds / 2;
      const kvAllowedOf = (/** @type {import('./scenarios.mjs').RepResult} */ rep) =>
        refreshSeconds > 0 ? Math.ceil(rep.measured.elapsedMs / 1000 / refreshSeconds) : 0;
      // The key change feed (KEY_FEED_SECONDS) is read from D1 while the isolate is busy, whatever
      // the requests: those polls are how revocations reach the isolate, not a budget's cost.
      const feedSeconds = Number(vars.KEY_FEED_SECONDS ?? 5);
      const feedAllowedOf = (/** @type {import('./scenarios.mjs').RepResult} */ rep) =>
        feedSeconds > 0 ? Math.ceil(rep.measured.elapsedMs / 1000 / feedSeconds) + 1 : 0;
      const feedReads = (/** @type {import('./scenarios.mjs').RepResult} */ rep) => rep.feed?.reads ?? 0;
      const runsOk = over.reps.map(
        (rep) =>
          rep.d1.reads - feedReads(rep) === 0 &&
          feedReads(rep) <= feedAllowedOf(rep) &&
          rep.counterCalls === 0 &&
          rep.kv.reads <= kvAllowedOf(rep),
      );
      const met = runsOk.length > 0 && runsOk.every(Boolean);
      const sum = (/** @type {(rep: import('./scenarios.mjs').RepResult) => number} */ pick) =>
        over.reps.reduce((a, rep) => a + pick(rep), 0);
      rows.push({
        target:
          `${at}: ${over.label}: no storage reads for the budget (0 D1 reads besides the key change feed's poll, ≤ 1 per ` +
          `KEY_FEED_SECONDS = ${feedSeconds} s, as in every busy isolate; 0 budget-counter calls; KV only the key ` +
          `record's refresh, as every hot key's: ≤ 1 per ${refreshSeconds} s, half of ISOLATE_CACHE_TTL_SECONDS), every run`,
        measured:
          `${fmtInt(sum((r) => r.measured.requests))} requests in ${over.reps.length} run${over.reps.length === 1 ? '' : 's'}: ` +
          `D1 ${sum((r) => r.d1.reads - feedReads(r))} reads besides ${sum(feedReads)} feed polls ` +
          `(${over.reps.map((r) => `${feedReads(r)} ≤ ${feedAllowedOf(r)}`).join(', ')}), counter ${sum((r) => r.counterCalls)} calls, ` +
          `KV ${over.reps.map((r) => `${r.kv.reads} (≤ ${kvAllowedOf(r)})`).join(', ')} reads`,
        met,
        verdict: met ? 'met' : 'missed',
        cost: costOf(over),
      });
    }
    if (s.forgedFlood) {
      const flood = s.forgedFlood;
      const worst = Math.max(...flood.reps.map(readsPer1k));
      rows.push(
        atMost(
          `${at}: ${flood.label}, after the threshold: ≤ ${FLOOD_MAX_READS_PER_1K} D1 + KV read per 1,000 requests (worst run)`,
          flood,
          worst,
          FLOOD_MAX_READS_PER_1K,
          (n) => n.toFixed(2),
        ),
      );
      const met = flood.problems.length === 0;
      rows.push({
        target: `${at}: ${flood.label}: refused 429 throughout the measured runs, another IP still 401`,
        measured: met ? 'every response 429; the other IP 401' : flood.problems.join('; '),
        met,
        verdict: met ? 'met' : 'missed',
        cost: costOf(flood),
      });
    }
    if (s.revoked) {
      const met = s.revoked.problems.length === 0;
      rows.push({
        target: `${at}: ${s.revoked.label} refused (401) throughout`,
        measured: met ? 'every response 401' : s.revoked.problems.join('; '),
        met,
        verdict: met ? 'met' : 'missed',
        cost: costOf(s.revoked),
      });
    }
  }
  const small = runs.find((r) => r.n === 100);
  const large = runs.find((r) => r.n === 100_000);
  if (small && large) {
    for (const id of ['hotOrg', 'hotProject', 'cold']) {
      const a = small.scenarios[id];
      const b = large.scenarios[id];
      if (!a || !b) continue;
      const change = (b.median.rps - a.median.rps) / a.median.rps;
      const met = Math.abs(change) <= 0.1;
      // The same comparison against each instance's own baseline, which the key count cannot
      // change: what is left of the difference once the two Miniflare instances' speeds are set apart.
      const baselineId = COMPARISONS.find((c) => c.id === id)?.baseline;
      const baseA = baselineId ? small.scenarios[baselineId] : undefined;
      const baseB = baselineId ? large.scenarios[baselineId] : undefined;
      const normalized =
        baseA && baseB
          ? `; against each instance's ${baseA.label}: ${fmtX(rpsRatio(a, baseA))} at N = 100, ${fmtX(rpsRatio(b, baseB))} at N = 100,000`
          : '';
      rows.push({
        target: `${a.label}: req/s at N = 100,000 within 10 % of N = 100`,
        measured: `${change >= 0 ? '+' : ''}${fmtPct(change, 1)}${normalized}`,
        met,
        verdict: met ? 'met' : `missed by ${((Math.abs(change) - 0.1) * 100).toFixed(1)} points`,
        cost: `N = 100: ${costOf(a)}; N = 100,000: ${costOf(b)}`,
      });
    }
  }
  if ('error' in memory) {
    rows.push({
      target: `memory: heap flat over a flood of distinct random keys (second half grows ≤ ${fmtPct(FLAT_GROWTH)})`,
      measured: `not measured: ${memory.error}`,
      met: false,
      verdict: 'not measured',
      cost: '',
    });
    return rows;
  }
  rows.push({
    target: `memory: heap flat over a ${memory.seconds} s flood of distinct random keys (second half grows ≤ ${fmtPct(FLAT_GROWTH)})`,
    measured: `${memory.secondHalfGrowth >= 0 ? '+' : ''}${(memory.secondHalfGrowth * 100).toFixed(1)} %`,
    met: memory.secondHalfGrowth <= FLAT_GROWTH,
    verdict:
      memory.secondHalfGrowth <= FLAT_GROWTH ? 'met' : `missed by ${((memory.secondHalfGrowth - FLAT_GROWTH) * 100).toFixed(1)} points`,
    cost: '',
  });
  return rows;
}

/** The memory check's paragraph and table, or why it was not measured. @param {MemoryOutcome} m */
function memorySection(m) {
  if ('error' in m) return `Not measured: ${m.error}.`;
  const first = m.samples[0];
  const last = m.samples[m.samples.length - 1];
  const max = m.samples.reduce((a, b) => (b.usedBytes > a.usedBytes ? b : a), m.samples[0] ?? { atSeconds: 0, usedBytes: 0 });
  const memoryStatuses = Object.entries(m.load.statuses)
    .map(([code, n]) => `${fmtInt(n)} × ${code}`)
    .join(', ');
  return `${fmtInt(m.load.requests)} requests in ${m.seconds} s (${fmtInt(m.load.rps)} req/s; ${memoryStatuses}${
    m.load.errors ? `, ${m.load.errors} errors` : ''
  }). Heap used after GC:
first ${fmtMiB(first?.usedBytes ?? 0)}, max ${fmtMiB(max?.usedBytes ?? 0)} (at ${(max?.atSeconds ?? 0).toFixed(0)} s), last ${fmtMiB(last?.usedBytes ?? 0)};
growth over the second half of the flood ${(m.secondHalfGrowth * 100).toFixed(1)} %.${
    m.missedSamples ? ` ${m.missedSamples} sample(s) under the flood timed out (a full GC not answered within 15 s) and are left out.` : ''
  }

| s | ${m.samples.map((x) => x.atSeconds.toFixed(0)).join(' | ')} |
|---|${m.samples.map(() => '---:').join('|')}|
| MiB | ${m.samples.map((x) => (x.usedBytes / 1024 / 1024).toFixed(2)).join(' | ')} |`;
}

/** @param {ScenarioResult} scenario */
function statusCheck(scenario) {
  if (scenario.problems.length > 0) return `FAIL: ${scenario.problems.join('; ')}`;
  const also = scenario.warmupAlso?.length ? ` (warm-up: also ${scenario.warmupAlso.join(', ')} until the throttle engaged)` : '';
  return `ok: all ${scenario.expect}${also}`;
}

/** @param {Run} run */
function scenarioTable(run) {
  const noop = run.scenarios.noop;
  const lines = [
    '| scenario | req/s | p50 ms | p99 ms | ×no-op req/s | ×no-op p99 | D1 reads/1k | status check |',
    '|---|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const { id } of SCENARIOS) {
    const s = run.scenarios[id];
    if (!s || !noop) continue;
    const m = s.median;
    lines.push(
      `| ${s.label} | ${fmtInt(m.rps)} | ${fmtMs(m.p50)} | ${fmtMs(m.p99)} | ${fmtX(rpsRatio(s, noop))} | ` +
        `${fmtX(p99Ratio(s, noop))} | ${m.d1ReadsPer1k.toFixed(1)} | ${statusCheck(s)} |`,
    );
  }
  return lines.join('\n');
}

/** @param {Run[]} runs */
function costTable(runs) {
  const lines = [
    '| scenario | N | workerd CPU µs/request | ×no-op CPU | D1 reads/1k | D1 writes/1k | KV reads/1k | KV writes/1k |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const { id } of SCENARIOS) {
    for (const run of runs) {
      const s = run.scenarios[id];
      const noopCpu = run.scenarios.noop?.median.cpuUsPerRequest;
      if (!s) continue;
      const m = s.median;
      const cpu = m.cpuUsPerRequest === null ? 'n/a' : fmtInt(m.cpuUsPerRequest);
      const cpuRatio = m.cpuUsPerRequest === null || !noopCpu ? 'n/a' : fmtX(m.cpuUsPerRequest / noopCpu);
      lines.push(
        `| ${s.label} | ${fmtInt(run.n)} | ${cpu} | ${cpuRatio} | ${m.d1ReadsPer1k.toFixed(1)} | ${m.d1WritesPer1k.toFixed(1)} | ` +
          `${m.kvReadsPer1k.toFixed(1)} | ${m.kvWritesPer1k.toFixed(1)} |`,
      );
    }
  }
  return lines.join('\n');
}

/**
 * Keygate's own share: each scenario against the same request without Keygate (the origin hop
 * for the hot keys, the storage calls and the hop for the cold keys, the no-op for refusals and,
 * for the 429 and the 401, their answer replayed).
 * @param {Run[]} runs
 */
function ownCostTable(runs) {
  const lines = [
    "| scenario | N | compared with | ×baseline req/s | baseline ×no-op req/s | Keygate's own workerd CPU µs/request |",
    '|---|---:|---|---:|---:|---:|',
  ];
  /** @param {number[]} values @param {(n: number) => string} fmt */
  const med = (values, fmt) => (values.length === 0 ? 'n/a' : fmt(median(values)));
  for (const { id, baseline } of [...COMPARISONS, ...REPLAYS]) {
    for (const run of runs) {
      const s = run.scenarios[id];
      const b = run.scenarios[baseline];
      if (!s || !b) continue;
      const pairs = paired([run], [id], baseline);
      const base = paired([run], [baseline], 'noop');
      lines.push(
        `| ${s.label} | ${fmtInt(run.n)} | ${b.label} | ${med(pairs.ratios, fmtX)} | ${med(base.ratios, fmtX)} | ${med(pairs.cpuUs, fmtInt)} |`,
      );
    }
  }
  return lines.join('\n');
}

/**
 * Request budgets: what the hot keys' budgets cost against the same key with budgets off (paired
 * runs), the budget-counter calls they make, the usage batches, and what the refusals read.
 * @param {Run[]} runs
 */
function budgetTable(runs) {
  const lines = [
    '| scenario | N | req/s | p99 ms | ×budgets off req/s | ×budgets off p99 | counter calls/1k | usage D1 writes/1k | usage D1 writes/run | D1 writes/1k | D1 + KV reads/1k |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const ids = ['hotOrg', 'hotOrgOff', 'hotProject', 'hotProjectOff', 'overBudget', 'forgedFlood', 'cold'];
  for (const id of ids) {
    for (const run of runs) {
      const s = run.scenarios[id];
      if (!s) continue;
      const m = s.median;
      const off = BUDGET_PAIRS.find((p) => p.on === id)?.off;
      const pairs = off ? paired([run], [id], off) : undefined;
      const rpsX = pairs?.ratios.length ? fmtX(median(pairs.ratios)) : '';
      const p99X = pairs?.p99Ratios.length ? fmtX(median(pairs.p99Ratios)) : '';
      const usagePerRun = median(s.reps.map((rep) => rep.usage.writes));
      const reads = median(s.reps.map(readsPer1k));
      lines.push(
        `| ${s.label} | ${fmtInt(run.n)} | ${fmtInt(m.rps)} | ${fmtMs(m.p99)} | ${rpsX} | ${p99X} | ${m.counterCallsPer1k.toFixed(2)} | ` +
          `${m.usageWritesPer1k.toFixed(3)} | ${usagePerRun} | ${m.d1WritesPer1k.toFixed(2)} | ${reads.toFixed(2)} |`,
      );
    }
  }
  return lines.join('\n');
}

/**
 * A scenario against its baseline, run by run: each rep is paired with the baseline's rep of the
 * same round (measured seconds to about two minutes apart, SCENARIOS' order), over every N.
 * Pairing cancels most of the drift of a shared machine, which moves the per-N medians by ±20 %.
 * @param {Run[]} runs
 * @param {string[]} ids scenarios
 * @param {string} baseline
 * @returns {{ ratios: number[], p99Ratios: number[], cpuUs: number[] }} req/s and p99 ratios, CPU µs differences per pair
 */
export function paired(runs, ids, baseline) {
  /** @type {{ ratios: number[], p99Ratios: number[], cpuUs: number[] }} */
  const out = { ratios: [], p99Ratios: [], cpuUs: [] };
  /** @param {import('./scenarios.mjs').RepResult} rep */
  const cpuOf = (rep) => (rep.cpuSeconds === null ? null : (rep.cpuSeconds / Math.max(1, rep.measured.requests)) * 1e6);
  for (const run of runs) {
    const b = run.scenarios[baseline];
    for (const id of ids) {
      const s = run.scenarios[id];
      if (!s || !b) continue;
      s.reps.forEach((rep, i) => {
        const base = b.reps[i];
        if (!base) return;
        out.ratios.push(rep.measured.rps / base.measured.rps);
        out.p99Ratios.push(rep.measured.p99 / base.measured.p99);
        const cpu = cpuOf(rep);
        const baseCpu = cpuOf(base);
        if (cpu !== null && baseCpu !== null) out.cpuUs.push(cpu - baseCpu);
      });
    }
  }
  return out;
}

/** "0.80× (0.66–1.01× over 6 pairs)": the median and the spread of paired ratios. @param {number[]} ratios */
export function pairedRatio(ratios) {
  if (ratios.length === 0) return 'n/a';
  return `${fmtX(median(ratios))} (${range(ratios, fmtX)} over ${ratios.length} pairs)`;
}

/**
 * "lowest–highest" of `values`, each written by `fmt`.
 * @param {number[]} values
 * @param {(value: number) => string} fmt
 */
const range = (values, fmt) => `${fmt(Math.min(...values))}–${fmt(Math.max(...values))}`;

/** The median CPU difference, in µs. @param {number[]} cpuUs */
export const pairedCpu = (cpuUs) => (cpuUs.length === 0 ? 'n/a' : `${fmtInt(median(cpuUs))} µs`);

/** The median CPU difference in words: "N µs more CPU", or less when the scenario cost less. @param {number[]} cpuUs */
const cpuMore = (cpuUs) =>
  cpuUs.length === 0 ? 'CPU n/a' : `${fmtInt(Math.abs(median(cpuUs)))} µs ${median(cpuUs) < 0 ? 'less' : 'more'} CPU`;

/** " (31–55 over the pairs)", or nothing for fewer than two figures. @param {number[] | undefined} values */
function spread(values) {
  if (!values || values.length < 2) return '';
  return ` (${range(values, (us) => us.toFixed(0))} over the pairs)`;
}

/**
 * How fast the machine ran the in-isolate loops, for reading their µs: the same code's figure moves
 * with it (README: Performance). "; machine gauge: SHA-256 of a key 4.2 µs, the origin stand-in's
 * loop alone 21 µs per request (19–30 over the pairs)", from what the run kept.
 * @param {Run} run
 * @param {import('./cpu.mjs').LoopCost} loop
 */
export function machineGauge(run, loop) {
  const gauges = [
    ...(typeof run.sha256Us === 'number' ? [`SHA-256 of a key ${run.sha256Us.toFixed(1)} µs`] : []),
    ...(typeof loop.originUs === 'number'
      ? [`the origin stand-in's loop alone ${loop.originUs.toFixed(0)} µs per request${spread(loop.originPairsUs)}`]
      : []),
  ];
  return gauges.length ? `; machine gauge: ${gauges.join(', ')}` : '';
}

/**
 * The in-isolate loop's figures over every N: "48 µs / 46 µs (hot organization key, by N; its
 * replay without Keygate 30 µs / 29 µs), …".
 * @param {Run[]} runs
 * @param {string[]} ids the loop's requests to show
 */
function loopOwn(runs, ids) {
  /** @type {Map<string, { own: number[], replay: number[] }>} */
  const byId = new Map();
  for (const run of runs) {
    for (const [id, cost] of Object.entries(run.loopCpu ?? {})) {
      if (!ids.includes(id)) continue;
      const figures = byId.get(id) ?? { own: [], replay: [] };
      figures.own.push(cost.ownUs);
      if (cost.replayUs !== undefined) figures.replay.push(cost.replayUs);
      byId.set(id, figures);
    }
  }
  if (byId.size === 0) return 'not measured';
  const label = (/** @type {string} */ id) => SCENARIOS.find((s) => s.id === id)?.label ?? id;
  const list = (/** @type {number[]} */ values) => values.map((us) => `${us.toFixed(0)} µs`).join(' / ');
  return ids
    .flatMap((id) => {
      const figures = byId.get(id);
      if (!figures) return [];
      const replay = figures.replay.length ? `; its replay without Keygate ${list(figures.replay)}` : '';
      return [`${list(figures.own)} (${label(id)}, by N${replay})`];
    })
    .join(', ');
}

/**
 * Why the throughput targets are missed, in this run's figures: what the baselines alone reach,
 * and what Keygate adds to them, as medians of paired runs.
 * @param {Run[]} runs
 */
function whyMissed(runs) {
  const hop = paired(runs, ['forward'], 'noop');
  const hot = paired(runs, ['hotOrg', 'hotProject'], 'forward');
  const invalid = paired(runs, ['invalid'], 'noop');
  const unknown = paired(runs, ['unknown'], 'noop');
  const floor = paired(runs, ['coldFloor'], 'noop');
  const cold = paired(runs, ['cold'], 'coldFloor');
  const hashes = runs.map((run) => run.sha256Us).filter((v) => typeof v === 'number');
  const hash = hashes.length ? `${median(/** @type {number[]} */ (hashes)).toFixed(1)} µs` : 'n/a';
  return [
    `- **Hot keys (≥ 0.85× no-op)**: the origin hop alone, with no Keygate, reaches ${pairedRatio(hop.ratios)} of ` +
      `the no-op's req/s (the no-op makes no hop). The hot keys reach ${pairedRatio(hot.ratios)} of the hop; ` +
      `Keygate's own work (the direct path, format check, SHA-256, the isolate tier, the budgets and usage counting, the forwarded ` +
      `request and its headers, the response copy with the added headers) costs ${pairedCpu(hot.cpuUs)} of workerd CPU per request ` +
      `(median), with no storage; inside the isolate, without the HTTP server and the load generator, ${loopOwn(runs, ['hotOrg', 'hotProject'])}.` +
      ` The same ${REPLAYED.forward} is the forward the contract prescribes, with no key check, budgets or policy.` +
      replayText(runs, 'hotOrg', 'organization key') +
      replayText(runs, 'hotProject', 'project key'),
    `- **Refused keys (≥ ${REFUSED_MIN_RPS}× no-op)**: no storage either (D1 reads per 1,000 above). A bad checksum reaches ` +
      `${pairedRatio(invalid.ratios)} of the no-op (${cpuMore(invalid.cpuUs)}), an unknown well-formed key ` +
      `${pairedRatio(unknown.ratios)} (${cpuMore(unknown.cpuUs)}): it is also hashed, which costs ${hash} ` +
      `(measured in the same instances), and looked up in the isolate tier.${replayText(runs, 'invalid')}`,
    `- **Cold keys (≥ 0.35× no-op)**: the storage calls and the hop alone, with no Keygate, reach ` +
      `${pairedRatio(floor.ratios)} of the no-op: Miniflare's KV and D1 simulators run on the same cores as the ` +
      `Worker and the load generator, where production would wait on the network instead. Keygate reaches ` +
      `${pairedRatio(cold.ratios)} of that floor (${cpuMore(cold.cpuUs)}: a hot key's work plus the ` +
      `batched lastUsed writes).`,
    ...budgetReasons(runs),
    `- **100,000 vs 100 keys**: the hot keys touch no storage at either N, so the key count cannot change their cost; ` +
      `each N runs in its own Miniflare instance, and the instances' baselines differ by as much (their ratios to their ` +
      `own baseline are in the targets table).`,
    `- **Noise**: on a shared 2-core machine one 10 s run of a scenario varies by ±20 % or more (every run is in ` +
      `results.json); the pairs above, each a scenario and its baseline in the same round (seconds to about two minutes apart), vary less.`,
  ].join('\n');
}

/**
 * The budgets' figures, paired over every N: what budgets cost a hot key, and what a spent budget
 * and a throttled flood cost.
 * @param {Run[]} runs
 */
function budgetReasons(runs) {
  const lines = [];
  const pairs = BUDGET_PAIRS.map(({ on, off }) => paired(runs, [on], off));
  const ratios = pairs.flatMap((p) => p.ratios);
  const p99s = pairs.flatMap((p) => p.p99Ratios);
  const cpu = pairs.flatMap((p) => p.cpuUs);
  if (ratios.length) {
    lines.push(
      `- **Budgets on vs off (≥ ${BUDGETS_MIN_RPS}× req/s, p99 ≤ ${BUDGETS_MAX_P99}×)**: the same hot key, in the same isolate, ` +
        `reaches ${pairedRatio(ratios)} of its req/s with budgets off, p99 ${pairedRatio(p99s)}; the budgets (a lease ` +
        `look-up, five headers; one BudgetCounter call per slice of 1,000 requests, after the response) cost ${pairedCpu(cpu)} of ` +
        `workerd CPU per request. Both count usage.`,
    );
  }
  const hotReps = runs.flatMap((run) => BUDGET_PAIRS.flatMap(({ on, off }) => [on, off]).flatMap((id) => run.scenarios[id]?.reps ?? []));
  if (hotReps.length) {
    const per1k = median(hotReps.map((rep) => (rep.usage.writes / Math.max(1, rep.measured.requests)) * 1000));
    const seconds = median(hotReps.map((rep) => rep.measured.elapsedMs / 1000));
    const statements = median(hotReps.map((rep) => rep.usage.writes));
    lines.push(
      `- **Usage writes**: a hot key's usage costs ${statements} D1 statement${statements === 1 ? '' : 's'} per run of ` +
        `${seconds.toFixed(0)} s (one batch per \`USAGE_FLUSH_SECONDS\`, whatever the traffic), ${per1k.toFixed(3)} per 1,000 requests here ` +
        `(medians over ${hotReps.length} runs, budgets on and off); the cold keys, each its own row, write one statement per 14 keys of a batch.`,
    );
  }
  const over = paired(runs, ['overBudget'], 'noop');
  if (over.ratios.length) {
    lines.push(
      `- **Over its budget (≥ 1× no-op)**: a spent budget is answered from the isolate's lease (no counter call) at ` +
        `${pairedRatio(over.ratios)} of the no-op (${cpuMore(over.cpuUs)}): the key is still verified (format, SHA-256, ` +
        `isolate tier) and the 429 carries its headers and a JSON body, and is counted for usage. Keygate's own CPU in the ` +
        `isolate (POST /__bench/loop): ${loopOwn(runs, ['overBudget', 'invalid', 'noop'])}.${replayText(runs, 'overBudget')}`,
    );
  }
  const flood = paired(runs, ['forgedFlood'], 'noop');
  if (flood.ratios.length) {
    lines.push(
      `- **Forged-key flood, throttled**: ${pairedRatio(flood.ratios)} of the no-op (${cpuMore(flood.cpuUs)}): ` +
        `each forged key is checked and hashed, and looked up in the isolate tier only.`,
    );
  }
  return lines;
}

/** @param {Run[]} runs lowest–highest 1-minute load average seen after a measured run */
function loadRange(runs) {
  const loads = runs.flatMap((run) => Object.values(run.scenarios).flatMap((s) => s.reps.map((rep) => rep.load1)));
  return loads.length ? range(loads, (load) => load.toFixed(2)) : 'n/a';
}

/** The configuration variants, as the Method lists them. @param {Record<string, Variant>} variants */
function variantsText(variants) {
  return Object.entries(variants)
    .map(([name, v]) => {
      const changes = [
        ...Object.entries(v.vars).map(([k, x]) => `\`${k}=${x}\``),
        ...Object.entries(v.bindings).map(([k, x]) => `\`${k}\` bound to \`${x}\``),
      ];
      return `\`${name}\` (${changes.length ? changes.join(', ') : 'the default configuration'})`;
    })
    .join('; ');
}

/** @param {BenchResults} r */
export function renderMarkdown(r) {
  const s = r.settings;
  const runsText = r.runs.map((run) => {
    const rows = run.coldPool
      ? `api_keys holds ${fmtInt(run.rows)} rows: the ${fmtInt(run.n)} keys, the key over its budget, and a pool of ${fmtInt(run.coldPool)} project keys ` +
        `(in organizations of their own) that only the cold scenario and its baseline use (half each), since ${fmtInt(run.n)} keys are too few for them.`
      : `api_keys holds ${fmtInt(run.rows)} rows: the ${fmtInt(run.n)} keys and the key over its budget; the cold scenario and its baseline use seeded project keys no other scenario touches (separate halves).`;
    return `### N = ${fmtInt(run.n)}\n\n${rows}\n\n${scenarioTable(run)}`;
  });
  const missed = r.targets.filter((t) => !t.met).length;

  return `# Keygate load benchmark

Generated by \`npm run bench${r.quick ? ' -- --quick' : ''}\` on ${r.generatedAt}.${
    r.quick ? ' **Quick smoke run**: one run per scenario, short durations; not a measurement to quote.' : ''
  } Code measured: ${
    r.source ? `commit \`${r.source.commit}\`${r.source.srcChanged ? ' with uncommitted changes under src/' : ''}` : 'not a git checkout'
  }. Raw figures (every run, warm-ups included): [results.json](results.json).

## How to run

\`\`\`sh
npm ci
npm run bench              # the full run: about 30 minutes, writes bench/RESULTS.md and bench/results.json
npm run bench -- --quick   # a smoke run of about 7 minutes, written to bench/.build/ instead
npx tsc -p bench && npx tsc -p bench/tsconfig.node.json   # type-check the bench
\`\`\`

No account, no network: everything runs on 127.0.0.1. Close other busy programs first; the load
generator shares the machine with the Worker.

## Machine

| | |
|---|---|
| CPU | ${r.machine.cpu} |
| cores | ${r.machine.cores} |
| RAM | ${r.machine.ramGiB.toFixed(1)} GiB |
| OS | ${r.machine.os} |
| load average (1 min) at start / end | ${r.machine.loadBefore.toFixed(2)} / ${r.machine.loadAfter.toFixed(2)} |
| load average (1 min) after the measured runs | ${loadRange(r.runs)} (the bench alone keeps about 2 cores busy; more means other programs competed) |

## Versions

| | |
|---|---|
${Object.entries(r.versions)
  .map(([name, version]) => `| ${name} | ${version} |`)
  .join('\n')}

## Method

- **Worker**: \`bench/worker.ts\`, bundled with esbuild (ESM, es2022, workerd conditions), is the real
  Worker (\`src/index.ts\`) behind a wrapper that counts every D1 statement executed (each statement of
  a batch counts; SELECT is a read, anything else a write; those on \`usage_hourly\` are also counted
  as usage writes), every KV operation, and every call to a \`BudgetCounter\` Durable Object (the
  \`BUDGETS\` namespace wrapped). The Worker's own code is unchanged.
- **Runtime**: Miniflare's API (workerd, not \`wrangler dev\`), D1 and KV in memory, the string vars of
  \`wrangler.toml\` (${Object.entries(r.keygateVars)
    .map(([k, v]) => `\`${k}=${v}\``)
    .join(', ')}) and a bench \`JWT_SECRET\`.
  \`ORIGIN\` is a service binding to a Worker that answers a fixed small JSON, so the figures are Keygate's own.
- **Request budgets**: on in every scenario, out of reach: \`ORG_RATE_LIMIT\` and \`PROJECT_RATE_LIMIT\` are
  \`${r.keygateVars.ORG_RATE_LIMIT}\` and \`${r.keygateVars.PROJECT_RATE_LIMIT}\` (not wrangler.toml's, which the hot keys would exhaust in a second),
  so every key request is charged from a lease, gets the rate-limit headers and is counted for usage,
  and none is refused for rate. Leases are then slices of 1,000 requests (the largest; as for any budget
  of 20,000 or more per window), the next one leased after the response when half is left.
  \`USAGE_FLUSH_SECONDS\` is wrangler.toml's (${r.keygateVars.USAGE_FLUSH_SECONDS ?? 'default'} s).
- **Configuration variants**: a request with \`x-bench-config: NAME\` runs the same Worker, in the same
  isolate, with another configuration (\`bench/worker.ts\`): ${variantsText(r.keygateVariants)}.
  The hot keys run twice, with \`x-bench-config: budgets-on\` (the default configuration) and with
  \`budgets-off\`: the same requests, differing by their budgets only, measured seconds apart in one
  workerd (separate Miniflare instances differ by as much as what is measured here).
- **Key over its budget**: a project key of an organization of its own, seeded with its own budget of
  ${OVER_BUDGET_LIMIT.requests} request per ${fmtInt(OVER_BUDGET_LIMIT.windowSeconds)} s; before each run one request spends it (200, then a 429 with
  \`Retry-After\`, \`X-RateLimit-Remaining: 0\` and \`RATE_LIMITED\` checked), then it is flooded.
- **Forged-key flood**: \`throttle-on\`, a new random well-formed project key (valid checksum, unknown) on
  every request, all from one client IP (\`CF-Connecting-IP: 198.51.100.<run>\`; Miniflare passes a
  client's header on, and sets 127.0.0.1 for every other scenario). The warm-up passes the threshold
  (401 until the \`AUTH_FAILURES\` simulator says no, then 429); after each run, a forged key from another
  IP must still get 401 and the flooding IP 429.
- **Keys**: generated with \`src/keys/format.ts\` (bundled for node), SHA-256 hashed, inserted straight
  into D1; half organization keys (10 per organization), half project keys (10 per organization, 5 per
  project). Each N runs in a fresh Miniflare.
- **Load**: autocannon in a child process, ${s.connections} connections, no pipelining. Every scenario gets
  a ${s.warmup} s warm-up; once its background work (\`waitUntil\`) is done, the counters are reset, then a
  ${s.duration} s measured run; the counters are read once background work has stopped moving them and no
  usage counts wait for their batch (up to \`USAGE_FLUSH_SECONDS\` after the run): every usage count of the
  measured run is written within its window, and none of the warm-up's. The cold scenario and
  its baseline are sized by count instead: ${fmtInt(s.coldWarmup)} warm-up and ${fmtInt(s.coldRequests)} measured requests, each with a
  project key never sent before (each from its own pool). The just-revoked key is first used ${WARM_REQUESTS_BEFORE_REVOKE} times (cached in every tier),
  then revoked with \`PUT …/api-keys/{id} {"status":"revoked"}\` and an admin JWT, then flooded at once.
- **What differs between scenarios**: the hot and cold scenarios are forwarded to the origin
  through the service binding; the no-op and the refused keys are answered by Keygate itself.
  The two baselines (origin hop only; cold-key storage calls and hop) run no Keygate code but
  the storage functions, and are no targets: they show what the hop and the simulators cost.
- **Figures**: ${s.reps} run${s.reps === 1 ? '' : 's'} of every scenario, round by round; the tables show medians. req/s is
  responses / (last response − first request); latencies are exact percentiles of every response.
  Ratios are to the no-op (\`GET /health\`) of the same instance. The status check requires every
  response of every run, warm-ups included, to be 2xx (401 for the refused keys, 429 for the key over
  its budget and the forged-key flood, whose warm-up also gets 401 until the throttle engages), with no errors,
  timeouts or reused cold keys. Now and then workerd resets a few dozen of the load generator's
  keep-alive connections at once (\`read ECONNRESET\`), the no-op route included, so not a
  Keygate answer; such a run is kept and marked FAIL, its figures counting the answered requests.
- **Key hash**: after its scenarios each instance hashes a key 100,000 times in one request
  (\`POST /__bench/sha256\`, Keygate's \`sha256Hex\`), three times; the median CPU per hash is used below.
- **Keygate's own CPU in the isolate**: then each hot key's request is sent 10,000 times in one
  request to the bench Worker (\`POST /__bench/loop\`), once straight to an origin stand-in that
  answers at once, once to the replay baseline (below: what Keygate did, without Keygate's code)
  and once through Keygate to the same stand-in, nine times alternating; the median difference is
  Keygate's own CPU per request without the HTTP server, the hop between Workers and the load
  generator (whose noise on two shared cores moves the difference under load by tens of µs). Each
  loop starts from a collected heap and its CPU includes a full GC after it
  (\`HeapProfiler.collectGarbage\` through workerd's inspector), so that it pays for collecting its
  own garbage and none of another loop's. The refusals (the key over its budget, the invalid key)
  and the no-op are looped the same way, so that their in-isolate costs can be compared with each other.
  The same code's µs follow the machine's speed (on a shared VM, up to twice as many in a slow
  phase), so each row gives a gauge measured in the same instance: the SHA-256 of a key and the
  origin stand-in's loop alone.
- **Memory**: a separate instance with workerd's inspector on; ${s.memorySeconds} s of ${s.connections} connections
  sending a different random well-formed unknown project key on every request; the keygate isolate's
  heap (\`Runtime.getHeapUsage\` after \`HeapProfiler.collectGarbage\`, over the Chrome DevTools Protocol)
  sampled every ${s.heapEvery} s (a sample under the flood that times out is left out and said so;
  the check is reported as not measured if it fails on two fresh instances).

## Results (medians of ${s.reps})

${runsText.join('\n\n')}

### Cost per request

What one request of each scenario cost, background work (\`waitUntil\`) included: CPU time of the
workerd process (all its Workers: Miniflare's entry, keygate, the origin, the D1 and KV simulators;
read from /proc, so Linux only), and D1 and KV operations per 1,000 requests. CPU per request
moves much less than req/s and latency when other programs compete for the cores.

${costTable(r.runs)}

### Keygate's own cost

The targets compare every scenario with the no-op, but the hot and cold requests do more than
Keygate: they cross a service binding to the origin Worker, and the cold ones wait on Miniflare's
KV and D1 simulators, which run in the same workerd on the same ${r.machine.cores} cores as the Worker
and the load generator. The baselines measure those parts alone, in the same run:
\`/__bench/forward\` is the origin hop with no Keygate; \`/__bench/cold-floor\` hashes the key and
makes Keygate's own storage calls for a cold key (KV get, the D1 SELECT by hash that finds the
row, KV put after the answer) and the hop, with nothing else of Keygate, for seeded keys of its
own that nothing sent before; \`/__bench/replay/…\` does what Keygate did for a request once: for
the 429 of a spent budget and the 401 of a bad key it answers the same status, headers and body;
for a hot key it sends the origin the request Keygate sent (identity and client-address headers,
no credentials) and copies the origin's answer with the headers Keygate added (rate limits, CORS),
with no key check, budgets or policy. What is left between a scenario and its
baseline is Keygate's own work: routing, the format check, the isolate tier, building the
forwarded request, lastUsed. Each figure is the median over the ${r.settings.reps} runs of the
scenario, each paired with the baseline's run of the same round (a run or two before or after it, or the
no-op up to seven runs earlier).

${ownCostTable(r.runs)}

### Request budgets and usage

The hot keys with budgets on against the same keys with budgets off (medians of paired runs: each
on run with the off run of its round), the \`BudgetCounter\` calls the budgets make (leases, after the
response), the usage batches (D1 statements on \`usage_hourly\`: one per batch of up to 14 keys, one
batch per isolate every \`USAGE_FLUSH_SECONDS\` while requests come), all D1 writes (usage and
lastUsed), and the storage reads of the key over its budget and of the throttled flood.

${budgetTable(r.runs)}

### Memory

${memorySection(r.memory)}

## Targets (issues 4 and 11)

${missed === 0 ? 'Every target met.' : `${missed} of ${r.targets.length} targets missed.`}

The cost column (medians; r = reads, w = writes) shows, where a target is missed, whether those
requests waited on D1 or KV or spent their time computing; "Keygate's own cost" above shows how
much of the gap the origin hop and the storage simulators account for.

Why, in this run's figures (medians of paired runs over N = 100 and N = 100,000):

${whyMissed(r.runs)}

| target | measured | verdict | cost per request |
|---|---|---|---|
${r.targets.map((t) => `| ${t.target} | ${t.measured} | ${t.met ? 'met' : `**${t.verdict}**`} | ${t.cost} |`).join('\n')}
`;
}

// The production latency model's section (bench/model.mjs) lives in the same RESULTS.md, between
// these markers. `npm run bench` rewrites the file and keeps the section as it was.
export const MODEL_BEGIN = '<!-- model:begin -->';
export const MODEL_END = '<!-- model:end -->';

/**
 * The model section of a RESULTS.md, markers included, or null when it has none.
 * @param {string} markdown
 */
export function modelSectionOf(markdown) {
  const begin = markdown.indexOf(MODEL_BEGIN);
  const end = markdown.indexOf(MODEL_END, begin);
  return begin === -1 || end === -1 ? null : markdown.slice(begin, end + MODEL_END.length);
}

/**
 * `markdown` with its model section replaced by `section` (markers included), or with `section`
 * appended at its end when it has none.
 * @param {string} markdown
 * @param {string} section
 */
export function withModelSection(markdown, section) {
  const current = modelSectionOf(markdown);
  if (current !== null) {
    const begin = markdown.indexOf(MODEL_BEGIN);
    return markdown.slice(0, begin) + section + markdown.slice(begin + current.length);
  }
  return `${markdown.trimEnd()}${markdown.trim() ? '\n\n' : ''}${section}\n`;
}
