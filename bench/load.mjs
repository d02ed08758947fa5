// The load generator, run as a child process of bench/run.mjs so that it does not share an event
// loop with the orchestrator. It receives one load spec at a time over IPC, drives it with
// autocannon's programmatic API, and answers with the result as JSON.
import autocannon from 'autocannon';
import { importKeyFormat } from './lib/build.mjs';

/** @typedef {{ path?: string, headers?: Record<string, string> }} RequestParts */

/**
 * @typedef {object} LoadSpec
 * @property {string} url the server, http://127.0.0.1:PORT
 * @property {number} connections
 * @property {number} [duration] seconds, unless perRequest is given
 * @property {number} [rate] requests per second over all connections (autocannon's overallRate);
 *   absent: as fast as the server answers
 * @property {string} path
 * @property {Record<string, string>} [headers]
 * @property {Array<{ path: string, headers: Record<string, string> }>} [perRequest] one entry per
 *   request, in order: the run is as many requests as there are entries
 * @property {{ formatModule: string, header: string }} [randomKeys] a fresh well-formed project key
 *   in `header` on every request, generated with the key-format bundle at `formatModule`
 */

/**
 * @typedef {object} LoadResult
 * @property {number} requests responses received
 * @property {number} elapsedMs first request sent to last response received
 * @property {number} rps
 * @property {number} p50 ms
 * @property {number} p99 ms
 * @property {Record<string, number>} statuses responses by status code
 * @property {number} errors connection errors and timeouts
 * @property {Record<string, number>} errorMessages the errors, by message
 * @property {number} repeats perRequest entries sent more than once (must be 0)
 */

/** Nearest-rank percentile of sorted values. */
function percentile(/** @type {Float64Array} */ sorted, /** @type {number} */ p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

/**
 * The per-request hook: the next entry of perRequest, or a fresh random key.
 * @param {LoadSpec} spec
 * @param {{ repeats: number }} counters
 */
async function requestHook(spec, counters) {
  if (spec.perRequest) {
    const entries = spec.perRequest;
    let next = 0;
    return (/** @type {RequestParts} */ request) => {
      if (next >= entries.length) counters.repeats++;
      const entry = entries[next++ % entries.length];
      return { ...request, path: entry?.path, headers: { ...request.headers, ...entry?.headers } };
    };
  }
  if (spec.randomKeys) {
    const { header, formatModule } = spec.randomKeys;
    const format = await importKeyFormat(formatModule);
    return (/** @type {RequestParts} */ request) => ({
      ...request,
      headers: { ...request.headers, [header]: format.generateKey('project') },
    });
  }
  return undefined;
}

/**
 * Runs one load spec to completion.
 * @param {LoadSpec} spec
 * @returns {Promise<LoadResult>}
 */
async function runLoad(spec) {
  const counters = { repeats: 0 };
  const setupRequest = await requestHook(spec, counters);
  // Latencies at full precision (autocannon's own histogram keeps whole milliseconds).
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  let lastResponseAt = 0;
  const startedAt = performance.now();
  const instance = autocannon({
    url: new URL(spec.path, spec.url).href,
    connections: spec.connections,
    pipelining: 1,
    timeout: 10,
    ...(spec.perRequest ? { amount: spec.perRequest.length } : { duration: spec.duration }),
    headers: spec.headers ?? {},
    ...(spec.rate ? { overallRate: spec.rate } : {}),
    ...(setupRequest ? { requests: [{ setupRequest }] } : {}),
  });
  instance.on('response', (_client, _status, _bytes, /** @type {number} */ responseTime) => {
    if (count === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[count++] = responseTime;
    lastResponseAt = performance.now();
  });
  /** @type {Record<string, number>} */
  const errorMessages = {};
  instance.on('reqError', (/** @type {Error} */ err) => {
    errorMessages[err.message] = (errorMessages[err.message] ?? 0) + 1;
  });
  const result = await instance;
  const sorted = latencies.subarray(0, count).sort();
  const elapsedMs = Math.max(1, lastResponseAt - startedAt);
  /** @type {Record<string, number>} */
  const statuses = {};
  for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) statuses[code] = stats.count;
  return {
    requests: count,
    elapsedMs,
    rps: (count / elapsedMs) * 1000,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    statuses,
    errors: result.errors,
    errorMessages,
    repeats: counters.repeats,
  };
}

process.on('message', async (/** @type {{ id: number, spec: LoadSpec }} */ message) => {
  try {
    process.send?.({ id: message.id, result: await runLoad(message.spec) });
  } catch (err) {
    process.send?.({ id: message.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
});
// The orchestrator going away ends the generator.
process.on('disconnect', () => process.exit(0));
