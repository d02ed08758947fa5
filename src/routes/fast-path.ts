// The direct path: the hot requests (GET through the organization-key gateway, GET on the client
// routes) are answered without the router, whose matching through every sub-app and middleware
// chain is a measurable share of a hot request's CPU (README: Performance). It runs the same steps
// with the same functions: CORS (client routes), the configuration, the route's one serving
// function (serveOrgGateway, serveClientRequest: key, budgets, policy, origin), Keygate's error
// handler with the request id, and the added headers written once. What it does not take (other
// methods, paths that need decoding or a closer look, Keygate's own routes) goes to the router
// unchanged, so each request gets exactly one of the two.
import type { OpenAPIHono } from '@hono/zod-openapi';
import { Context } from 'hono';
import type { AppEnv } from '../env';
import { ApiError, errorAnswer, handleError, surfaceOf } from '../errors';
import { rawPath } from '../gateway/forward';
import { pathProblem } from '../gateway/path';
import { loadConfig } from '../middleware/context';
import { newRequestId, REQUEST_ID_HEADER, startRequest } from '../middleware/request-id';
import { takeAddedHeaders, writeAddedHeaders } from '../middleware/response-headers';
import { serveClientRequest } from './client';
import { markReadable } from './cors';
import { serveOrgGateway } from './gateway';

/** The router's fetch. */
type Fetch = OpenAPIHono<AppEnv>['fetch'];

/** A client route: organization and project, then at least one segment. */
const CLIENT_PATH = /^\/api\/v1\/organizations\/([^/]+)\/projects\/([^/]+)\/./;

/** What answers a request on the direct path, with whether its answers carry CORS. */
type Route = { serve: (c: Context<AppEnv>) => Promise<Response>; cors: boolean };

/**
 * The route of a request the direct path takes, or undefined for the router. Taken: GET (a body
 * needs the router's body limit) on a path that reads the same raw and decoded (no `%`: the
 * router decodes) and that the path guard lets through, under /v1/ (not Keygate's own: `isOwned`)
 * or a client route.
 */
export function directRoute(method: string, path: string, isOwned: (path: string) => boolean): Route | undefined {
  if (method !== 'GET' || path.includes('%') || pathProblem(path) !== null) return undefined;
  if (path.startsWith('/v1/')) return isOwned(path) ? undefined : ORG_GATEWAY;
  const client = CLIENT_PATH.exec(path);
  if (!client) return undefined;
  const [, organizationId = '', projectId = ''] = client;
  return { serve: (c) => serveClientRequest(c, organizationId, projectId), cors: true };
}

const ORG_GATEWAY: Route = { serve: serveOrgGateway, cors: false };

/** `routed` (the router's fetch) behind the direct path. */
export function withDirectPath(routed: Fetch, isOwned: (path: string) => boolean): Fetch {
  return function fetch(request, env, executionCtx) {
    const path = rawPath(request.url);
    const route = directRoute(request.method, path, isOwned);
    return route
      ? serveDirect(route, new Context<AppEnv>(request, { env: env as Env, executionCtx, path }))
      : routed(request, env, executionCtx);
  };
}

/** What the router's middleware chain does for these routes (src/app.ts), in its order. */
async function serveDirect(route: Route, c: Context<AppEnv>): Promise<Response> {
  if (route.cors) markReadable(c);
  let res: Response;
  try {
    loadConfig(c);
    res = await route.serve(c);
  } catch (err) {
    // As the router: Errors go to the error handler, anything else is thrown on.
    if (!(err instanceof Error)) throw err;
    if (err instanceof ApiError && err.status < 500) return refusal(c, err);
    // The request id goes on Keygate's own answers only (a forwarded one is the origin's, as on
    // the router's path), and every one of them on this path is an error: it is made here.
    startRequest(c);
    res = handleError(err, c);
  }
  c.res = res;
  writeAddedHeaders(c);
  return c.res;
}

/**
 * A refusal (Keygate's own 4xx: 401, 403, 404, 429): the same answer the error handler and the
 * request-id middleware give it on the router's path, built as one Response (its body rendered
 * once per refusal, src/errors.ts). Its headers are one plain object: measured in workerd, a
 * Response with ten headers costs about 9 µs of CPU from a record, 12 µs set one by one on a
 * Headers, and 22 µs from an array of pairs. The code on this path adds its headers with
 * addResponseHeader, never c.header (which this Response would not carry): the comparison tests
 * (test/routes/fast-path.test.ts, test/fuzz) hold the two paths' answers equal.
 */
function refusal(c: Context<AppEnv>, err: ApiError): Response {
  const answer = errorAnswer(err, surfaceOf(c.req.path));
  const headers: Record<string, string> = { ...answer.headers, [REQUEST_ID_HEADER]: newRequestId(c) };
  const added = takeAddedHeaders(c);
  if (added) for (const [name, value] of added) headers[name] = value;
  return new Response(answer.body, { status: err.status, headers });
}
