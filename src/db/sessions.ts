// D1 read replication through the Sessions API (README: Read replicas): which queries a read
// replica may answer, and with what consistency. Without a session every query goes to the
// primary, as before; a session lets D1 route its reads to a replica near the Worker, and keeps
// them sequentially consistent (each query sees at least what the session's earlier ones saw).
// Writes always go to the primary, whatever the session.

/** What the query functions of src/db need: the binding and its sessions both have these. */
export type D1Queries = Pick<D1Database, 'prepare' | 'batch'>;

/** Carries a D1 bookmark between the management surfaces and their clients. */
export const BOOKMARK_HEADER = 'x-keygate-bookmark';

/** The longest bookmark accepted from a client (D1's have 59 characters). */
export const MAX_BOOKMARK_LENGTH = 200;

/**
 * What D1 bookmarks are made of: groups of lowercase hex digits joined by dashes, e.g.
 * 00000001-00000002-00004e2f-0a83ea2fceebc654de0640c422be4653 (Miniflare's have the same shape).
 * Nothing else passes: not a session constraint ('first-primary'), a comma of a repeated header,
 * a space or a control character.
 */
export const BOOKMARK_PATTERN = /^[0-9a-f]+(?:-[0-9a-f]+)*$/;

/** Whether `value` has the shape of a D1 bookmark (and a length Keygate accepts). */
export function isBookmark(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_BOOKMARK_LENGTH && BOOKMARK_PATTERN.test(value);
}

/**
 * The later of two bookmarks, or null when there is neither. D1 bookmarks sort lexicographically,
 * oldest first (D1 glossary), so the greater string names the later state.
 */
export function laterBookmark(a: string | null | undefined, b: string | null | undefined): string | null {
  if (!a) return b || null;
  if (!b) return a;
  return a > b ? a : b;
}

/**
 * Reads that any instance may answer: a 'first-unconstrained' session. Its first query goes to
 * the nearest instance, primary or replica, which may be behind the primary by its replica lag;
 * later queries of the session go to instances at least as fresh. For reads a bounded staleness
 * cannot hurt: verification (its effect on the revocation window is bounded in
 * src/keys/verify.ts) and the management surfaces' reads without a bookmark.
 */
export function replicaReads(db: D1Database): D1DatabaseSession {
  return db.withSession('first-unconstrained');
}

/**
 * Reads that must see every committed write: the binding itself, whose queries (outside any
 * session) always go to the primary. For keys this isolate changed lately, and for a key a
 * replica does not have (a replica may be behind the key's creation).
 */
export function primaryReads(db: D1Database): D1Queries {
  return db;
}

/**
 * A request that writes: a 'first-primary' session. Its first query, and so whatever the write is
 * computed from, runs on the primary; later queries run anywhere at least as fresh, so the
 * request reads its own write. Unlike the plain binding, the session reports a bookmark
 * (getBookmark()) that includes the write, for later requests to read from.
 */
export function primaryFirst(db: D1Database): D1DatabaseSession {
  return db.withSession('first-primary');
}

/**
 * Reads that must see at least the state `bookmark` names (an earlier request's write): D1
 * answers them from an instance that has caught up with it. `bookmark` must pass isBookmark: a
 * constraint's name would be taken as that constraint.
 */
export function readsAfter(db: D1Database, bookmark: string): D1DatabaseSession {
  return db.withSession(bookmark);
}

/**
 * Whether the primary answered a query (D1 sets meta.served_by_primary). Miniflare 4.20260426,
 * which runs D1 locally and in the tests, has no replicas and sets no served_by_primary at all
 * (its meta names only served_by: "miniflare.db"), so a missing field counts as the primary.
 */
export function servedByPrimary(meta: { served_by_primary?: boolean } | undefined): boolean {
  return meta?.served_by_primary !== false;
}
