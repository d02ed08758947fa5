// The Worker the bench runs: the real Keygate (src/index) with its D1 and KV bindings wrapped in
// counters, so the bench reports storage operations per request instead of guessing them, and
// its BUDGETS namespace wrapped to count budget-counter calls. GET /__bench/counts answers the
// counts (and the usage counts not yet written); POST /__bench/counts/reset zeroes them;
// /__bench/forward and /__bench/cold-floor are baselines without Keygate, /__bench/replay/...
// answers what Keygate answered a request once, without Keygate's work, and /__bench/sha256
// times Keygate's key hash alone (below).
// A request with x-bench-config: NAME runs Keygate with one of the configuration variants of
// BENCH_VARIANTS (bench/lib/miniflare.mjs): some vars replaced, some bindings taken from others,
// in this same isolate, so that a variant and the default differ by their configuration only.
// Everything else is Keygate's. KeygateVerifier is re-exported as it is: no scenario
// uses RPC, so its storage is not counted.
// The production latency model (bench/model.mjs) uses the same wrappers: POST /__bench/model
// turns on a delay per storage call drawn from latency distributions (off by default, so
// `npm run bench` measures the local simulators alone), a request carrying x-bench-id is answered
// with how long it waited before it was answered or forwarded (x-bench-waited-ms), and POST
// /__bench/restart drops the isolate's memory as a new isolate starts.

import { forgetLeaseBooks } from '../src/budgets/requests';
import { forgetIsolateTiers, isolateTierOf } from '../src/cache/isolate';
import { getCachedKey, putCachedKey } from '../src/cache/kv';
import { findActiveKeyByHash } from '../src/db/api-keys';
import { configOf } from '../src/env';
import keygate from '../src/index';
import { sha256Hex } from '../src/keys/hash';
import type { VerifiedKey } from '../src/keys/types';
import { copyWith } from '../src/middleware/response-headers';
import { usageRecorder } from '../src/usage/recorder';

export { BudgetCounter, KeygateVerifier } from '../src/index';

type Counts = { reads: number; writes: number };

// Operations since the last reset, for the whole isolate (the bench runs one). Module state: it
// lives as long as the isolate and is zeroed by the reset route. usage: the D1 statements on
// usage_hourly (a part of d1: the usage recorder's batches); feed: the key change feed's polls
// (a part of d1, every KEY_FEED_SECONDS while the isolate is busy); counter: BudgetCounter calls
// (request-budget leases, management-write takes), each a Durable Object round trip.
const d1Counts: Counts = { reads: 0, writes: 0 };
const kvCounts: Counts = { reads: 0, writes: 0 };
const usageCounts: Counts = { reads: 0, writes: 0 };
const feedCounts: Counts = { reads: 0, writes: 0 };
const counterCalls = { calls: 0 };

// ---- The production latency model (bench/model.mjs) ----

/** A storage latency: ln(ms) ~ Normal(mu, sigma), set from a p50 and a p99 by bench/lib/latency.mjs. */
type LogNormal = { mu: number; sigma: number };

/** The distributions a storage call draws its delay from (the names of bench/lib/latency.mjs). */
const DISTRIBUTION_NAMES = ['kvHit', 'kvMiss', 'kvWrite', 'd1Primary', 'd1Replica', 'counter'] as const;
type DistributionName = (typeof DISTRIBUTION_NAMES)[number];

type ModelSettings = {
  /** Whether storage calls are delayed (off unless POST /__bench/model turned it on). */
  inject: boolean;
  /** Whether storage calls are timed for the model's requests (on from the first POST /__bench/model). */
  track: boolean;
  /**
   * D1 read replication: 'primary' (off: every query draws from the primary's distribution) or
   * 'replica' (on: reads through a Sessions API session, other than a 'first-primary' one, draw
   * from a nearby replica's; reads outside sessions and every write still from the primary's).
   */
  d1Reads: 'primary' | 'replica';
  seed: number;
  distributions: Record<DistributionName, LogNormal> | null;
};

const model: ModelSettings = { inject: false, track: false, d1Reads: 'primary', seed: 1, distributions: null };

/**
 * Who made a storage call, for the model's counts and its wait attribution: the configuration
 * variant whose env holds the wrapped binding ('default' without one).
 */
type Tag = { label: string };
const DEFAULT_TAG: Tag = { label: 'default' };

/** Storage calls of one variant for one scenario (org, project; other: not a key's, e.g. usage batches). */
type ModelCounts = { kvReads: number; kvWrites: number; d1Reads: number; d1Writes: number; counterCalls: number };
const modelCounts = new Map<string, ModelCounts>();

/**
 * Delayed storage calls per distribution: how many, how many outlasted the delay drawn for them
 * locally (the local simulators' own slowness, e.g. on a busy machine: such a call lasts its
 * local time) and by how much in all, and how many took 2 s or more locally (Keygate's
 * STORAGE_TIMEOUT_MS default: Keygate may have given up on them).
 */
type DelayCounts = { calls: number; overruns: number; overrunMs: number; over2s: number };
const delays = new Map<DistributionName, DelayCounts>();

function delayCounts(name: DistributionName): DelayCounts {
  let counts = delays.get(name);
  if (!counts) {
    counts = { calls: 0, overruns: 0, overrunMs: 0, over2s: 0 };
    delays.set(name, counts);
  }
  return counts;
}

/** Which scenario a key hash belongs to, as the model's requests say (x-bench-hash, x-bench-scenario). */
const hashScenario = new Map<string, string>();
/** A storage call's time: [started, returned], ms since the epoch. */
type Span = [number, number];
/** The latest KV and D1 reads of each key hash, and counter calls of each budget, per variant. */
const readSpans = new Map<string, Span[]>();
const leaseSpans = new Map<string, Span[]>();
/** Spans kept per hash or budget: the latest few (a verification reads KV, then D1). */
const SPANS_KEPT = 4;
/** Bound on each of these maps: far above the model's keys; past it a map starts over. */
const MODEL_MAP_MAX = 400_000;

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  if (map.size >= MODEL_MAP_MAX) map.clear();
  map.set(key, value);
}

function addSpan(map: Map<string, Span[]>, key: string, span: Span): void {
  const spans = map.get(key);
  if (!spans) remember(map, key, [span]);
  else {
    spans.push(span);
    if (spans.length > SPANS_KEPT) spans.shift();
  }
}

function countFor(tag: Tag, scenario: string): ModelCounts {
  const name = `${tag.label}/${scenario}`;
  let counts = modelCounts.get(name);
  if (!counts) {
    counts = { kvReads: 0, kvWrites: 0, d1Reads: 0, d1Writes: 0, counterCalls: 0 };
    modelCounts.set(name, counts);
  }
  return counts;
}

const scenarioOfHash = (hash: string | undefined) => (hash === undefined ? 'other' : (hashScenario.get(hash) ?? 'other'));
const scenarioOfBudget = (name: string) => (name.startsWith('org:') ? 'org' : name.startsWith('project:') ? 'project' : 'other');

// A seeded PRNG (mulberry32, as bench/lib/zipf.mjs) and standard normal draws (Box–Muller).
let randomState = 1;
let spareNormal: number | null = null;

function uniform(): number {
  randomState = (randomState + 0x6d2b79f5) >>> 0;
  let t = randomState;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

function standardNormal(): number {
  if (spareNormal !== null) {
    const z = spareNormal;
    spareNormal = null;
    return z;
  }
  const r = Math.sqrt(-2 * Math.log(1 - uniform()));
  const angle = 2 * Math.PI * uniform();
  spareNormal = r * Math.sin(angle);
  return r * Math.cos(angle);
}

/**
 * Runs a storage call. With injection on, the call then lasts a delay drawn from the
 * distribution `pick` names for its result, in all: the local call's own time counts towards it
 * (a real timer waits out the rest). Once the model tracks calls, `returned` gets the call's
 * modelled span: from its start for the drawn delay, whatever the local call took beyond it, so
 * that a busy machine's slow simulators do not count as production latency (with injection off,
 * the local span).
 */
function delayed<T>(call: () => Promise<T>, pick: (result: T) => DistributionName, returned?: (span: Span) => void): Promise<T> {
  const distributions = model.inject ? model.distributions : null;
  if (!distributions && !model.track) return call();
  const startedAt = Date.now();
  return call().then(async (result) => {
    let end = Date.now();
    if (distributions) {
      const name = pick(result);
      const d = distributions[name];
      const drawn = Math.exp(d.mu + d.sigma * standardNormal());
      const local = end - startedAt;
      const counts = delayCounts(name);
      counts.calls++;
      if (local >= 2_000) counts.over2s++;
      if (local < drawn) await new Promise((resolve) => setTimeout(resolve, drawn - local));
      else {
        counts.overruns++;
        counts.overrunMs += local - drawn;
      }
      end = startedAt + Math.max(1, Math.round(drawn));
    }
    returned?.([startedAt, end]);
    return result;
  });
}

/** The distribution of a D1 statement: a replica's for a read a replica may answer (d1Reads), else the primary's. */
const d1Distribution = (read: boolean, replica: boolean): DistributionName =>
  read && replica && model.d1Reads === 'replica' ? 'd1Replica' : 'd1Primary';

/** A hex SHA-256 among a statement's bound values: the key hash a verification looks up. */
const HASH = /^[0-9a-f]{64}$/;
function hashIn(values: unknown[]): string | undefined {
  return values.find((v): v is string => typeof v === 'string' && HASH.test(v));
}

/** A D1 statement is a read when it is a SELECT; anything else (INSERT ... SELECT too) writes. */
const READ_SQL = /^\s*SELECT\b/i;
const USAGE_SQL = /\busage_hourly\b/i;
/** The key change feed's poll (src/db/key-changes.ts readKeyChanges), not the feed position a key read carries. */
const FEED_SQL = /\bFROM key_changes WHERE seq >/i;

function countSql(sql: string, tag: Tag, hash: string | undefined): boolean {
  const read = READ_SQL.test(sql);
  const kind = read ? 'reads' : 'writes';
  d1Counts[kind]++;
  if (USAGE_SQL.test(sql)) usageCounts[kind]++;
  if (FEED_SQL.test(sql)) feedCounts[kind]++;
  const counts = countFor(tag, scenarioOfHash(hash));
  if (read) counts.d1Reads++;
  else counts.d1Writes++;
  return read;
}

/** Keeps the span of a read of `hash` by `tag`'s variant (what measured() charges a request with). */
function readOf(tag: Tag, hash: string | undefined): ((span: Span) => void) | undefined {
  return hash === undefined ? undefined : (span) => addSpan(readSpans, `${tag.label}|${hash}`, span);
}

// Wrapped statement → the real statement, its SQL and the key hash bound to it, so batch() can
// count and unwrap them. Entries die with the statements.
const statements = new WeakMap<D1PreparedStatement, { real: D1PreparedStatement; sql: string; hash: string | undefined }>();

const EXECUTING = new Set<PropertyKey>(['first', 'all', 'run', 'raw']);

/** Method of the real object, called on the real object (bindings keep private state). */
function own(target: object, prop: PropertyKey): unknown {
  const value: unknown = Reflect.get(target, prop, target);
  return typeof value === 'function' ? value.bind(target) : value;
}

function countingStatement(
  real: D1PreparedStatement,
  sql: string,
  tag: Tag,
  hash: string | undefined,
  replica: boolean,
): D1PreparedStatement {
  const wrapped = new Proxy(real, {
    get(target, prop) {
      if (prop === 'bind') {
        return (...values: unknown[]) => countingStatement(target.bind(...values), sql, tag, hashIn(values) ?? hash, replica);
      }
      const value = own(target, prop);
      if (!EXECUTING.has(prop) || typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const read = countSql(sql, tag, hash);
        return delayed(
          () => value(...args) as Promise<unknown>,
          () => d1Distribution(read, replica),
          read ? readOf(tag, hash) : undefined,
        );
      };
    },
  });
  statements.set(wrapped, { real, sql, hash });
  return wrapped;
}

/**
 * The database (or a session of it) with every executed statement counted (and, in the model,
 * delayed). `replica`: a session whose reads a read replica may answer (not 'first-primary').
 */
function countingD1<T extends D1Database | D1DatabaseSession>(db: T, tag: Tag = DEFAULT_TAG, replica = false): T {
  return new Proxy(db, {
    get(target, prop) {
      if (prop === 'prepare') return (sql: string) => countingStatement(target.prepare(sql), sql, tag, undefined, replica);
      if (prop === 'batch') {
        return (batch: D1PreparedStatement[]) => {
          let writes = false;
          const reals = batch.map((statement) => {
            const entry = statements.get(statement);
            if (!entry) throw new TypeError('bench: a statement prepared outside the counting binding');
            if (!countSql(entry.sql, tag, entry.hash)) writes = true;
            return entry.real;
          });
          return delayed(
            () => target.batch(reals),
            () => d1Distribution(!writes, replica),
          );
        };
      }
      if (prop === 'exec' && 'exec' in target) {
        return (query: string) => {
          for (const sql of query.split(';')) if (sql.trim()) countSql(sql, tag, undefined);
          return delayed(
            () => target.exec(query),
            () => 'd1Primary',
          );
        };
      }
      if (prop === 'withSession' && 'withSession' in target) {
        return (...args: Parameters<D1Database['withSession']>) =>
          countingD1(target.withSession(...args), tag, args[0] !== 'first-primary');
      }
      return own(target, prop);
    },
  });
}

const KV_READS = new Set<PropertyKey>(['get', 'getWithMetadata', 'list']);
const KV_WRITES = new Set<PropertyKey>(['put', 'delete']);

/** The key hash of a KV key of Keygate's (key:v1:<hash>), if it is one. */
function kvHash(key: unknown): string | undefined {
  if (typeof key !== 'string') return undefined;
  const hash = key.slice(key.lastIndexOf(':') + 1);
  return HASH.test(hash) ? hash : undefined;
}

/** Whether a KV read found its key (every key, for a bulk get). */
function found(prop: PropertyKey, result: unknown): boolean {
  if (prop === 'getWithMetadata') return (result as { value: unknown } | null)?.value != null;
  if (result instanceof Map) return [...result.values()].every((value) => value != null);
  return result != null;
}

/**
 * The namespace with reads (one per key of a bulk get) and writes counted. In the model a get
 * happens first, then lasts a KV hit's delay when it found its key, a miss's when it did not.
 */
function countingKv(kv: KVNamespace, tag: Tag = DEFAULT_TAG): KVNamespace {
  return new Proxy(kv, {
    get(target, prop) {
      const value = own(target, prop);
      const counts = KV_READS.has(prop) ? 'reads' : KV_WRITES.has(prop) ? 'writes' : undefined;
      if (!counts || typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const n = Array.isArray(args[0]) ? args[0].length : 1;
        kvCounts[counts] += n;
        const hash = kvHash(args[0]);
        const tally = countFor(tag, scenarioOfHash(hash));
        if (counts === 'reads') tally.kvReads += n;
        else tally.kvWrites += n;
        const call = () => value(...args) as Promise<unknown>;
        if (counts === 'writes') return delayed(call, () => 'kvWrite');
        if (prop === 'list') return delayed(call, () => 'kvMiss');
        return delayed(call, (result) => (found(prop, result) ? 'kvHit' : 'kvMiss'), readOf(tag, hash));
      };
    },
  });
}

/** BudgetCounter methods, each one call to the Durable Object. */
const COUNTER_METHODS = new Set<PropertyKey>(['lease', 'take']);

/** A BudgetCounter stub (of the budget `name`) whose calls are counted (and, in the model, delayed). */
function countingStub<T extends object>(stub: T, name: string, tag: Tag): T {
  return new Proxy(stub, {
    get(target, prop) {
      if (!COUNTER_METHODS.has(prop)) return Reflect.get(target, prop);
      return (...args: unknown[]) => {
        counterCalls.calls++;
        countFor(tag, scenarioOfBudget(name)).counterCalls++;
        const call = () => Reflect.apply(Reflect.get(target, prop) as (...args: unknown[]) => unknown, target, args);
        if (!model.inject && !model.track) return call();
        return delayed(
          () => Promise.resolve(call()),
          () => 'counter',
          (span) => addSpan(leaseSpans, `${tag.label}|${name}`, span),
        );
      };
    },
  });
}

/** The BUDGETS namespace with the calls of the stubs it hands out counted. */
function countingBudgets(namespace: Env['BUDGETS'], tag: Tag = DEFAULT_TAG): Env['BUDGETS'] {
  return new Proxy(namespace, {
    get(target, prop) {
      if (prop === 'getByName') {
        return (...args: Parameters<typeof target.getByName>) => countingStub(target.getByName(...args), args[0], tag);
      }
      if (prop === 'get') return (...args: Parameters<typeof target.get>) => countingStub(target.get(...args), args[0].toString(), tag);
      return own(target, prop);
    },
  });
}

/** The request header that marks a request of the model, with an id unique to it. */
const MODEL_ID_HEADER = 'x-bench-id';

/** When each model request (by id) called the origin, and when the origin answered. */
const originCalls = new Map<string, { calledAt: number; returnedAt?: number }>();

/**
 * The ORIGIN service binding, noting when a model request's forward left and came back, and what
 * a request being recorded for the replay baseline (REPLAY_ID_HEADER) was forwarded as.
 */
function timedOrigin(origin: Fetcher): Fetcher {
  return new Proxy(origin, {
    get(target, prop) {
      if (prop !== 'fetch') return own(target, prop);
      return async (input: RequestInfo | URL, init?: RequestInit) => {
        const replayId = input instanceof Request ? input.headers.get(REPLAY_ID_HEADER) : null;
        if (replayId !== null) return recordForward(target, input as Request, replayId);
        const id = input instanceof Request ? input.headers.get(MODEL_ID_HEADER) : null;
        if (id === null) return target.fetch(input, init);
        const call: { calledAt: number; returnedAt?: number } = { calledAt: Date.now() };
        remember(originCalls, id, call);
        const response = await target.fetch(input, init);
        call.returnedAt = Date.now();
        return response;
      };
    },
  });
}

/**
 * Runs a model request and says what it waited for on storage: x-bench-waited-ms, the time
 * covered by the storage calls it awaited before it was forwarded (or answered, when nothing was
 * forwarded), each for its modelled delay; and x-bench-waited-on, which: key (KV and D1 reads of
 * its key hash), budget (a BudgetCounter call of its budget), both, or nothing.
 * - key: when the isolate tier of its design could not answer for the key as the request began
 *   (keyHeld), it waited for the key's load, its own or one it joined: the reads of its hash that
 *   returned before the forward count, from the request's start.
 * - budget: the BudgetCounter calls of its budget (x-bench-budget) that returned between its start
 *   and its forward. (A lease taken after another request's response, returning meanwhile,
 *   counts too: one per 500 requests of a budget at most.)
 * These are not Date.now() differences of the request itself: in workerd under Miniflare,
 * Date.now() advances during CPU work as well, and crypto.subtle.digest lets other requests run,
 * so the local machine's contention would count as waiting. x-bench-wall-ms is that wall time.
 */
async function measured(request: Request, label: string, env: Env, run: () => Response | Promise<Response>): Promise<Response> {
  const id = request.headers.get(MODEL_ID_HEADER) ?? '';
  const hash = request.headers.get('x-bench-hash');
  const budget = request.headers.get('x-bench-budget');
  const scenario = request.headers.get('x-bench-scenario');
  if (hash && scenario) remember(hashScenario, hash, scenario);
  const held = !hash || keyHeld(env, hash);
  const startedAt = Date.now();
  const response = await run();
  const answeredAt = Date.now();
  const origin = originCalls.get(id);
  originCalls.delete(id);
  const leftAt = origin?.calledAt ?? answeredAt;
  const causes: string[] = [];
  const awaited: Span[] = [];
  for (const [cause, spans, name] of [
    ['key', readSpans, held ? null : hash],
    ['budget', leaseSpans, budget],
  ] as const) {
    if (!name) continue;
    let any = false;
    for (const [from, to] of spans.get(`${label}|${name}`) ?? []) {
      if (to <= startedAt || to > leftAt) continue;
      awaited.push([Math.max(from, startedAt), to]);
      any = true;
    }
    if (any) causes.push(cause);
  }
  const answer = new Response(response.body, response);
  answer.headers.set('x-bench-waited-ms', String(covered(awaited)));
  answer.headers.set('x-bench-waited-on', causes.join(','));
  answer.headers.set(
    'x-bench-wall-ms',
    String(leftAt - startedAt + (origin?.returnedAt === undefined ? 0 : answeredAt - origin.returnedAt)),
  );
  return answer;
}

/**
 * Whether the isolate tier of `env`'s design can answer for `hash` from memory as a request
 * begins: remembered as unknown, or a record read less than ISOLATE_CACHE_TTL_SECONDS ago. This
 * reads Keygate's tier (src/cache/isolate.ts); when in doubt it says no, which only lets the
 * key's reads count for the request if they returned while it waited.
 */
function keyHeld(env: Env, hash: string): boolean {
  const config = configOf(env);
  const tier = isolateTierOf(config);
  if (tier.unknown.get(hash) !== undefined) return true;
  const entry = tier.keys.entry(hash) as { value: unknown } | undefined;
  if (!entry) return false;
  const fetchedAt = (entry.value as { fetchedAt?: unknown }).fetchedAt;
  return typeof fetchedAt !== 'number' || Date.now() - fetchedAt < config.isolateCacheTtlMs;
}

/** The length of the union of spans (ms). */
function covered(spans: Span[]): number {
  spans.sort((a, b) => a[0] - b[0]);
  let total = 0;
  let end = Number.NEGATIVE_INFINITY;
  for (const [from, to] of spans) {
    if (to <= end) continue;
    total += to - Math.max(from, end);
    end = to;
  }
  return total;
}

// ---- The bench's env objects ----

// One wrapped env per env object the runtime hands us (one per isolate in practice), so that
// Keygate's own per-env state (parsed configuration) is built once, as in production. An isolate
// restart (POST /__bench/restart) starts these maps over: new env objects, new bindings' wrappers,
// so that Keygate's per-env and per-binding state (configuration, lease books) starts anew too.
let wrappedEnvs = new WeakMap<Env, Env>();

function benchEnv(env: Env): Env {
  let wrapped = wrappedEnvs.get(env);
  if (!wrapped) {
    wrapped = {
      ...env,
      DB: countingD1(env.DB),
      KEY_CACHE: countingKv(env.KEY_CACHE),
      BUDGETS: countingBudgets(env.BUDGETS),
      ORIGIN: timedOrigin(env.ORIGIN),
    };
    wrappedEnvs.set(env, wrapped);
  }
  return wrapped;
}

/** A variant of Keygate's configuration: vars replaced, and bindings taken from others (by name). */
type Variant = { vars: Record<string, string>; bindings: Record<string, string> };

/** The request header that picks a variant of BENCH_VARIANTS (absent: the default configuration). */
const VARIANT_HEADER = 'x-bench-config';

// The variants' envs, built once per env object like the default's: each is another env object
// for Keygate, so it parses its own configuration once; the isolate's module state (the
// isolate tier, the usage recorder) is shared with the default's, as in one deployment.
let variantEnvs = new WeakMap<Env, Map<string, Env>>();

/**
 * A binding a variant takes from another: D1, KV and BUDGETS wrapped like the default's, counted
 * under the variant's name (the model's counts per variant); others (rate limiters) as they are.
 */
function variantBinding(binding: string, value: unknown, tag: Tag): unknown {
  if (binding === 'DB') return countingD1(value as D1Database, tag);
  if (binding === 'KEY_CACHE') return countingKv(value as KVNamespace, tag);
  if (binding === 'BUDGETS') return countingBudgets(value as Env['BUDGETS'], tag);
  return value;
}

/** The bench env of variant `name` (null: the default's), or undefined when BENCH_VARIANTS has none of that name. */
function variantEnv(env: Env, name: string | null): Env | undefined {
  if (name === null) return benchEnv(env);
  let variants = variantEnvs.get(env);
  if (!variants) {
    variants = new Map();
    variantEnvs.set(env, variants);
  }
  let wrapped = variants.get(name);
  if (!wrapped) {
    const all = env as unknown as Record<string, unknown>;
    const variant = (all.BENCH_VARIANTS as Record<string, Variant> | undefined)?.[name];
    if (!variant) return undefined;
    const tag: Tag = { label: name };
    const bindings = Object.fromEntries(
      Object.entries(variant.bindings).map(([binding, from]) => [binding, variantBinding(binding, all[from], tag)]),
    );
    wrapped = { ...benchEnv(env), DB: countingD1(env.DB, tag), ...variant.vars, ...bindings } as Env;
    variants.set(name, wrapped);
  }
  return wrapped;
}

/** Isolate restarts since workerd started. */
let restarts = 0;

/**
 * Drops what an isolate holds in memory, as a new one starts: the key tiers, the budget lease
 * books, and (new env objects and binding wrappers) what Keygate keeps per env object, such as
 * its parsed configuration. The usage counts not yet written are kept.
 */
function restartIsolate(): void {
  forgetIsolateTiers();
  forgetLeaseBooks();
  wrappedEnvs = new WeakMap();
  variantEnvs = new WeakMap();
  restarts++;
}

/** The model's settings as POST /__bench/model sends them (every field optional). */
type ModelUpdate = Partial<Omit<ModelSettings, 'distributions'>> & {
  distributions?: Record<DistributionName, LogNormal>;
  /** Zero the model's counts (after answering them). */
  resetCounts?: boolean;
};

/** What is wrong with a model update, or null. */
function invalidUpdate(update: ModelUpdate): string | null {
  if (update.inject !== undefined && typeof update.inject !== 'boolean') return 'inject: a boolean';
  if (update.track !== undefined) return 'track: set by any POST';
  const d1Reads = update.d1Reads;
  if (d1Reads !== undefined && d1Reads !== 'primary' && d1Reads !== 'replica') return "d1Reads: 'primary' or 'replica'";
  if (update.seed !== undefined && !Number.isInteger(update.seed)) return 'seed: an integer';
  const distributions = update.distributions;
  if (distributions !== undefined) {
    for (const name of DISTRIBUTION_NAMES) {
      const d = distributions[name];
      if (!d || !Number.isFinite(d.mu) || !Number.isFinite(d.sigma) || d.sigma < 0) return `distributions.${name}: { mu, sigma >= 0 }`;
    }
  }
  if ((update.inject ?? model.inject) && !(distributions ?? model.distributions)) return 'inject needs distributions';
  return null;
}

/** GET /__bench/model: the settings, the counts per variant and scenario; POST sets, and resets counts when asked. */
async function modelRoute(request: Request): Promise<Response> {
  if (request.method === 'POST') {
    const update = (await request.json().catch(() => null)) as ModelUpdate | null;
    const problem = update === null || typeof update !== 'object' ? 'a JSON object' : invalidUpdate(update);
    if (problem) return new Response(`bench model: ${problem}`, { status: 400 });
    const { resetCounts, ...settings } = update as ModelUpdate;
    Object.assign(model, settings, { track: true });
    if (settings.seed !== undefined) {
      randomState = settings.seed >>> 0;
      spareNormal = null;
    }
    const answer = modelState();
    if (resetCounts) {
      modelCounts.clear();
      delays.clear();
    }
    return answer;
  }
  return modelState();
}

/** The model's settings, counts per variant and scenario, delayed calls per distribution, restarts. */
function modelState(): Response {
  return Response.json({ settings: model, counts: Object.fromEntries(modelCounts), delays: Object.fromEntries(delays), restarts });
}

/**
 * GET /__bench/counts: every count, and the usage counts still waiting for their batch; POST
 * /__bench/counts/reset zeroes them. /__bench/model and /__bench/restart: the latency model's.
 */
async function benchRoute(request: Request): Promise<Response> {
  const path = new URL(request.url).pathname;
  if (path === '/__bench/model') return modelRoute(request);
  if (path === '/__bench/restart') {
    if (request.method !== 'POST') return new Response('method not allowed', { status: 405 });
    restartIsolate();
    return Response.json({ restarts });
  }
  if (path !== '/__bench/counts' && path !== '/__bench/counts/reset') return new Response('not found', { status: 404 });
  if (path.endsWith('/reset')) {
    if (request.method !== 'POST') return new Response('method not allowed', { status: 405 });
    for (const counts of [d1Counts, kvCounts, usageCounts, feedCounts]) {
      counts.reads = 0;
      counts.writes = 0;
    }
    counterCalls.calls = 0;
  }
  return Response.json({
    d1: d1Counts,
    kv: kvCounts,
    usage: usageCounts,
    feed: feedCounts,
    counter: counterCalls,
    usagePending: usageRecorder().pending,
  });
}

/** The origin's answer to a request, as Keygate's gateway would ask for it (no identity headers). */
function toOrigin(request: Request, env: Env): Promise<Response> {
  return env.ORIGIN.fetch(new Request('https://origin.internal/v1/companies', { headers: request.headers }));
}

/** The storage deadline Keygate applies (STORAGE_TIMEOUT_MS's default), applied to the floor's KV calls too. */
const FLOOR_TIMEOUT_MS = 2_000;

/** What the cold-floor route caches: a record of the shape Keygate caches. */
const FLOOR_RECORD: VerifiedKey = {
  id: 'floor',
  kind: 'project',
  organizationId: 'floor',
  projectId: 'floor',
  clientId: null,
  permissions: [],
};

/**
 * GET /__bench/cold-floor: the storage round trips of a cold key without the rest of Keygate.
 * Keygate's own calls (hash the x-api-key, KV get, the D1 SELECT by hash, KV put after the
 * answer), then the origin hop; no routing, no format check, no isolate tier, no lastUsed.
 */
async function coldFloor(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  const hash = await sha256Hex(request.headers.get('x-api-key') ?? '');
  if (!(await getCachedKey(env.KEY_CACHE, hash, FLOOR_TIMEOUT_MS))) {
    await findActiveKeyByHash(env.DB, hash, new Date().toISOString());
    ctx.waitUntil(putCachedKey(env.KEY_CACHE, hash, FLOOR_RECORD, 60, FLOOR_TIMEOUT_MS));
  }
  return toOrigin(request, env);
}

/**
 * Baselines, not Keygate: GET /__bench/forward is the origin hop alone, which the hot scenarios
 * make too; GET /__bench/cold-floor adds the storage calls a cold key makes.
 */
const BASELINES: Record<string, (request: Request, env: Env, ctx: ExecutionContext) => Promise<Response>> = {
  '/__bench/forward': toOrigin,
  '/__bench/cold-floor': coldFloor,
};

/** The prefix of the replay baseline: the rest of the path is a path of Keygate's. */
const REPLAY_PREFIX = '/__bench/replay';

/** The header that marks the request the replay baseline records, with an id unique to it. */
const REPLAY_ID_HEADER = 'x-bench-replay-id';

/**
 * An answer of Keygate's, recorded by the replay baseline: its status, headers and body; or, for
 * a request Keygate forwarded, the request the origin received (URL and headers) and the headers
 * Keygate's answer has that the origin's has not (or has with another value).
 */
type Recorded =
  | { forwarded: false; status: number; headers: Record<string, string>; body: string }
  | { forwarded: true; url: string; headers: Record<string, string>; added: Array<[string, string]> };

/** A request as Keygate forwarded it, and the headers of the origin's answer (by replay id). */
type Forward = { url: string; headers: Record<string, string>; originHeaders: Record<string, string> };

// What the replay baseline answers, by Keygate path and credentials; and the forwards of the
// requests it is recording, by replay id. Module state: a few entries, one per replayed
// scenario, for the isolate's life.
const recorded = new Map<string, Recorded>();
const forwards = new Map<string, Forward>();

/** Sends a request being recorded on to the origin, noting what it was forwarded as. */
async function recordForward(origin: Fetcher, sent: Request, replayId: string): Promise<Response> {
  const headers = Object.fromEntries(sent.headers);
  delete headers[REPLAY_ID_HEADER];
  const response = await origin.fetch(sent);
  remember(forwards, replayId, { url: sent.url, headers, originHeaders: Object.fromEntries(response.headers) });
  return response;
}

/**
 * The request headers that tell replayed answers apart: the credentials, the variant, and the
 * client address (sent under load by Miniflare's entry Worker, not in the in-isolate loop; with
 * it, Keygate's forward carries the client-address headers).
 */
const REPLAY_KEY_HEADERS = ['x-api-key', 'x-metal-client-id', 'x-metal-api-key', VARIANT_HEADER, 'cf-connecting-ip'];

/** Asks Keygate once, as `request` would, and records its answer (or its forward). */
async function recordAnswer(request: Request, env: Env, ctx: ExecutionContext, target: string): Promise<Recorded> {
  const replayId = crypto.randomUUID();
  const asked = new Request(new URL(target, request.url), { headers: request.headers });
  asked.headers.set(REPLAY_ID_HEADER, replayId);
  const res = await keygate.fetch(asked, env, ctx);
  const forward = forwards.get(replayId);
  forwards.delete(replayId);
  if (!forward) return { forwarded: false, status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() };
  await res.arrayBuffer();
  const added = [...res.headers].filter(([name, value]) => forward.originHeaders[name] !== value);
  return { forwarded: true, url: forward.url, headers: forward.headers, added };
}

/**
 * GET /__bench/replay/<path> (`target`: <path>): what Keygate does for GET <path> with this
 * request's headers, asked of Keygate once (the first request) and then done again with no
 * Keygate code (the in-isolate loop's `replay` mode calls it with its path as well). A refusal
 * (the 429 of a spent budget, the 401 of a bad key) is answered with the same status, headers and
 * body and a new X-Request-Id, as Keygate would give: what that answer costs the runtime and the
 * load generator. A forwarded request (a hot key's) is sent to the origin as Keygate sent it
 * (same URL and headers: identity, client address, no credentials), and the origin's answer
 * copied with the headers Keygate added (rate limits, CORS) by Keygate's own copyWith: what the
 * forward the contract prescribes costs, without checking the key, its budgets or its policy.
 */
async function replay(request: Request, env: Env, ctx: ExecutionContext, target: string): Promise<Response> {
  const id = [target, ...REPLAY_KEY_HEADERS.map((name) => request.headers.get(name) ?? '')].join('\n');
  let answer = recorded.get(id);
  if (!answer) {
    answer = await recordAnswer(request, env, ctx, target);
    recorded.set(id, answer);
  }
  if (answer.forwarded) {
    const res = await env.ORIGIN.fetch(new Request(answer.url, { headers: answer.headers, redirect: 'manual' }));
    return copyWith(res, answer.added);
  }
  const headers = answer.headers['x-request-id'] ? { ...answer.headers, 'x-request-id': crypto.randomUUID() } : answer.headers;
  return new Response(answer.body, { status: answer.status, headers });
}

/** Largest n of /__bench/sha256: about a second of CPU. */
const MAX_HASHES = 200_000;

/**
 * POST /__bench/sha256?n=N: hashes a key N times with Keygate's sha256Hex, so the bench can
 * divide workerd's CPU time by N: what hashing one presented key costs.
 */
async function hashLoop(request: Request): Promise<Response> {
  const n = Number(new URL(request.url).searchParams.get('n'));
  if (request.method !== 'POST' || !Number.isInteger(n) || n < 1 || n > MAX_HASHES) {
    return new Response(`POST with 1 <= n <= ${MAX_HASHES}`, { status: 400 });
  }
  const key = 'kg_pk_0123456789ABCDEFGHIJKLMNOPQRSTUVWabcdef';
  let last = '';
  for (let i = 0; i < n; i++) last = await sha256Hex(key + (i % 10));
  return Response.json({ hashed: n, last });
}

/** Largest n of /__bench/loop: a few seconds of CPU. */
const MAX_LOOPS = 50_000;

/** The origin of /__bench/loop: answers at once, in this isolate (no hop between Workers to measure). */
const instantOrigin = {
  fetch: async () => new Response('{"data":[]}', { headers: { 'content-type': 'application/json' } }),
} as unknown as Fetcher;

/** The envs of /__bench/loop: the bench's (per variant), with the instant origin. */
const loopEnvs = new WeakMap<Env, Env>();

function loopEnv(wrapped: Env): Env {
  let env = loopEnvs.get(wrapped);
  if (!env) {
    // Wrapped as the bench's ORIGIN is (timedOrigin), so that the replay mode records its forward.
    env = { ...wrapped, ORIGIN: timedOrigin(instantOrigin) };
    loopEnvs.set(wrapped, env);
  }
  return env;
}

/** The modes of /__bench/loop. */
const LOOP_MODES = ['keygate', 'origin', 'replay'];

/**
 * POST /__bench/loop?n=N&mode=keygate|origin|replay with {path, headers}: N requests sent one
 * after the other inside this isolate, through Keygate (`keygate`), straight to the origin
 * (`origin`), whose stand-in answers at once, or to the replay baseline (`replay`: what Keygate
 * did for the request, done again without Keygate's code). The bench divides workerd's CPU time
 * by N, and the difference of two modes is Keygate's own CPU per request, without the HTTP
 * server, the hop between Workers and the load generator's noise (the x-bench-config variant
 * header is honoured).
 */
async function requestLoop(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  const params = new URL(request.url).searchParams;
  const n = Number(params.get('n'));
  const mode = params.get('mode');
  const spec = (await request.json().catch(() => null)) as { path?: unknown; headers?: unknown } | null;
  if (request.method !== 'POST' || !Number.isInteger(n) || n < 1 || n > MAX_LOOPS || !LOOP_MODES.includes(mode ?? '')) {
    return new Response(`POST with 1 <= n <= ${MAX_LOOPS} and mode ${LOOP_MODES.join(', ')}`, { status: 400 });
  }
  if (typeof spec?.path !== 'string' || typeof spec.headers !== 'object' || spec.headers === null) {
    return new Response('send {"path": "/v1/...", "headers": {...}}', { status: 400 });
  }
  const headers = spec.headers as Record<string, string>;
  const variant = headers[VARIANT_HEADER] ?? null;
  const wrapped = variantEnv(env, variant);
  if (!wrapped) return new Response(`no bench variant ${variant}`, { status: 400 });
  const target = loopEnv(wrapped);
  const statuses: Record<number, number> = {};
  for (let i = 0; i < n; i++) {
    const sent = new Request(`https://keygate.bench${spec.path}`, { headers });
    const res =
      mode === 'keygate'
        ? await keygate.fetch(sent, target, ctx)
        : mode === 'replay'
          ? await replay(sent, target, ctx, spec.path)
          : await target.ORIGIN.fetch(sent);
    await res.arrayBuffer();
    statuses[res.status] = (statuses[res.status] ?? 0) + 1;
  }
  return Response.json({ n, mode, statuses });
}

export default {
  fetch(request, env, ctx) {
    const path = new URL(request.url).pathname;
    const baseline = BASELINES[path];
    if (baseline) return baseline(request, benchEnv(env), ctx);
    if (path === '/__bench/sha256') return hashLoop(request);
    if (path === '/__bench/loop') return requestLoop(request, env, ctx);
    if (path.startsWith('/__bench/') && !path.startsWith(`${REPLAY_PREFIX}/`)) return benchRoute(request);
    const variant = request.headers.get(VARIANT_HEADER);
    const wrapped = variantEnv(env, variant);
    if (!wrapped) return new Response(`no bench variant ${variant}`, { status: 400 });
    if (path.startsWith(`${REPLAY_PREFIX}/`)) return replay(request, wrapped, ctx, path.slice(REPLAY_PREFIX.length));
    if (request.headers.has(MODEL_ID_HEADER))
      return measured(request, variant ?? 'default', wrapped, () => keygate.fetch(request, wrapped, ctx));
    return keygate.fetch(request, wrapped, ctx);
  },
} satisfies ExportedHandler<Env>;
