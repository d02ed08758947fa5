// D1's failures as the rest of the code sees them: an outage is a 503 (fails closed), and a
// unique violation is a typed conflict. D1's error text is read here and nowhere else.
import { ApiError } from '../errors';

/**
 * Runs a D1 operation; any failure to reach D1 (or no answer within the storage deadline)
 * becomes a 503, so that a key is never accepted, or a change reported, without the database
 * having answered. Logs the error's class only: D1 messages can carry SQL and values.
 */
export async function fromD1<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (err) {
    if (err instanceof ApiError) throw err;
    console.error(`D1 unavailable: ${err instanceof Error ? err.name : 'error'}`);
    throw new ApiError('SERVICE_UNAVAILABLE', 'service temporarily unavailable');
  }
}

/** Which uniqueness a write ran into: a project key's name, or a key's secret (its hash). */
export type UniqueConflict = 'name' | 'value';

/** The conflict a failed write ran into, or null when the error is something else. */
export function uniqueConflictOf(err: unknown): UniqueConflict | null {
  if (!(err instanceof Error) || !/UNIQUE constraint failed/i.test(err.message)) return null;
  if (/secret_hash/.test(err.message)) return 'value';
  if (/\.name\b/.test(err.message)) return 'name';
  return null;
}
