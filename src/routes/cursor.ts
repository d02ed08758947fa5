// Opaque list cursors (`lastKey`): the seq of the last item of a page, which never changes and
// is never reused, so paging newest-first neither skips nor repeats items while new ones arrive.
import { ApiError } from '../errors';

const PREFIX = 'c1.';

export function encodeCursor(seq: number): string {
  return PREFIX + btoa(`seq:${seq}`).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
}

/** The seq a cursor stands for; throws VALIDATION_ERROR naming `lastKey` when it is not one of ours. */
export function decodeCursor(cursor: string | undefined): number | null {
  if (cursor === undefined) return null;
  const invalid = () => new ApiError('VALIDATION_ERROR', 'invalid query string', [{ field: 'lastKey', message: 'not a cursor returned by this API' }]);
  if (!cursor.startsWith(PREFIX) || cursor.length > 64) throw invalid();
  let decoded: string;
  try {
    decoded = atob(cursor.slice(PREFIX.length).replace(/-/g, '+').replace(/_/g, '/'));
  } catch {
    throw invalid();
  }
  const match = decoded.match(/^seq:(\d{1,15})$/);
  if (!match) throw invalid();
  return Number(match[1]);
}

/**
 * Cuts rows fetched with `limit + 1` into a page and the cursor of the next one (null when the
 * extra row did not come back, i.e. this is the last page).
 */
export function pageOf<T extends { seq: number }>(rows: T[], limit: number): { items: T[]; lastKey: string | null } {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, lastKey: rows.length > limit && last ? encodeCursor(last.seq) : null };
}
