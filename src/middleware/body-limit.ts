// Request bodies: at most MAX_BODY_BYTES, and none on GET or HEAD. A GET or HEAD that carries a
// body is answered as if it had none (the body is never read, and never forwarded).
import type { MiddlewareHandler } from 'hono';
import { bodyLimit as honoBodyLimit } from 'hono/body-limit';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';

/** Largest request body accepted, in bytes. */
export const MAX_BODY_BYTES = 16 * 1024;

/**
 * GitHub's secret scanning reports (POST /v1/secret-scanning/github) batch every match found, with
 * no documented limit: 1 MiB holds several thousand entries.
 */
export const MAX_SCANNING_REPORT_BYTES = 1024 * 1024;
const SCANNING_REPORT_PATH = /^\/v1\/secret-scanning\/github$/i;

/** Methods whose body, if a client sends one anyway, is ignored. */
export const BODILESS_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD']);

function limitOf(maxSize: number) {
  return honoBodyLimit({
    maxSize,
    onError: () => {
      throw new ApiError('PAYLOAD_TOO_LARGE', `request body is larger than ${maxSize} bytes`);
    },
  });
}

export function bodyLimit(): MiddlewareHandler<AppEnv> {
  const limit = limitOf(MAX_BODY_BYTES);
  const reportLimit = limitOf(MAX_SCANNING_REPORT_BYTES);
  return async function bodyLimit(c, next) {
    // Hono's limit rebuilds a streamed request, which a GET or HEAD cannot be (that was a 500).
    if (BODILESS_METHODS.has(c.req.method)) return next();
    return (SCANNING_REPORT_PATH.test(c.req.path) ? reportLimit : limit)(c, next);
  };
}
