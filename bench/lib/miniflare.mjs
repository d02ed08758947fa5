// Starts the bench's Workers in Miniflare (no wrangler dev proxy): keygate (the bundle, with the
// D1, KV and string bindings of wrangler.toml) and a trivial origin behind its ORIGIN binding.
import { join } from 'node:path';
import { Miniflare } from 'miniflare';
import { unstable_readConfig } from 'wrangler';
import { ROOT } from './paths.mjs';

/** The origin: a small fixed JSON answer, so the figures measure Keygate and nothing behind it. */
const ORIGIN_SCRIPT = `export default {
  fetch() {
    return Response.json({ data: [{ id: 'bench_1', name: 'Bench' }] });
  },
};`;

/** @typedef {{ simple: { limit: number, period: 10 | 60 } }} RateLimitConfig */

/**
 * @typedef {object} Variant a configuration of Keygate that a request picks with the
 *   x-bench-config header (bench/worker.ts), run in the same isolate as the default
 * @property {Record<string, string>} vars vars replacing the default's
 * @property {Record<string, string>} bindings binding name → the bench binding it is taken from
 */

/**
 * @typedef {object} KeygateConfig
 * @property {string} compatibilityDate
 * @property {string[]} compatibilityFlags
 * @property {Record<string, string>} vars the string vars of wrangler.toml, bench overrides applied
 * @property {Record<string, RateLimitConfig>} ratelimits the Rate Limiting bindings of wrangler.toml
 *   (set out of reach), and each as wrangler.toml sets it, as `BENCH_REAL_<name>`
 * @property {Record<string, Variant>} variants by name: `budgets-on` (the default), `budgets-off` (no
 *   default request budgets), `throttle-on` (the refused-credential throttle as wrangler.toml sets it),
 *   and the latency model's two designs, `today` (`KEY_REFRESH=off`, `KEY_FEED_SECONDS=0`: before
 *   issue 13) and `current` (the default configuration), each with a KV namespace and a BUDGETS
 *   binding of its own (MODEL_BINDINGS)
 */

/**
 * The bindings the latency model's variants take instead of KEY_CACHE and BUDGETS, so that the
 * two designs, run side by side in one isolate, share no KV entries and no budget leases (each
 * fills its own KV, as a deployment of its own would). The BUDGETS ones are further bindings of
 * the BudgetCounter class; every Miniflare instance declares them (bench/worker.ts wraps them).
 */
export const MODEL_BINDINGS = {
  today: { KEY_CACHE: 'BENCH_KV_TODAY', BUDGETS: 'BENCH_BUDGETS_TODAY' },
  current: { KEY_CACHE: 'BENCH_KV_CURRENT', BUDGETS: 'BENCH_BUDGETS_CURRENT' },
};

/** Failed verifications per IP and minute that no bench run reaches. */
const UNTHROTTLED = 100_000_000;

/**
 * The default request budgets in the bench: on (every key request is charged, leased and counted
 * for usage), and out of any scenario's reach (the most ORG_RATE_LIMIT accepts: nine digits).
 */
export const BUDGET_OUT_OF_REACH = '999999999/60s';

/**
 * Keygate's settings from wrangler.toml, so the bench runs what a deployment would, with the
 * bench's JWT secret, and a key limit, request budgets and a refused-credential throttle that
 * never get in the way; and the variants some scenarios run with (budgets off; the throttle on).
 * @param {string} jwtSecret
 * @returns {KeygateConfig}
 */
export function keygateConfig(jwtSecret) {
  const config = unstable_readConfig({ config: join(ROOT, 'wrangler.toml') });
  /** @type {Record<string, string>} */
  const vars = {};
  for (const [name, value] of Object.entries(config.vars)) vars[name] = typeof value === 'string' ? value : JSON.stringify(value);
  const ratelimits = config.ratelimits ?? [];
  /** @param {string} name */
  const real = (name) => `BENCH_REAL_${name}`;
  return {
    compatibilityDate: config.compatibility_date ?? '2026-04-20',
    compatibilityFlags: config.compatibility_flags ?? [],
    // The refusal scenarios measure refusals themselves, so the refused-credential throttle (which
    // answers one IP's flood with 429 after AUTH_FAILURE_LIMIT) is set out of their reach. The
    // hot keys run with request budgets on, far out of their reach, so they measure the budgets'
    // hot path (leases, headers, usage counting), not 429s. No warm start: the cold scenarios
    // measure keys the isolate has not met, which a warm start would hold (bench:model measures
    // the warm start, with its own WARM_KEYS).
    vars: {
      ...vars,
      WARM_KEYS: '0',
      JWT_SECRET: jwtSecret,
      DEFAULT_KEY_LIMIT: '1000000',
      AUTH_FAILURE_LIMIT: `${UNTHROTTLED}/60s`,
      ORG_RATE_LIMIT: BUDGET_OUT_OF_REACH,
      PROJECT_RATE_LIMIT: BUDGET_OUT_OF_REACH,
    },
    ratelimits: Object.fromEntries(
      ratelimits.flatMap((r) => [
        [r.name, { simple: { limit: UNTHROTTLED, period: 60 } }],
        [real(r.name), { simple: { limit: r.simple.limit, period: r.simple.period } }],
      ]),
    ),
    variants: {
      // The default configuration under another name: the hot keys' requests with budgets on
      // carry the header too, so that they differ from budgets-off's by their budgets only.
      'budgets-on': { vars: {}, bindings: {} },
      'budgets-off': { vars: { ORG_RATE_LIMIT: 'off', PROJECT_RATE_LIMIT: 'off' }, bindings: {} },
      'throttle-on': {
        vars: { AUTH_FAILURE_LIMIT: vars.AUTH_FAILURE_LIMIT ?? '100/60s' },
        bindings: Object.fromEntries(ratelimits.map((r) => [r.name, real(r.name)])),
      },
      // The latency model (bench/model.mjs): the design before issue 13 (no refresh ahead, no
      // key change feed: an isolate entry expires after ISOLATE_CACHE_TTL_SECONDS and the next
      // request waits) and the current one (wrangler.toml's: refresh ahead, the feed), budgets on.
      today: { vars: { KEY_REFRESH: 'off', KEY_FEED_SECONDS: '0' }, bindings: MODEL_BINDINGS.today },
      current: { vars: {}, bindings: MODEL_BINDINGS.current },
    },
  };
}

/**
 * Starts keygate and its origin on 127.0.0.1 at a free port. D1 and KV are in memory: every
 * instance starts empty. With `inspector`, workerd's DevTools inspector listens on a free port.
 * @param {{ scriptPath: string, config: KeygateConfig, inspector?: boolean }} options
 * @returns {Promise<{ mf: Miniflare, url: URL }>}
 */
export async function startMiniflare({ scriptPath, config, inspector = false }) {
  const mf = new Miniflare({
    host: '127.0.0.1',
    port: 0,
    ...(inspector ? { inspectorPort: 0 } : {}),
    workers: [
      {
        name: 'keygate',
        modules: true,
        scriptPath,
        compatibilityDate: config.compatibilityDate,
        compatibilityFlags: config.compatibilityFlags,
        // BENCH_VARIANTS: read by bench/worker.ts only (Keygate's configuration ignores it).
        bindings: { ...config.vars, BENCH_VARIANTS: config.variants },
        d1Databases: { DB: 'keygate-bench' },
        kvNamespaces: {
          KEY_CACHE: 'keygate-bench-cache',
          [MODEL_BINDINGS.today.KEY_CACHE]: 'keygate-bench-cache-today',
          [MODEL_BINDINGS.current.KEY_CACHE]: 'keygate-bench-cache-current',
        },
        // The Rate Limiting bindings of wrangler.toml (AUTH_FAILURES), as wrangler dev simulates
        // them: out of reach, and as configured (BENCH_REAL_AUTH_FAILURES, the throttle-on variant's).
        ratelimits: config.ratelimits,
        // The budget counters (Durable Objects, SQLite-backed) as wrangler.toml declares them.
        durableObjects: {
          BUDGETS: { className: 'BudgetCounter', useSQLite: true },
          [MODEL_BINDINGS.today.BUDGETS]: { className: 'BudgetCounter', useSQLite: true },
          [MODEL_BINDINGS.current.BUDGETS]: { className: 'BudgetCounter', useSQLite: true },
        },
        serviceBindings: { ORIGIN: 'origin' },
      },
      {
        name: 'origin',
        modules: true,
        script: ORIGIN_SCRIPT,
        compatibilityDate: config.compatibilityDate,
      },
    ],
  });
  const url = await mf.ready;
  return { mf, url };
}
