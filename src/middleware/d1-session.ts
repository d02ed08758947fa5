// The management surfaces (/v1/keys, /app/v1) read and write D1 through one session per request
// (README: Read replicas). Reads start from the later of the client's x-keygate-bookmark and the
// latest write this isolate handled for the organization, or anywhere ('first-unconstrained');
// writes start on the primary ('first-primary'). Every answer that used D1 carries the session's
// bookmark in x-keygate-bookmark, for the client to send back: it then reads its own writes,
// whichever isolate or replica answers next.
import type { Context, MiddlewareHandler } from 'hono';
import { BoundedTtlMap } from '../cache/isolate';
import { BOOKMARK_HEADER, isBookmark, laterBookmark, primaryFirst, readsAfter, replicaReads } from '../db/sessions';
import type { AppEnv } from '../env';
import type { KeyServiceDeps } from '../keys/types';
import { keyServiceDeps } from './context';

/** How long this isolate remembers an organization's latest write (a minute: far past any replica lag seen). */
const WRITE_MEMORY_MS = 60_000;
/** Organizations remembered at once; the oldest give way. */
const WRITE_MEMORY_ENTRIES = 10_000;

// Module state, per isolate and bounded: organization → the bookmark of the latest write this
// isolate handled for it. Only bookmarks of Keygate's own writes, never one a client sent.
const latestWrites = new BoundedTtlMap<string, string>(WRITE_MEMORY_ENTRIES);

/** Methods that only read. */
const READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD']);

/**
 * One request's D1 session, opened at the request's first query (so a binding that fails, fails
 * inside the caller's fromD1: 503). Every query of the request goes through it, in order, so the
 * reads after the request's own write see it (sequential consistency).
 */
export class RequestSession {
  #session: D1DatabaseSession | null = null;
  /** The session as the query functions of src/db take it. */
  readonly database: D1Database;

  constructor(
    db: D1Database,
    start: (db: D1Database) => D1DatabaseSession,
    /** Whether the request writes (its bookmark is then remembered for the organization). */
    readonly writes: boolean,
  ) {
    const session = () => {
      this.#session ??= start(db);
      return this.#session;
    };
    this.database = {
      prepare: (query: string) => session().prepare(query),
      batch: (statements: D1PreparedStatement[]) => session().batch(statements),
      // Not used by the management routes: what the binding itself does.
      exec: (query: string) => db.exec(query),
      withSession: (constraintOrBookmark?: string) => db.withSession(constraintOrBookmark),
      dump: () => db.dump(),
    } as unknown as D1Database;
  }

  /** The session's latest bookmark, or null when the request made no query. */
  bookmark(): string | null {
    return this.#session?.getBookmark() ?? null;
  }
}

/** Where a request's session starts: on the primary for a write, else at the latest bookmark it must see. */
function sessionStart(c: Context<AppEnv>, writes: boolean): (db: D1Database) => D1DatabaseSession {
  return (db) => {
    if (writes) return primaryFirst(db);
    // The route validated the header (400 otherwise); anything else is not a bookmark and is ignored.
    const sent = c.req.header(BOOKMARK_HEADER);
    const organizationId = c.get('principal')?.organizationId;
    const bookmark = laterBookmark(isBookmark(sent) ? sent : null, organizationId ? latestWrites.get(organizationId) : null);
    return bookmark ? readsAfter(db, bookmark) : replicaReads(db);
  };
}

/** The key service's dependencies for a management route: D1 through this request's session. */
export function managementDeps(c: Context<AppEnv>): KeyServiceDeps {
  const deps = keyServiceDeps(c);
  let session = c.get('d1Session');
  if (!session) {
    const writes = !READ_METHODS.has(c.req.method);
    session = new RequestSession(deps.db, sessionStart(c, writes), writes);
    c.set('d1Session', session);
  }
  return { ...deps, db: session.database };
}

/**
 * Sets x-keygate-bookmark on the answer of a request that used D1 (errors too), and remembers a
 * write's bookmark for its organization, so this isolate's later reads start from it. Mounted by
 * each management router on its own paths: a middleware path of its own under /v1 or /app/v1
 * would count as one of Keygate's routes, and the gateway would stop forwarding below it.
 */
export function bookmarks(): MiddlewareHandler<AppEnv> {
  return async function bookmarks(c, next) {
    await next();
    const session = c.get('d1Session');
    const bookmark = session?.bookmark();
    if (!session || !bookmark) return;
    c.header(BOOKMARK_HEADER, bookmark);
    const organizationId = c.get('principal')?.organizationId;
    if (session.writes && organizationId) {
      latestWrites.set(organizationId, laterBookmark(bookmark, latestWrites.get(organizationId)) ?? bookmark, WRITE_MEMORY_MS);
    }
  };
}
