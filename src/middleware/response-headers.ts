// Headers Keygate adds to every answer of a request, whoever builds it (the rate-limit headers,
// CORS on the client routes): set on the context, so that Keygate's own responses carry them,
// and remembered, so that the gateway adds them to the origin's response in the one copy that
// response needs (its headers are immutable), instead of one copy per middleware.
import type { Context } from 'hono';
import type { AppEnv } from '../env';

/** Sets a header on whatever response this request gets. */
export function addResponseHeader(c: Context<AppEnv>, name: string, value: string): void {
  c.header(name, value);
  const added = c.get('addedHeaders');
  if (added) added.push([name, value]);
  else c.set('addedHeaders', [[name, value]]);
}

/** `res` with the added headers (one copy), or `res` itself when there are none. */
export function withAddedHeaders(c: Context<AppEnv>, res: Response): Response {
  const added = c.get('addedHeaders');
  if (!added) return res;
  const copy = new Response(res.body, res);
  for (const [name, value] of added) copy.headers.set(name, value);
  return copy;
}
