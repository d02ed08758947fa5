// The memory check: a flood of distinct random well-formed unknown keys while the keygate
// isolate's heap is sampled after full GCs. A bounded in-isolate tier keeps it flat.
import { HeapProbe } from './heap.mjs';

/** @typedef {import('./scenarios.mjs').Bench} Bench */
/** @typedef {import('../load.mjs').LoadResult} LoadResult */
/** @typedef {{ atSeconds: number, usedBytes: number }} TimedSample */

/**
 * @typedef {object} MemoryResult
 * @property {number} seconds length of the flood
 * @property {TimedSample[]} samples before, during and after the flood
 * @property {number} [missedSamples] samples under the flood that timed out and were left out
 * @property {LoadResult} load
 * @property {number} secondHalfGrowth heap growth from the middle of the flood to its end, as a fraction
 */

/** Flat: the heap grows by at most this fraction over the second half of the flood. */
export const FLAT_GROWTH = 0.05;

/**
 * @param {Pick<Bench, 'url' | 'generator' | 'settings'>} bench
 * @param {URL} inspectorUrl
 * @param {string} formatModule the key-format bundle the generator makes keys with
 * @returns {Promise<MemoryResult>}
 */
export async function measureHeap(bench, inspectorUrl, formatModule) {
  const { memorySeconds: seconds, heapEvery, connections } = bench.settings;
  // One request to the Worker. Under the flood workerd has once reset a connection; one lost
  // nudge must not lose the whole bench, so it is tried up to three times.
  const nudge = async () => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await (await fetch(new URL('/health', bench.url))).arrayBuffer();
      } catch (err) {
        if (attempt === 3) throw err;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  };
  await nudge();
  const probe = await HeapProbe.connect(inspectorUrl, 'keygate', nudge);
  try {
    /** @type {TimedSample[]} */
    const samples = [{ atSeconds: 0, usedBytes: await probe.sample() }];
    const startedAt = Date.now();
    const flood = bench.generator.run(
      {
        url: bench.url.origin,
        connections,
        duration: seconds,
        path: '/api/v1/organizations/bench-memory/projects/bench-memory/content',
        randomKeys: { formatModule, header: 'x-api-key' },
      },
      seconds * 1000,
    );
    // Awaited after the sampling; a failure meanwhile must not count as unhandled.
    flood.catch(() => {});
    const during = Math.ceil(seconds / heapEvery) - 1;
    // A sample under the flood may time out (a full GC once took more than 15 s while 32
    // connections kept the isolate busy): it is left out and counted, and the flood goes on.
    // The samples before and after the flood are required.
    let missedSamples = 0;
    for (let i = 1; i <= during; i++) {
      const wait = startedAt + i * heapEvery * 1000 - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      try {
        samples.push({ atSeconds: (Date.now() - startedAt) / 1000, usedBytes: await probe.sample() });
      } catch {
        missedSamples++;
      }
    }
    if (missedSamples > during / 2) throw new Error(`${missedSamples} of ${during} heap samples under the flood timed out`);
    const load = await flood;
    samples.push({ atSeconds: (Date.now() - startedAt) / 1000, usedBytes: await probe.sample() });
    const middle = samples.find((s) => s.atSeconds >= seconds / 2) ?? samples[0];
    const last = samples[samples.length - 1];
    const secondHalfGrowth = middle && last ? (last.usedBytes - middle.usedBytes) / middle.usedBytes : 0;
    return { seconds, samples, missedSamples, load, secondHalfGrowth };
  } finally {
    probe.close();
  }
}
