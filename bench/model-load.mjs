// The latency model's load generator (bench/model.mjs), a child process like bench/load.mjs, so
// that it does not share an event loop with the orchestrator. It receives one spec over IPC and
// drives it open loop: draw i (a key by Zipf rank, or a never-seen key) is due at start + i/rate
// and is sent at once to every design (x-bench-config), whatever the answers before it. It
// restarts the isolate on schedule, zeroes the Worker's model counts when the warm-up ends, and
// answers with every measured request's storage wait as bench/worker.ts reported it.
import { createHash } from 'node:crypto';
import http from 'node:http';
import { importKeyFormat } from './lib/build.mjs';
import { seededRandom, ZipfSampler } from './lib/zipf.mjs';

/**
 * @typedef {object} ModelKey one seeded key, as a request sends it
 * @property {'org' | 'project'} scenario
 * @property {string} path
 * @property {Record<string, string>} headers the credentials
 * @property {string} hash SHA-256 (hex) of the secret: the hash Keygate looks up
 * @property {string} budget the counter name of the budget its requests are charged to
 */

/**
 * @typedef {object} ModelLoadSpec
 * @property {string} url the Worker, http://127.0.0.1:PORT
 * @property {ModelKey[]} keys by popularity: keys[0] has Zipf rank 1
 * @property {string[]} projectPaths content paths of seeded projects, for never-seen project keys
 * @property {string} formatModule the key-format bundle (never-seen keys are generated with it)
 * @property {string[]} variants the designs, each sent every draw
 * @property {number} zipf the exponent s
 * @property {number} unseen share of draws that are a never-seen key
 * @property {number} rate draws per second
 * @property {number} warmupSeconds
 * @property {number} seconds measured, after the warm-up
 * @property {number} restartEvery seconds between isolate restarts (0: never)
 * @property {number} liveSeconds a key drawn again within this many seconds (same isolate) is live
 * @property {number} seed
 * @property {number} maxInFlight draws not sent while this many requests are unanswered (overload guard)
 */

/**
 * @typedef {object} Sample one answered request of the measured window
 * @property {number} at seconds since the start of the run (warm-up included)
 * @property {number} variant index into spec.variants
 * @property {number} scenario 0 org, 1 project
 * @property {boolean} unseen a never-seen key
 * @property {boolean} live its key was drawn before in this isolate (since its last restart) at most spec.liveSeconds earlier
 * @property {number} status
 * @property {number} waitedMs the time its storage calls covered (x-bench-waited-ms)
 * @property {boolean} onKey it awaited a read of its key
 * @property {boolean} onBudget it awaited a BudgetCounter call
 * @property {number} wallMs start to forward, CPU and local queueing included (x-bench-wall-ms)
 * @property {number} clientMs sent to answered, as the load generator saw it
 */

/**
 * @typedef {object} ModelLoadResult
 * @property {Sample[]} samples the measured window's requests
 * @property {number} sentDraws
 * @property {number} skippedDraws draws not sent (overload guard)
 * @property {number} lateDraws draws sent more than 100 ms after they were due
 * @property {number} errors requests without an answer
 * @property {Record<string, number>} errorMessages
 * @property {number[]} restartsAt seconds since the start
 * @property {number} measuredSeconds first to last measured request sent
 * @property {Record<string, Record<string, number>>} countsWarmup the Worker's model counts of the warm-up
 * @property {Record<string, Record<string, number>>} counts the Worker's model counts of the measured window
 * @property {Record<string, { calls: number, overruns: number, overrunMs: number, over2s: number }>} delays the measured
 *   window's delayed storage calls per distribution: those whose local call alone outlasted its drawn delay (and by how
 *   much in all), and those that took 2 s or more locally
 * @property {number} warmupRequests
 * @property {string[]} unexpected the first few answers other than 2xx (seeded keys) or 401 (never-seen keys)
 */

/** How often the scheduler looks at the clock. */
const TICK_MS = 5;
/** A draw sent this much after it was due counts as late. */
const LATE_MS = 100;
/** Time given to background work (waitUntil) after the last answer, before the counts are read. */
const SETTLE_MS = 3_000;

/**
 * @param {http.Agent} agent
 * @param {URL} url
 * @param {string} method
 * @param {Record<string, string>} headers
 * @param {string} [body]
 * @returns {Promise<{ status: number, headers: http.IncomingHttpHeaders, body: string }>}
 */
function send(agent, url, method, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent, timeout: 30_000 }, (res) => {
      /** @type {Buffer[]} */
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * @param {http.Agent} agent
 * @param {string} base
 * @param {string} path
 * @param {unknown} [body]
 */
async function benchPost(agent, base, path, body) {
  const res = await send(agent, new URL(path, base), 'POST', { 'content-type': 'application/json' }, JSON.stringify(body ?? {}));
  if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${res.body}`);
  return JSON.parse(res.body);
}

/** @param {string} secret */
const sha256 = (secret) => createHash('sha256').update(secret).digest('hex');

/**
 * Runs the spec to its end.
 * @param {ModelLoadSpec} spec
 * @returns {Promise<ModelLoadResult>}
 */
async function runModel(spec) {
  const format = await importKeyFormat(spec.formatModule);
  const random = seededRandom(spec.seed);
  const zipf = new ZipfSampler(spec.keys.length, spec.zipf, seededRandom(spec.seed + 1));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
  const controlAgent = new http.Agent({ keepAlive: true, maxSockets: 4 });

  /** The next draw: a seeded key by rank, or (share `unseen`) a well-formed key nobody has. */
  function nextDraw() {
    if (random() < spec.unseen) {
      const org = random() < 0.5;
      if (org) {
        const secret = format.generateKey('orgSecret');
        return {
          scenario: /** @type {const} */ ('org'),
          unseen: true,
          path: '/v1/companies',
          headers: { 'x-metal-client-id': format.generateKey('clientId'), 'x-metal-api-key': secret },
          hash: sha256(secret),
          budget: '',
        };
      }
      const secret = format.generateKey('project');
      const path = spec.projectPaths[Math.floor(random() * spec.projectPaths.length)] ?? spec.projectPaths[0] ?? '/';
      return {
        scenario: /** @type {const} */ ('project'),
        unseen: true,
        path,
        headers: { 'x-api-key': secret },
        hash: sha256(secret),
        budget: '',
      };
    }
    const key = /** @type {ModelKey} */ (spec.keys[zipf.next() - 1]);
    return { ...key, unseen: false };
  }

  const totalSeconds = spec.warmupSeconds + spec.seconds;
  const totalDraws = Math.round(totalSeconds * spec.rate);
  /** @type {Sample[]} */
  const samples = [];
  /** @type {Record<string, number>} */
  const errorMessages = {};
  /** @type {number[]} */
  const restartsAt = [];
  let errors = 0;
  let inFlight = 0;
  let sentDraws = 0;
  let skippedDraws = 0;
  let lateDraws = 0;
  let warmupRequests = 0;
  /** @type {string[]} */
  const unexpected = [];
  let firstMeasuredAt = Number.POSITIVE_INFINITY;
  let lastMeasuredAt = 0;
  let nextId = 0;
  /** @type {Record<string, Record<string, number>>} */
  let countsWarmup = {};
  /** @type {Promise<void> | null} */
  let control = null;

  const startedAt = performance.now();
  const seconds = () => (performance.now() - startedAt) / 1000;
  let nextRestart = spec.restartEvery > 0 ? spec.restartEvery : Number.POSITIVE_INFINITY;
  let warmupEnded = false;
  /** When each key was last drawn in this isolate's life (hash → seconds): what makes a draw live. */
  const lastDrawn = new Map();

  /**
   * Sends one request of a draw to one design and records its answer.
   * @param {ReturnType<typeof nextDraw>} draw
   * @param {number} variant
   * @param {number} at seconds since the start, when it was sent
   * @param {boolean} live
   */
  async function request(draw, variant, at, live) {
    const measuredWindow = at >= spec.warmupSeconds;
    /** @type {Record<string, string>} */
    const headers = {
      ...draw.headers,
      'x-bench-config': /** @type {string} */ (spec.variants[variant]),
      'x-bench-id': String(nextId++),
      'x-bench-hash': draw.hash,
      'x-bench-scenario': draw.scenario,
      ...(draw.budget ? { 'x-bench-budget': draw.budget } : {}),
    };
    inFlight++;
    const sentAt = performance.now();
    try {
      const res = await send(agent, new URL(draw.path, spec.url), 'GET', headers);
      const expected = draw.unseen ? res.status === 401 : res.status >= 200 && res.status < 300;
      if (!expected && unexpected.length < 10) unexpected.push(`${res.status} at ${at.toFixed(1)} s: ${res.body.slice(0, 200)}`);
      if (!measuredWindow) {
        warmupRequests++;
        return;
      }
      samples.push({
        at,
        variant,
        scenario: draw.scenario === 'org' ? 0 : 1,
        unseen: draw.unseen,
        live,
        status: res.status,
        waitedMs: Number(res.headers['x-bench-waited-ms'] ?? Number.NaN),
        onKey: String(res.headers['x-bench-waited-on'] ?? '').includes('key'),
        onBudget: String(res.headers['x-bench-waited-on'] ?? '').includes('budget'),
        wallMs: Number(res.headers['x-bench-wall-ms'] ?? Number.NaN),
        clientMs: performance.now() - sentAt,
      });
    } catch (err) {
      errors++;
      const message = err instanceof Error ? err.message : String(err);
      errorMessages[message] = (errorMessages[message] ?? 0) + 1;
    } finally {
      inFlight--;
    }
  }

  /** Restarts and the end of the warm-up, in order, never two at once. */
  function controlDue(now) {
    if (control) return;
    if (!warmupEnded && now >= spec.warmupSeconds) {
      warmupEnded = true;
      control = benchPost(controlAgent, spec.url, '/__bench/model', { resetCounts: true }).then((answer) => {
        countsWarmup = answer.counts;
      });
    } else if (now >= nextRestart) {
      restartsAt.push(now);
      nextRestart += spec.restartEvery;
      lastDrawn.clear();
      control = benchPost(controlAgent, spec.url, '/__bench/restart').then(() => undefined);
    }
    if (control) {
      const pending = control;
      void pending.finally(() => {
        if (control === pending) control = null;
      });
    }
  }

  /** @type {Set<Promise<void>>} */
  const pending = new Set();
  await new Promise((resolve, reject) => {
    const tick = () => {
      try {
        const now = seconds();
        controlDue(now);
        const due = Math.min(totalDraws, Math.floor(now * spec.rate) + 1);
        while (sentDraws + skippedDraws < due) {
          const index = sentDraws + skippedDraws;
          const dueAt = index / spec.rate;
          if (inFlight >= spec.maxInFlight) {
            skippedDraws++;
            continue;
          }
          if ((now - dueAt) * 1000 > LATE_MS) lateDraws++;
          const draw = nextDraw();
          sentDraws++;
          if (dueAt >= spec.warmupSeconds) {
            firstMeasuredAt = Math.min(firstMeasuredAt, now);
            lastMeasuredAt = now;
          }
          const previous = lastDrawn.get(draw.hash);
          const live = !draw.unseen && previous !== undefined && dueAt - previous <= spec.liveSeconds;
          lastDrawn.set(draw.hash, dueAt);
          for (let variant = 0; variant < spec.variants.length; variant++) {
            const p = request(draw, variant, dueAt, live);
            pending.add(p);
            void p.finally(() => pending.delete(p));
          }
        }
        if (sentDraws + skippedDraws >= totalDraws) resolve(undefined);
        else setTimeout(tick, TICK_MS);
      } catch (err) {
        reject(err);
      }
    };
    tick();
  });
  await Promise.all(pending);
  await control;
  // Background work of the last requests (KV fills, refreshes, usage) lands before the counts are read.
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const { counts, delays } = await benchPost(controlAgent, spec.url, '/__bench/model', {});
  agent.destroy();
  controlAgent.destroy();
  return {
    samples,
    sentDraws,
    skippedDraws,
    lateDraws,
    errors,
    errorMessages,
    restartsAt,
    measuredSeconds: Math.max(1e-3, lastMeasuredAt - firstMeasuredAt),
    countsWarmup,
    counts,
    delays,
    warmupRequests,
    unexpected,
  };
}

process.on('message', async (/** @type {{ id: number, spec: ModelLoadSpec }} */ message) => {
  try {
    process.send?.({ id: message.id, result: await runModel(message.spec) });
  } catch (err) {
    process.send?.({ id: message.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
});
// The orchestrator going away ends the generator.
process.on('disconnect', () => process.exit(0));
