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

/**
 * @typedef {object} KeygateConfig
 * @property {string} compatibilityDate
 * @property {string[]} compatibilityFlags
 * @property {Record<string, string>} vars the string vars of wrangler.toml, bench overrides applied
 * @property {Record<string, { simple: { limit: number, period: 10 | 60 } }>} ratelimits the Rate Limiting bindings of wrangler.toml
 */

/** Failed verifications per IP and minute that no bench run reaches. */
const UNTHROTTLED = 100_000_000;

/**
 * Keygate's settings from wrangler.toml, so the bench runs what a deployment would, with the
 * bench's JWT secret, and a key limit and a refused-credential throttle that never get in the way.
 * @param {string} jwtSecret
 * @returns {KeygateConfig}
 */
export function keygateConfig(jwtSecret) {
  const config = unstable_readConfig({ config: join(ROOT, 'wrangler.toml') });
  /** @type {Record<string, string>} */
  const vars = {};
  for (const [name, value] of Object.entries(config.vars)) vars[name] = typeof value === 'string' ? value : JSON.stringify(value);
  return {
    compatibilityDate: config.compatibility_date ?? '2026-04-20',
    compatibilityFlags: config.compatibility_flags ?? [],
    // The refusal scenarios measure refusals themselves, so the refused-credential throttle (which
    // answers one IP's flood with 429 after AUTH_FAILURE_LIMIT) is set out of their reach.
    vars: { ...vars, JWT_SECRET: jwtSecret, DEFAULT_KEY_LIMIT: '1000000', AUTH_FAILURE_LIMIT: `${UNTHROTTLED}/60s` },
    ratelimits: Object.fromEntries((config.ratelimits ?? []).map((r) => [r.name, { simple: { limit: UNTHROTTLED, period: 60 } }])),
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
        bindings: config.vars,
        d1Databases: { DB: 'keygate-bench' },
        kvNamespaces: { KEY_CACHE: 'keygate-bench-cache' },
        // The Rate Limiting bindings of wrangler.toml (AUTH_FAILURES), as wrangler dev simulates them.
        ratelimits: config.ratelimits,
        // The budget counters (Durable Objects, SQLite-backed) as wrangler.toml declares them.
        durableObjects: { BUDGETS: { className: 'BudgetCounter', useSQLite: true } },
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
