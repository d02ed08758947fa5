// The request id: always Keygate's own (a client's X-Request-Id is never taken for it), set on the
// response so a caller can quote it, and in 5xx bodies and the logs. Outermost, it also writes
// the headers added for every answer (src/middleware/response-headers.ts) into the final response.
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env';
import { writeAddedHeaders } from './response-headers';

/** The header of the request id on Keygate's own answers. */
export const REQUEST_ID_HEADER = 'X-Request-Id';

/** Gives the request its id, in the context (for the logs and 5xx bodies), and returns it. */
export function newRequestId(c: Context<AppEnv>): string {
  const id = crypto.randomUUID();
  c.set('requestId', id);
  return id;
}

/** Gives the request its id: in the context and in X-Request-Id of Keygate's own answers. */
export function startRequest(c: Context<AppEnv>): void {
  c.header(REQUEST_ID_HEADER, newRequestId(c));
}

export function requestId(): MiddlewareHandler<AppEnv> {
  return async function requestId(c, next) {
    startRequest(c);
    await next();
    writeAddedHeaders(c);
  };
}
