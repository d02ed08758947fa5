// Storage latency distributions for the production latency model (bench/model.mjs): lognormal,
// set by their median and 99th percentile, drawn with a seeded PRNG. bench/worker.ts draws from
// the same parameters ({ mu, sigma } of ln(ms)) per KV, D1 and BudgetCounter call.
import { seededRandom } from './zipf.mjs';

/** z of the standard normal's 99th percentile. */
export const Z99 = 2.3263478740408408;

/** @typedef {{ p50: number, p99: number }} Quantiles milliseconds */
/** @typedef {{ mu: number, sigma: number }} LogNormal ln(ms) ~ Normal(mu, sigma) */
/** @typedef {Quantiles & { what: string, source: string }} Documented */

/**
 * The lognormal whose median is p50 and whose 99th percentile is p99.
 * @param {Quantiles} q
 * @returns {LogNormal}
 */
export function lognormal({ p50, p99 }) {
  if (!(p50 > 0) || !(p99 >= p50)) throw new RangeError(`a latency needs 0 < p50 <= p99 (got p50 ${p50}, p99 ${p99})`);
  return { mu: Math.log(p50), sigma: Math.log(p99 / p50) / Z99 };
}

/**
 * Standard normal draws from a uniform source (Box–Muller, both halves used).
 * @param {() => number} random uniform in [0, 1)
 * @returns {() => number}
 */
export function normalSampler(random) {
  /** @type {number | null} */
  let spare = null;
  return () => {
    if (spare !== null) {
      const z = spare;
      spare = null;
      return z;
    }
    const u = 1 - random(); // (0, 1]: log(u) is finite
    const v = random();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

/**
 * A sampler of milliseconds from `d`, seeded.
 * @param {LogNormal} d
 * @param {number} seed
 * @returns {() => number}
 */
export function latencySampler(d, seed) {
  const normal = normalSampler(seededRandom(seed));
  return () => Math.exp(d.mu + d.sigma * normal());
}

/** Which model distribution a storage call draws its delay from (bench/worker.ts uses the same names). */
export const DISTRIBUTION_NAMES = /** @type {const} */ (['kvHit', 'kvMiss', 'kvWrite', 'd1Primary', 'd1Replica', 'counter']);
/** @typedef {typeof DISTRIBUTION_NAMES[number]} DistributionName */

/**
 * The default latencies, each with what it stands for and where its figures come from. Where a
 * source gives no percentile the figure is assumed (said so), inside the range the source gives.
 * @type {Record<DistributionName, Documented>}
 */
export const DEFAULT_LATENCIES = {
  kvHit: {
    p50: 3,
    p99: 20,
    what: 'KV read of a key cached at the location (hot read)',
    source:
      'Cloudflare, "We made Workers KV up to 3x faster — here\'s the data" (2024-09-26, https://blog.cloudflare.com/faster-workers-kv/): hot reads in single-digit ms, every KV operation up to 20 ms faster; p50 3 ms / p99 20 ms assumed from it',
  },
  kvMiss: {
    p50: 40,
    p99: 250,
    what: 'KV read not cached at the location (cold: regional tier, central tier, central store); also a key KV does not hold',
    source:
      'issue 13 (cold reads about 250 ms at p99 after the 2025 rebuild, https://blog.cloudflare.com/rearchitecting-workers-kv-for-redundancy/); "How KV works" (https://developers.cloudflare.com/kv/concepts/how-kv-works/): reads not in the location\'s cache go to upper tiers and central stores at higher latency; p50 40 ms assumed',
  },
  kvWrite: {
    p50: 50,
    p99: 300,
    what: 'KV put / delete / list (written to the central stores)',
    source: 'assumed (Keygate writes KV after the response, so this only lengthens background work)',
  },
  d1Primary: {
    p50: 180,
    p99: 400,
    what: 'D1 query answered by the primary from another continent (no Sessions API: every query goes to the primary)',
    source:
      'cross-continent round trips of 80–350 ms (WonderProxy ping table, https://wonderproxy.com/blog/miles-per-milisecond/: New York–Paris 78 ms, Fremont–Milan 168 ms, Paris–Sydney 349 ms); D1 read replication docs (https://developers.cloudflare.com/d1/best-practices/read-replication/): without the Sessions API queries run on the primary; p50 180 ms / p99 400 ms assumed (one round trip and the query)',
  },
  d1Replica: {
    p50: 10,
    p99: 50,
    what: 'D1 read answered by a nearby read replica (Sessions API)',
    source:
      'D1 read replication docs (https://developers.cloudflare.com/d1/best-practices/read-replication/): replicas in regions closer to clients; p50 10 ms / p99 50 ms assumed',
  },
  counter: {
    p50: 100,
    p99: 300,
    what: 'BudgetCounter Durable Object call (lease, take), the object living in another region',
    source:
      'Durable Objects data location docs (https://developers.cloudflare.com/durable-objects/reference/data-location/): a call is forwarded to the data center where the object lives, created near its first caller, so callers elsewhere pay the round trip; p50 100 ms / p99 300 ms assumed from the round trips above',
  },
};

/**
 * The parameters bench/worker.ts draws from: every distribution as { mu, sigma }.
 * @param {Record<DistributionName, Quantiles>} latencies
 * @returns {Record<DistributionName, LogNormal>}
 */
export function workerDistributions(latencies) {
  return /** @type {Record<DistributionName, LogNormal>} */ (
    Object.fromEntries(DISTRIBUTION_NAMES.map((name) => [name, lognormal(latencies[name])]))
  );
}
