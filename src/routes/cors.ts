// CORS for the client routes (/api/*): web apps call them from any origin with a project key,
// which is a client credential (no cookies), so every origin is allowed.
import type { Context, MiddlewareHandler } from 'hono';
import { RATE_LIMIT_HEADERS } from '../budgets/requests';
import type { AppEnv } from '../env';
import { addResponseHeader } from '../middleware/response-headers';

const ALLOW_ORIGIN = 'Access-Control-Allow-Origin';
const EXPOSE_HEADERS = 'Access-Control-Expose-Headers';
/** What a page may read of an answer beyond the CORS-safelisted headers: the budget it is spending. */
const EXPOSED = [...RATE_LIMIT_HEADERS, 'Retry-After'].join(', ');

/** What a preflight may ask for, and how long a browser may remember the answer. */
const PREFLIGHT_HEADERS = {
  [ALLOW_ORIGIN]: '*',
  'Access-Control-Allow-Methods': 'GET,HEAD,POST,OPTIONS',
  'Access-Control-Allow-Headers': 'x-api-key,content-type',
  'Access-Control-Max-Age': '86400',
};

/**
 * Answers preflights (OPTIONS) itself with 204; marks every other response readable by the page.
 * Unlike hono/cors, the headers are written once (src/middleware/response-headers.ts): into a
 * response Keygate builds, or into the one copy a forwarded response gets anyway.
 */
export function clientCors(): MiddlewareHandler<AppEnv> {
  return async function clientCors(c, next) {
    if (c.req.method === 'OPTIONS') return new Response(null, { status: 204, headers: PREFLIGHT_HEADERS });
    markReadable(c);
    await next();
  };
}

/** Makes whatever response the request gets readable by the page that sent it. */
export function markReadable(c: Context<AppEnv>): void {
  addResponseHeader(c, ALLOW_ORIGIN, '*');
  addResponseHeader(c, EXPOSE_HEADERS, EXPOSED);
}
