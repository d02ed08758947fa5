// Refuses, before any route runs, a path that Keygate and an origin could read differently
// (src/gateway/path.ts): 400 in the surface's error shape, and nothing is forwarded.
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { rawPath } from '../gateway/forward';
import { pathProblem } from '../gateway/path';

export function refuseHostilePaths(): MiddlewareHandler<AppEnv> {
  return async function refuseHostilePaths(c, next) {
    const problem = pathProblem(rawPath(c.req.url));
    if (problem) throw new ApiError('VALIDATION_ERROR', 'invalid path', [{ field: 'path', message: `refused: ${problem}` }]);
    await next();
  };
}
