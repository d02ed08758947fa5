// The closed set of error codes, the one ApiError that carries them, and the two renderers:
// the organization surface answers {"error": "message"}, the project surface {"error": {code, message}}.
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AppEnv, Budget } from './env';

export const errorStatus = {
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  APIKEY_NOT_FOUND: 404,
  APIKEY_NAME_ALREADY_EXISTS: 409,
  CONFLICT: 409,
  VALIDATION_ERROR: 400,
  PAYLOAD_TOO_LARGE: 413,
  KEY_LIMIT_REACHED: 422,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  BAD_GATEWAY: 502,
  SERVICE_UNAVAILABLE: 503,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof errorStatus;

/** The 401 body of the organization surface: the same for every refused key pair. */
export const INVALID_KEY_PAIR = 'invalid api key or clientId';

export class ApiError extends HTTPException {
  readonly code: ErrorCode;
  readonly details?: unknown;

  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(errorStatus[code], { message });
    this.code = code;
    this.details = details;
  }
}

/** Which documented error shape a path answers in. */
export type Surface = 'org' | 'project';

export function surfaceOf(path: string): Surface {
  return path.startsWith('/app/') || path.startsWith('/api/') ? 'project' : 'org';
}

/** Turns any HTTPException raised by Hono or its middleware into one of our codes. */
function fromHttpException(err: HTTPException): ApiError {
  switch (err.status) {
    case 400:
      // Hono's validator raises 400 for a body that is not JSON; never echo its text.
      return new ApiError('VALIDATION_ERROR', 'request body is not valid JSON');
    case 401:
      return new ApiError('UNAUTHORIZED', 'unauthorized');
    case 404:
      return new ApiError('NOT_FOUND', 'not found');
    case 413:
      return new ApiError('PAYLOAD_TOO_LARGE', 'request body is too large');
    case 415:
      // The route declares a JSON body and the request sent another media type.
      return new ApiError('VALIDATION_ERROR', 'request body must be JSON', [
        { field: 'content-type', message: 'send content-type: application/json' },
      ]);
    default:
      return err.status >= 500 ? new ApiError('INTERNAL_ERROR', 'internal error') : new ApiError('VALIDATION_ERROR', 'bad request');
  }
}

// 429s by retryAfter and budget, built once: a client hammering a spent budget costs no error
// construction (stack capture) per request. ApiErrors are immutable. Module state, bounded.
const refusals = new Map<string, ApiError>();
const MAX_REFUSALS = 1000;

/** The 429 of a spent budget that renews at `until` (ms since the epoch), with what a client needs to wait. */
export function rateLimited(until: number, budget: Budget): ApiError {
  const retryAfter = Math.max(1, Math.ceil((until - Date.now()) / 1000));
  const key = `${retryAfter}/${budget.requests}/${budget.windowSeconds}`;
  let refusal = refusals.get(key);
  if (!refusal) {
    if (refusals.size >= MAX_REFUSALS) refusals.clear();
    refusal = new ApiError('RATE_LIMITED', 'rate limit exceeded', {
      retryAfter,
      limit: budget.requests,
      windowSeconds: budget.windowSeconds,
    });
    refusals.set(key, refusal);
  }
  return refusal;
}

/** What an error's answer consists of besides its status: the JSON body and its headers (Retry-After when it has one). */
export type ErrorAnswer = { body: string; headers: Readonly<Record<string, string>> };

/** The headers of an error answer without Retry-After (every error answer is JSON). */
const JSON_HEADERS: Readonly<Record<string, string>> = { 'Content-Type': 'application/json' };

// The answers of errors without a request id in their body (every 4xx), rendered once per error
// and surface: the shared refusals (401s, 429s by retryAfter) then cost no JSON per request.
// Module state, bounded by the errors alive (the refusal caches are bounded themselves).
const rendered = { org: new WeakMap<ApiError, ErrorAnswer>(), project: new WeakMap<ApiError, ErrorAnswer>() };

/**
 * The body and headers of `err` in the shape of `surface`: what renderError sends through the
 * router and the direct path sends as one Response (src/routes/fast-path.ts). Shared: not to be changed.
 */
export function errorAnswer(err: ApiError, surface: Surface, requestId?: string): ErrorAnswer {
  if (requestId !== undefined) return renderAnswer(err, surface, requestId);
  let answer = rendered[surface].get(err);
  if (!answer) {
    answer = renderAnswer(err, surface, undefined);
    rendered[surface].set(err, answer);
  }
  return answer;
}

function renderAnswer(err: ApiError, surface: Surface, requestId: string | undefined): ErrorAnswer {
  const headers =
    err.code === 'RATE_LIMITED' || err.code === 'SERVICE_UNAVAILABLE'
      ? { ...JSON_HEADERS, 'Retry-After': String(retryAfterOf(err)) }
      : JSON_HEADERS;
  if (surface === 'project') {
    const body: Record<string, unknown> = { code: err.code, message: err.message };
    if (err.details !== undefined) body.details = err.details;
    if (requestId) body.requestId = requestId;
    return { body: JSON.stringify({ error: body }), headers };
  }
  const body: Record<string, unknown> = { error: err.message };
  // The organization surface's 429 is exactly {"error": "rate limit exceeded"} (its seed's shape).
  if (err.details !== undefined && err.code !== 'RATE_LIMITED') body.details = err.details;
  if (requestId) body.requestId = requestId;
  return { body: JSON.stringify(body), headers };
}

/** Renders an error in the shape of the surface the request belongs to. */
export function renderError(c: Context, err: ApiError, requestId?: string): Response {
  const { body, headers } = errorAnswer(err, surfaceOf(c.req.path), requestId);
  return c.body(body, err.status as ContentfulStatusCode, headers);
}

/** Seconds a client should wait: the error's own retryAfter when it has one, else 1. */
function retryAfterOf(err: ApiError): number {
  const retryAfter = (err.details as { retryAfter?: unknown } | undefined)?.retryAfter;
  return typeof retryAfter === 'number' && retryAfter > 0 ? retryAfter : 1;
}

/**
 * The single error handler: our errors render as they are, other HTTPExceptions are mapped to
 * a code, anything else is logged with the request id and answered with a generic 500.
 */
export function handleError(err: Error, c: Context<AppEnv>): Response {
  if (err instanceof ApiError) {
    return renderError(c, err, err.status >= 500 ? requestIdOf(c) : undefined);
  }
  if (err instanceof HTTPException) {
    const mapped = fromHttpException(err);
    return renderError(c, mapped, mapped.status >= 500 ? requestIdOf(c) : undefined);
  }
  const requestId = requestIdOf(c);
  // Only the error's class and the request id: messages can carry SQL or request data.
  console.error(`unhandled ${err?.name ?? 'error'} in ${c.req.method} ${c.req.path} (request ${requestId})`);
  return renderError(c, new ApiError('INTERNAL_ERROR', 'internal error'), requestId);
}

function requestIdOf(c: Context<AppEnv>): string {
  return c.get('requestId') ?? 'unknown';
}
