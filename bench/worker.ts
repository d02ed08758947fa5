// The Worker the bench runs: the real Keygate (src/index) with its D1 and KV bindings wrapped in
// counters, so the bench reports storage operations per request instead of guessing them.
// GET /__bench/d1 and /__bench/kv answer the counts; POST /__bench/d1/reset and /__bench/kv/reset
// zero them; /__bench/forward and /__bench/cold-floor are baselines without Keygate, and
// /__bench/sha256 times Keygate's key hash alone (below).
// Everything else is Keygate's. KeygateVerifier is re-exported as it is: no scenario
// uses RPC, so its storage is not counted.

import { getCachedKey, putCachedKey } from '../src/cache/kv';
import { findActiveKeyByHash } from '../src/db/api-keys';
import keygate from '../src/index';
import { sha256Hex } from '../src/keys/hash';
import type { VerifiedKey } from '../src/keys/types';

export { BudgetCounter, KeygateVerifier } from '../src/index';

type Counts = { reads: number; writes: number };

// Operations since the last reset, for the whole isolate (the bench runs one). Module state: it
// lives as long as the isolate and is zeroed by the reset routes.
const d1Counts: Counts = { reads: 0, writes: 0 };
const kvCounts: Counts = { reads: 0, writes: 0 };

/** A D1 statement is a read when it is a SELECT; anything else (INSERT ... SELECT too) writes. */
const READ_SQL = /^\s*SELECT\b/i;

function countSql(sql: string): void {
  if (READ_SQL.test(sql)) d1Counts.reads++;
  else d1Counts.writes++;
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

// One wrapped env per env object the runtime hands us (one per isolate in practice), so that
// Keygate's own per-env state (parsed configuration) is built once, as in production.
const wrappedEnvs = new WeakMap<Env, Env>();

function benchEnv(env: Env): Env {
  let wrapped = wrappedEnvs.get(env);
  if (!wrapped) {
    wrapped = { ...env, DB: countingD1(env.DB), KEY_CACHE: countingKv(env.KEY_CACHE) };
    wrappedEnvs.set(env, wrapped);
  }
  return wrapped;
}

const COUNTERS: Record<string, Counts> = { '/__bench/d1': d1Counts, '/__bench/kv': kvCounts };

function benchRoute(request: Request): Response {
  const path = new URL(request.url).pathname;
  const counts = COUNTERS[path.replace(/\/reset$/, '')];
  if (!counts) return new Response('not found', { status: 404 });
  if (path.endsWith('/reset')) {
    if (request.method !== 'POST') return new Response('method not allowed', { status: 405 });
    counts.reads = 0;
    counts.writes = 0;
  }
  return Response.json(counts);
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
    await findActiveKeyByHash(env.DB, hash);
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
    return keygate.fetch(request, benchEnv(env), ctx);
  },
} satisfies ExportedHandler<Env>;
