// The Worker the bench runs: the real Keygate (src/index) with its D1 and KV bindings wrapped in
// counters, so the bench reports storage operations per request instead of guessing them, and
// its BUDGETS namespace wrapped to count budget-counter calls. GET /__bench/counts answers the
// counts (and the usage counts not yet written); POST /__bench/counts/reset zeroes them;
// /__bench/forward and /__bench/cold-floor are baselines without Keygate, and /__bench/sha256
// times Keygate's key hash alone (below).
// A request with x-bench-config: NAME runs Keygate with one of the configuration variants of
// BENCH_VARIANTS (bench/lib/miniflare.mjs): some vars replaced, some bindings taken from others,
// in this same isolate, so that a variant and the default differ by their configuration only.
// Everything else is Keygate's. KeygateVerifier is re-exported as it is: no scenario
// uses RPC, so its storage is not counted.

import { getCachedKey, putCachedKey } from '../src/cache/kv';
import { findActiveKeyByHash } from '../src/db/api-keys';
import keygate from '../src/index';
import { sha256Hex } from '../src/keys/hash';
import type { VerifiedKey } from '../src/keys/types';
import { usageRecorder } from '../src/usage/recorder';

export { BudgetCounter, KeygateVerifier } from '../src/index';

type Counts = { reads: number; writes: number };

// Operations since the last reset, for the whole isolate (the bench runs one). Module state: it
// lives as long as the isolate and is zeroed by the reset route. usage: the D1 statements on
// usage_hourly (a part of d1: the usage recorder's batches); counter: BudgetCounter calls
// (request-budget leases, management-write takes), each a Durable Object round trip.
const d1Counts: Counts = { reads: 0, writes: 0 };
const kvCounts: Counts = { reads: 0, writes: 0 };
const usageCounts: Counts = { reads: 0, writes: 0 };
const counterCalls = { calls: 0 };

/** A D1 statement is a read when it is a SELECT; anything else (INSERT ... SELECT too) writes. */
const READ_SQL = /^\s*SELECT\b/i;
const USAGE_SQL = /\busage_hourly\b/i;

function countSql(sql: string): void {
  const kind = READ_SQL.test(sql) ? 'reads' : 'writes';
  d1Counts[kind]++;
  if (USAGE_SQL.test(sql)) usageCounts[kind]++;
}

// Wrapped statement → the real statement and its SQL, so batch() can count and unwrap them.
// Entries die with the statements.
const statements = new WeakMap<D1PreparedStatement, { real: D1PreparedStatement; sql: string }>();

const EXECUTING = new Set<PropertyKey>(['first', 'all', 'run', 'raw']);

/** Method of the real object, called on the real object (bindings keep private state). */
function own(target: object, prop: PropertyKey): unknown {
  const value: unknown = Reflect.get(target, prop, target);
  return typeof value === 'function' ? value.bind(target) : value;
}

function countingStatement(real: D1PreparedStatement, sql: string): D1PreparedStatement {
  const wrapped = new Proxy(real, {
    get(target, prop) {
      if (prop === 'bind') return (...values: unknown[]) => countingStatement(target.bind(...values), sql);
      const value = own(target, prop);
      if (!EXECUTING.has(prop) || typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        countSql(sql);
        return value(...args);
      };
    },
  });
  statements.set(wrapped, { real, sql });
  return wrapped;
}

/** The database (or a session of it) with every executed statement counted. */
function countingD1<T extends D1Database | D1DatabaseSession>(db: T): T {
  return new Proxy(db, {
    get(target, prop) {
      if (prop === 'prepare') return (sql: string) => countingStatement(target.prepare(sql), sql);
      if (prop === 'batch') {
        return (batch: D1PreparedStatement[]) => {
          const reals = batch.map((statement) => {
            const entry = statements.get(statement);
            if (!entry) throw new TypeError('bench: a statement prepared outside the counting binding');
            countSql(entry.sql);
            return entry.real;
          });
          return target.batch(reals);
        };
      }
      if (prop === 'exec' && 'exec' in target) {
        return (query: string) => {
          for (const sql of query.split(';')) if (sql.trim()) countSql(sql);
          return target.exec(query);
        };
      }
      if (prop === 'withSession' && 'withSession' in target) {
        return (...args: Parameters<D1Database['withSession']>) => countingD1(target.withSession(...args));
      }
      return own(target, prop);
    },
  });
}

const KV_READS = new Set<PropertyKey>(['get', 'getWithMetadata', 'list']);
const KV_WRITES = new Set<PropertyKey>(['put', 'delete']);

/** The namespace with reads (one per key of a bulk get) and writes counted. */
function countingKv(kv: KVNamespace): KVNamespace {
  return new Proxy(kv, {
    get(target, prop) {
      const value = own(target, prop);
      const counts = KV_READS.has(prop) ? 'reads' : KV_WRITES.has(prop) ? 'writes' : undefined;
      if (!counts || typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        kvCounts[counts] += Array.isArray(args[0]) ? args[0].length : 1;
        return value(...args);
      };
    },
  });
}

/** BudgetCounter methods, each one call to the Durable Object. */
const COUNTER_METHODS = new Set<PropertyKey>(['lease', 'take']);

/** A BudgetCounter stub whose calls are counted (everything else goes to the stub as it is). */
function countingStub<T extends object>(stub: T): T {
  return new Proxy(stub, {
    get(target, prop) {
      if (!COUNTER_METHODS.has(prop)) return Reflect.get(target, prop);
      return (...args: unknown[]) => {
        counterCalls.calls++;
        return Reflect.apply(Reflect.get(target, prop) as (...args: unknown[]) => unknown, target, args);
      };
    },
  });
}

/** The BUDGETS namespace with the calls of the stubs it hands out counted. */
function countingBudgets(namespace: Env['BUDGETS']): Env['BUDGETS'] {
  return new Proxy(namespace, {
    get(target, prop) {
      if (prop === 'getByName') return (...args: Parameters<typeof target.getByName>) => countingStub(target.getByName(...args));
      if (prop === 'get') return (...args: Parameters<typeof target.get>) => countingStub(target.get(...args));
      return own(target, prop);
    },
  });
}

// One wrapped env per env object the runtime hands us (one per isolate in practice), so that
// Keygate's own per-env state (parsed configuration) is built once, as in production.
const wrappedEnvs = new WeakMap<Env, Env>();

function benchEnv(env: Env): Env {
  let wrapped = wrappedEnvs.get(env);
  if (!wrapped) {
    wrapped = { ...env, DB: countingD1(env.DB), KEY_CACHE: countingKv(env.KEY_CACHE), BUDGETS: countingBudgets(env.BUDGETS) };
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
const variantEnvs = new WeakMap<Env, Map<string, Env>>();

/** The bench env of variant `name`, or undefined when BENCH_VARIANTS has none of that name. */
function variantEnv(env: Env, name: string): Env | undefined {
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
    const bindings = Object.fromEntries(Object.entries(variant.bindings).map(([binding, from]) => [binding, all[from]]));
    wrapped = { ...benchEnv(env), ...variant.vars, ...bindings } as Env;
    variants.set(name, wrapped);
  }
  return wrapped;
}

/** GET /__bench/counts: every count, and the usage counts still waiting for their batch; POST /__bench/counts/reset zeroes them. */
function benchRoute(request: Request): Response {
  const path = new URL(request.url).pathname;
  if (path !== '/__bench/counts' && path !== '/__bench/counts/reset') return new Response('not found', { status: 404 });
  if (path.endsWith('/reset')) {
    if (request.method !== 'POST') return new Response('method not allowed', { status: 405 });
    for (const counts of [d1Counts, kvCounts, usageCounts]) {
      counts.reads = 0;
      counts.writes = 0;
    }
    counterCalls.calls = 0;
  }
  return Response.json({ d1: d1Counts, kv: kvCounts, usage: usageCounts, counter: counterCalls, usagePending: usageRecorder().pending });
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

export default {
  fetch(request, env, ctx) {
    const path = new URL(request.url).pathname;
    const baseline = BASELINES[path];
    if (baseline) return baseline(request, benchEnv(env), ctx);
    if (path === '/__bench/sha256') return hashLoop(request);
    if (path.startsWith('/__bench/')) return benchRoute(request);
    const variant = request.headers.get(VARIANT_HEADER);
    if (variant === null) return keygate.fetch(request, benchEnv(env), ctx);
    const wrapped = variantEnv(env, variant);
    if (!wrapped) return new Response(`no bench variant ${variant}`, { status: 400 });
    return keygate.fetch(request, wrapped, ctx);
  },
} satisfies ExportedHandler<Env>;
