// CORS for the client routes (/api/*): web apps call them from any origin with a project key,
// which is a client credential (no cookies), so every origin is allowed.
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env';

const ALLOW_ORIGIN = 'Access-Control-Allow-Origin';

/** What a preflight may ask for, and how long a browser may remember the answer. */
const PREFLIGHT_HEADERS = {
  [ALLOW_ORIGIN]: '*',
  'Access-Control-Allow-Methods': 'GET,HEAD,POST,OPTIONS',
  'Access-Control-Allow-Headers': 'x-api-key,content-type',
  'Access-Control-Max-Age': '86400',
};

/**
 * Answers preflights (OPTIONS) itself with 204; marks every other response readable by the page.
 * Unlike hono/cors, a response Keygate builds gets the header up front and a forwarded one is
 * copied once to add it: the client routes are the hot path.
 */
export function clientCors(): MiddlewareHandler<AppEnv> {
  return async function clientCors(c, next) {
    if (c.req.method === 'OPTIONS') return new Response(null, { status: 204, headers: PREFLIGHT_HEADERS });
    // Responses built by Keygate (refusals, errors) start from these headers.
    c.header(ALLOW_ORIGIN, '*');
    await next();
    // The origin's answer (immutable headers) is copied once, and '*' replaces whatever it said.
    if (c.res.headers.get(ALLOW_ORIGIN) !== '*') c.header(ALLOW_ORIGIN, '*');
  };
}
