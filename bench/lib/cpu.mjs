// CPU time of the workerd process that Miniflare started, read from Linux's /proc: what a
// scenario costs the runtime per request, which other programs competing for the cores do not
// change the way they change req/s and latency. Elsewhere (no /proc) it is null.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { median } from './stats.mjs';

/** Clock ticks per second of /proc/<pid>/stat times. */
const TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

/** @param {string} path */
function readOrNull(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** The pid of this process's workerd child (Miniflare runs one at a time), or null. */
function workerdPid() {
  /** @type {string[]} */
  let tasks;
  try {
    tasks = readdirSync(`/proc/${process.pid}/task`);
  } catch {
    return null;
  }
  for (const task of tasks) {
    const children = readOrNull(`/proc/${process.pid}/task/${task}/children`)?.trim().split(/\s+/) ?? [];
    for (const pid of children) {
      if (readOrNull(`/proc/${pid}/comm`)?.trim() === 'workerd') return pid;
    }
  }
  return null;
}

/** User + system CPU seconds workerd has used so far, or null where /proc cannot tell. */
export function workerdCpuSeconds() {
  const pid = workerdPid();
  const stat = pid && readOrNull(`/proc/${pid}/stat`);
  if (!stat) return null;
  // Fields after "(comm)": state is field 3, utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

/** Hashes per measurement of the key hash's cost: about half a second of CPU. */
const HASHES = 100_000;

/**
 * What hashing one presented key (Keygate's sha256Hex: Web Crypto SHA-256 and hex) costs in
 * workerd, in CPU microseconds: the median of three loops of HASHES hashes in one request each.
 * Null where /proc cannot tell.
 * @param {URL} url the bench Worker
 * @returns {Promise<number | null>}
 */
export async function hashCostUs(url) {
  /** @type {number[]} */
  const costs = [];
  for (let i = 0; i < 3; i++) {
    const before = workerdCpuSeconds();
    const res = await fetch(new URL(`/__bench/sha256?n=${HASHES}`, url), { method: 'POST' });
    if (!res.ok) throw new Error(`bench hash loop answered ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
    const after = workerdCpuSeconds();
    if (before === null || after === null) return null;
    costs.push(((after - before) / HASHES) * 1e6);
  }
  return median(costs);
}

/** Requests per loop of the in-isolate measurement: about a second of CPU. */
const LOOP_REQUESTS = 10_000;
/** Pairs of loops (origin stand-in, then Keygate) per request. */
const LOOP_PAIRS = 9;

/**
 * @typedef {object} LoopCost Keygate's own CPU per request inside the isolate (POST /__bench/loop)
 * @property {number} ownUs median over the pairs of (Keygate's loop − the origin's loop), µs per request
 * @property {number[]} pairsUs every pair's difference
 * @property {Record<string, number>} statuses what Keygate answered in its last loop
 * @property {number} [replayUs] for a replayed request, the median of (the replay's loop − the
 *   origin's loop): what Keygate's answer or forward costs done again without Keygate's code
 * @property {number[]} [replayPairsUs] every round's replay difference
 * @property {number} [originUs] median CPU µs per request of the origin stand-in's loop alone: a
 *   gauge of the machine's speed during these loops (runs before it was kept lack it)
 * @property {number[]} [originPairsUs] every round's origin loop, to tell a slow phase of the
 *   machine (the origin's loop slow too) from a change in Keygate's isolate (only Keygate's)
 */

/**
 * Keygate's own CPU per request, without the HTTP server, the hop between Workers or the load
 * generator: each request sent LOOP_REQUESTS times in one request to the bench Worker, once straight
 * to an origin stand-in that answers at once and once through Keygate to the same stand-in,
 * LOOP_PAIRS times alternating; for the requests named in `replayed`, a third loop in each round
 * replays what Keygate did (the forward, or the answer) without Keygate's code. With `collect`
 * (a full GC of the isolate's heap), each loop starts from a collected heap and its CPU includes
 * a full GC after it: every loop pays for collecting its own garbage, none for another's (without
 * it, a loop's garbage is collected in whichever loop comes next, and a loop's CPU varied 3× from
 * one loop to the next). Null where /proc cannot tell.
 * @param {URL} url the bench Worker
 * @param {Record<string, { path: string, headers: Record<string, string> }>} requests
 * @param {{ replayed?: string[], collect?: () => Promise<void> }} [options] `replayed`: the requests
 *   also looped through the replay baseline
 * @returns {Promise<Record<string, LoopCost> | null>}
 */
export async function loopCostUs(url, requests, { replayed = [], collect } = {}) {
  /** @param {{ path: string, headers: Record<string, string> }} request @param {'origin' | 'keygate' | 'replay'} mode @param {number} n */
  const loop = async (request, mode, n) => {
    await collect?.();
    const before = workerdCpuSeconds();
    const res = await fetch(new URL(`/__bench/loop?n=${n}&mode=${mode}`, url), { method: 'POST', body: JSON.stringify(request) });
    if (!res.ok) throw new Error(`bench loop answered ${res.status}: ${await res.text()}`);
    const body = /** @type {{ statuses: Record<string, number> }} */ (await res.json());
    await collect?.();
    const after = workerdCpuSeconds();
    return { us: before === null || after === null ? null : ((after - before) / n) * 1e6, statuses: body.statuses };
  };
  /** @type {Record<string, LoopCost>} */
  const costs = {};
  for (const [name, request] of Object.entries(requests)) {
    const replay = replayed.includes(name);
    // Warm: the key in the isolate tier, the budgets' leases taken, the replay recorded.
    await loop(request, 'keygate', LOOP_REQUESTS / 10);
    if (replay) await loop(request, 'replay', LOOP_REQUESTS / 10);
    /** @type {number[]} */
    const pairsUs = [];
    /** @type {number[]} */
    const replayPairsUs = [];
    /** @type {number[]} */
    const originsUs = [];
    /** @type {Record<string, number>} */
    let statuses = {};
    for (let i = 0; i < LOOP_PAIRS; i++) {
      const origin = await loop(request, 'origin', LOOP_REQUESTS);
      const again = replay ? await loop(request, 'replay', LOOP_REQUESTS) : null;
      const keygate = await loop(request, 'keygate', LOOP_REQUESTS);
      if (origin.us === null || keygate.us === null || again?.us === null) return null;
      pairsUs.push(keygate.us - origin.us);
      originsUs.push(origin.us);
      if (again?.us != null) replayPairsUs.push(again.us - origin.us);
      statuses = keygate.statuses;
    }
    costs[name] = {
      ownUs: median(pairsUs),
      pairsUs,
      statuses,
      originUs: median(originsUs),
      originPairsUs: originsUs,
      ...(replay ? { replayUs: median(replayPairsUs), replayPairsUs } : {}),
    };
  }
  return costs;
}
