// Fault injection for the storage bindings: wrappers around the test env's real D1 and KV that
// record every operation and make a chosen one fail, never answer, or take effect with its answer
// lost. Everything else goes to the real binding, so a request sees real data around the fault.
import { env } from 'cloudflare:workers';

/** One storage call, by binding and method (a D1 statement's first/all/run/raw, a batch, a KV call). */
export type OpKind = 'd1.first' | 'd1.all' | 'd1.run' | 'd1.raw' | 'd1.batch' | 'd1.exec' | 'kv.get' | 'kv.put' | 'kv.delete' | 'kv.list';

/**
 * fail: rejects with an error full of internal detail, without touching storage.
 * hang: never settles, without touching storage.
 * lost: runs against the real storage (a write commits), then never settles: the answer is lost.
 */
export type FaultMode = 'fail' | 'hang' | 'lost';

/** Which operation to break: the `nth` (0-based, counted per kind since arm()) or, without `nth`, every one. */
export type Fault = { kind: OpKind; nth?: number; mode: FaultMode };

/** A recorded operation: its kind and what it touched (SQL, or the KV key with its hash elided). */
export type Op = { kind: OpKind; detail: string };

/** Write operations: the ones whose answer can be lost after they took effect. */
export const WRITE_KINDS: ReadonlySet<OpKind> = new Set(['d1.batch', 'd1.run', 'd1.exec', 'kv.put', 'kv.delete']);

/** What a failing operation's error says: internal detail that must never reach a client. */
export function injectedMessage(kind: OpKind, detail: string): string {
  const binding = kind.startsWith('d1.') ? 'D1_ERROR' : 'KV_ERROR';
  return `${binding}: injected fault in ${kind} (internal detail): ${detail} -- SELECT secret_hash FROM api_keys`;
}

/** Fragments of the injected errors' messages: neither a response nor a log line may contain them. */
export const INJECTED_FRAGMENTS = ['injected fault', 'D1_ERROR', 'KV_ERROR', 'internal detail', 'secret_hash'];

/** Those, and what the deadline's own error says: no response may contain them (logs may name the error class). */
export const INTERNAL_FRAGMENTS = [...INJECTED_FRAGMENTS, 'SELECT', 'StorageTimeout', 'timed out'];

function sqlDetail(sql: string): string {
  return sql.replace(/\s+/g, ' ').trim().slice(0, 80);
}

function kvDetail(key: unknown): string {
  // The cache key ends with a secret's hash: never put it in a test message.
  return typeof key === 'string' ? key.replace(/[0-9a-f]{64}/, '<hash>') : String(key);
}

/** Real D1 and KV behind wrappers that record operations and inject one armed fault. */
export class FaultyStorage {
  /** Operations since the last arm() or reset(), in the order they were called. */
  readonly ops: Op[] = [];
  /** How many operations the armed fault has hit. */
  fired = 0;
  readonly db: D1Database;
  readonly kv: KVNamespace;

  #fault: Fault | null = null;
  readonly #seen = new Map<OpKind, number>();
  /** The real operations of 'lost' faults, still running or done. */
  readonly #lost: Promise<unknown>[] = [];

  constructor(realDb: D1Database = env.DB, realKv: KVNamespace = env.KEY_CACHE) {
    this.db = this.#wrapD1(realDb);
    this.kv = this.#wrapKv(realKv);
  }

  /** Forgets the recorded operations and counts, and disarms. */
  reset(): void {
    this.ops.length = 0;
    this.#seen.clear();
    this.fired = 0;
    this.#fault = null;
  }

  /** Starts counting afresh and breaks the operation(s) `fault` names. */
  arm(fault: Fault): void {
    this.reset();
    this.#fault = fault;
  }

  /** Stops injecting; the recorded operations stay readable. */
  disarm(): void {
    this.#fault = null;
  }

  /** Waits until the real operations behind 'lost' faults have taken effect. */
  async settled(): Promise<void> {
    await Promise.all(this.#lost);
  }

  #run<T>(kind: OpKind, detail: string, real: () => Promise<T>): Promise<T> {
    this.ops.push({ kind, detail });
    const n = this.#seen.get(kind) ?? 0;
    this.#seen.set(kind, n + 1);
    const fault = this.#fault;
    if (!fault || fault.kind !== kind || (fault.nth !== undefined && fault.nth !== n)) return real();
    this.fired++;
    switch (fault.mode) {
      case 'fail':
        return Promise.reject(new Error(injectedMessage(kind, detail)));
      case 'hang':
        return new Promise<T>(() => {});
      case 'lost': {
        const done = real();
        this.#lost.push(done.catch(() => undefined));
        return done.then(() => new Promise<T>(() => {}));
      }
    }
  }

  #wrapD1(real: D1Database): D1Database {
    // The wrapper's statements, mapped back to the driver's own for the real batch().
    const originals = new WeakMap<object, D1PreparedStatement>();
    const sqlOf = new WeakMap<object, string>();
    const statement = (inner: D1PreparedStatement, sql: string): D1PreparedStatement => {
      const detail = sqlDetail(sql);
      const wrapped = {
        bind: (...values: unknown[]) => statement(inner.bind(...values), sql),
        first: (column?: string) => this.#run('d1.first', detail, () => (column === undefined ? inner.first() : inner.first(column))),
        all: () => this.#run('d1.all', detail, () => inner.all()),
        run: () => this.#run('d1.run', detail, () => inner.run()),
        raw: (options?: { columnNames?: boolean }) => this.#run('d1.raw', detail, () => inner.raw(options as { columnNames?: false })),
      };
      originals.set(wrapped, inner);
      sqlOf.set(wrapped, detail);
      return wrapped as unknown as D1PreparedStatement;
    };
    // The binding and its sessions (src/db/sessions.ts) record and fail alike.
    const queries = (target: Pick<D1Database, 'prepare' | 'batch'>) => ({
      prepare: (query: string) => statement(target.prepare(query), query),
      batch: (statements: D1PreparedStatement[]) =>
        this.#run('d1.batch', statements.map((s) => sqlOf.get(s) ?? '?').join(' ; '), () =>
          target.batch(statements.map((s) => originals.get(s) ?? s)),
        ),
    });
    return {
      ...queries(real),
      exec: (query: string) => this.#run('d1.exec', sqlDetail(query), () => real.exec(query)),
      withSession: (constraintOrBookmark?: string) => {
        const session = real.withSession(constraintOrBookmark);
        return { ...queries(session), getBookmark: () => session.getBookmark() } as unknown as D1DatabaseSession;
      },
      dump: () => real.dump(),
    } as unknown as D1Database;
  }

  #wrapKv(real: KVNamespace): KVNamespace {
    type Method = (...args: unknown[]) => Promise<unknown>;
    const call = (method: 'get' | 'getWithMetadata' | 'put' | 'delete' | 'list', args: unknown[]) =>
      (real[method] as unknown as Method).apply(real, args);
    return {
      get: (...args: unknown[]) => this.#run('kv.get', kvDetail(args[0]), () => call('get', args)),
      getWithMetadata: (...args: unknown[]) => this.#run('kv.get', kvDetail(args[0]), () => call('getWithMetadata', args)),
      put: (...args: unknown[]) => this.#run('kv.put', kvDetail(args[0]), () => call('put', args)),
      delete: (...args: unknown[]) => this.#run('kv.delete', kvDetail(args[0]), () => call('delete', args)),
      list: (...args: unknown[]) => this.#run('kv.list', 'list', () => call('list', args)),
    } as unknown as KVNamespace;
  }
}
