// Refused credentials cost nothing after a point: per client IP (CF-Connecting-IP), failed key
// verifications are counted by the AUTH_FAILURES Rate Limiting binding, before the refusal is
// answered; once it says the IP is past AUTH_FAILURE_LIMIT, this isolate answers that IP's
// requests 429 for the rest of the window unless their key is one it verified recently
// (isolate tier only: no KV or D1 read). The binding counts per Cloudflare location and
// converges eventually: an approximate guard that makes a flood of forged keys stop costing
// storage, not an exact budget.
import type { Context } from 'hono';
import { isolateTierOf } from '../cache/isolate';
import type { AppEnv } from '../env';
import { type ApiError, rateLimited } from '../errors';
import { clientIp } from '../middleware/context';

type AuthContext = Context<AppEnv>;

/**
 * Whether requests from this client's IP may only use keys this isolate verified recently.
 * Requests without a client address (never in production) are not throttled.
 */
export function isThrottled(c: AuthContext): boolean {
  const ip = clientIp(c);
  return ip !== null && isolateTierOf(c.get('config')).throttledIps.get(ip) !== undefined;
}

/** The 429 of a throttled IP, with how long the throttle still lasts in this isolate. */
export function throttledError(c: AuthContext): ApiError {
  const config = c.get('config');
  const ip = clientIp(c);
  const until = ip === null ? undefined : isolateTierOf(config).throttledIps.get(ip);
  return rateLimited(until ?? Date.now(), config.authFailureLimit);
}

/**
 * Counts a failed verification for the client's IP, before the refusal is answered. When the
 * binding says the IP is past its limit, this isolate throttles it until the window ends: from
 * the very next request. Awaited in the request, as Cloudflare's own examples await limit(), not
 * after the response: a waitUntil per refusal cost workerd about 7 µs more CPU under load
 * (README: "Refused credentials"). Not bounded by a timer of its own either (a timer per refusal
 * cost about 20 µs): the binding counts per location, next to the Worker, and is not a storage
 * call. A failed call is logged, and the refusal answered as usual.
 */
export async function recordAuthFailure(c: AuthContext): Promise<void> {
  const ip = clientIp(c);
  const limiter = c.env.AUTH_FAILURES as RateLimit | undefined;
  if (ip === null || !limiter) return;
  const config = c.get('config');
  try {
    const { success } = await limiter.limit({ key: ip });
    if (success) return;
    const windowMs = config.authFailureLimit.windowSeconds * 1000;
    isolateTierOf(config).throttledIps.set(ip, Date.now() + windowMs, windowMs);
  } catch (err) {
    console.error(`AUTH_FAILURES limit failed: ${err instanceof Error ? err.name : 'error'}`);
  }
}
