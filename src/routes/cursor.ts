// Opaque list cursors (`lastKey`): the creation time and id of the last item of a page, both of
// which the caller has just been shown, so a cursor reveals nothing about other tenants (no
// global sequence number). Pages are ordered newest first by (createdAt, then insertion order
// among items of the same millisecond), so paging neither skips nor repeats items while new
// ones arrive.
import type { PagePosition } from '../db/page';
import { ApiError } from '../errors';
// Item ids (project key UUIDs, aud_… audit ids) fit the one id pattern of the contract.
import { RESOURCE_ID } from '../ids';

const PREFIX = 'c2.';
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const toBase64Url = (text: string) => btoa(text).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');

export function encodeCursor(cursor: PagePosition): string {
  return PREFIX + toBase64Url(`${cursor.createdAt}|${cursor.id}`);
}

/** The position a cursor stands for; throws VALIDATION_ERROR naming `lastKey` when it is not one of ours. */
export function decodeCursor(cursor: string | undefined): PagePosition | null {
  if (cursor === undefined) return null;
  const invalid = () =>
    new ApiError('VALIDATION_ERROR', 'invalid query string', [{ field: 'lastKey', message: 'not a cursor returned by this API' }]);
  if (!cursor.startsWith(PREFIX) || cursor.length > 160) throw invalid();
  let decoded: string;
  try {
    decoded = atob(cursor.slice(PREFIX.length).replace(/-/g, '+').replace(/_/g, '/'));
  } catch {
    throw invalid();
  }
  const [createdAt = '', id = '', ...rest] = decoded.split('|');
  if (rest.length > 0 || !ISO_TIME.test(createdAt) || !RESOURCE_ID.test(id)) throw invalid();
  return { createdAt, id };
}

/**
 * Cuts rows fetched with `limit + 1` into a page and the cursor of the next one (null when the
 * extra row did not come back, i.e. this is the last page).
 */
export function pageOf<T extends PagePosition>(rows: T[], limit: number): { items: T[]; lastKey: string | null } {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, lastKey: rows.length > limit && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null };
}
