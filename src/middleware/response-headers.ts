// Headers Keygate adds to every answer of a request, whoever builds it (the rate-limit headers,
// CORS on the client routes): remembered on the context, then written once. The gateway writes
// them into the origin's response in the one copy that response needs (its headers are
// immutable); the request-id middleware, outermost, writes them into Keygate's own responses
// (answers, refusals, errors) after everything else ran. Nothing is written twice.
import type { Context } from 'hono';
import type { AppEnv } from '../env';

/** Sets a header on whatever response this request gets. */
export function addResponseHeader(c: Context<AppEnv>, name: string, value: string): void {
  const added = c.get('addedHeaders');
  if (added) added.push([name, value]);
  else c.set('addedHeaders', [[name, value]]);
}

/** The added headers not written yet, which count as written from now on (the caller writes them). */
export function takeAddedHeaders(c: Context<AppEnv>): ReadonlyArray<[string, string]> | undefined {
  const added = c.get('addedHeaders');
  if (added) c.set('addedHeaders', undefined);
  return added;
}

/** `res` with the added headers (one copy), or `res` itself when there are none. They count as written. */
export function withAddedHeaders(c: Context<AppEnv>, res: Response): Response {
  const added = takeAddedHeaders(c);
  return added ? copyWith(res, added) : res;
}

/** A copy of `res` (whose headers may be immutable) with `added` set. */
export function copyWith(res: Response, added: ReadonlyArray<[string, string]>): Response {
  const copy = new Response(res.body, res);
  for (const [name, value] of added) copy.headers.set(name, value);
  return copy;
}

/**
 * Writes the added headers not written yet into the final response (`c.res`). Keygate's own
 * responses have mutable headers; any other is copied once.
 */
export function writeAddedHeaders(c: Context<AppEnv>): void {
  const added = takeAddedHeaders(c);
  if (!added) return;
  try {
    for (const [name, value] of added) c.res.headers.set(name, value);
  } catch {
    const copy = copyWith(c.res, added);
    c.res = undefined;
    c.res = copy;
  }
}
