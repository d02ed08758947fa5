// Every KV and D1 call is bounded in time: a call that has not answered within the deadline
// rejects with StorageTimeout, which the callers treat exactly like a failed call (a
// verification falls back from KV to D1 and from D1 to 503; a change answers 503). A request
// therefore never hangs on storage, and a hung read never becomes an accepted key.

/** A KV or D1 call that did not answer in time. */
export class StorageTimeout extends Error {
  override name = 'StorageTimeout';
}

/** `promise`, or a StorageTimeout rejection once `ms` have passed without an answer. */
export function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StorageTimeout('storage call timed out')), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

// The statements handed out by boundedD1, mapped back to the driver's own for batch().
const originals = new WeakMap<object, D1PreparedStatement>();

function boundedStatement(statement: D1PreparedStatement, ms: number): D1PreparedStatement {
  const bounded = {
    bind: (...values: unknown[]) => boundedStatement(statement.bind(...values), ms),
    first: (column?: string) => withDeadline(column === undefined ? statement.first() : statement.first(column), ms),
    run: () => withDeadline(statement.run(), ms),
    all: () => withDeadline(statement.all(), ms),
    raw: (options?: { columnNames?: boolean }) => withDeadline(statement.raw(options as { columnNames?: false }), ms),
  };
  originals.set(bounded, statement);
  return bounded as unknown as D1PreparedStatement;
}

/**
 * A D1 session (src/db/sessions.ts) with every query and batch bounded by `ms` milliseconds;
 * getBookmark() is the session's own.
 */
function boundedSession(session: D1DatabaseSession, ms: number): D1DatabaseSession {
  return {
    prepare: (query: string) => boundedStatement(session.prepare(query), ms),
    batch: (statements: D1PreparedStatement[]) => withDeadline(session.batch(statements.map((s) => originals.get(s) ?? s)), ms),
    getBookmark: () => session.getBookmark(),
  } as unknown as D1DatabaseSession;
}

// One bounded view per D1 binding and deadline: an isolate keeps the same binding object for
// its life, so this holds one entry in production (weakly, so tests' bindings can go).
const views = new WeakMap<D1Database, { ms: number; view: D1Database }>();

/** `db` with every query, batch and exec bounded by `ms` milliseconds, its sessions' too. */
export function boundedD1(db: D1Database, ms: number): D1Database {
  const cached = views.get(db);
  if (cached?.ms === ms) return cached.view;
  const view = {
    prepare: (query: string) => boundedStatement(db.prepare(query), ms),
    batch: (statements: D1PreparedStatement[]) => withDeadline(db.batch(statements.map((s) => originals.get(s) ?? s)), ms),
    exec: (query: string) => withDeadline(db.exec(query), ms),
    withSession: (constraintOrBookmark?: string) => boundedSession(db.withSession(constraintOrBookmark), ms),
    dump: () => withDeadline(db.dump(), ms),
  } as unknown as D1Database;
  views.set(db, { ms, view });
  return view;
}
