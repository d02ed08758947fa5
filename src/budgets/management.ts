// Key-management writes are budgeted per organization (MANAGEMENT_WRITE_LIMIT): a loop cannot
// write thousands of keys and audit rows a second. Each write asks the organization's
// BudgetCounter (exact across isolates and locations; writes are not the hot path, so one Durable
// Object call per write is affordable). Past the budget: 429 with Retry-After and X-RateLimit-*.
// A counter that fails or does not answer within STORAGE_TIMEOUT_MS: 503, the write is refused
// (fails closed, like D1).
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env';
import { ApiError, rateLimited } from '../errors';
import { withDeadline } from '../storage/deadline';
import type { TakeResult } from './counter';

/** The Durable Object name of an organization's management-write budget. */
export const managementBudgetName = (organizationId: string) => `mgmt:${organizationId}`;

export function managementWriteBudget(): MiddlewareHandler<AppEnv> {
  return async function managementWriteBudget(c, next) {
    const config = c.get('config');
    const { requests, windowSeconds } = config.managementWriteLimit;
    let taken: TakeResult;
    try {
      const counter = c.env.BUDGETS.getByName(managementBudgetName(c.get('principal').organizationId));
      taken = await withDeadline(counter.take(requests, windowSeconds) as Promise<TakeResult>, config.storageTimeoutMs);
    } catch (err) {
      console.error(`budget counter unavailable: ${err instanceof Error ? err.name : 'error'}`);
      throw new ApiError('SERVICE_UNAVAILABLE', 'service temporarily unavailable');
    }
    c.header('X-RateLimit-Limit', String(taken.limit));
    c.header('X-RateLimit-Remaining', String(taken.remaining));
    c.header('X-RateLimit-Reset', String(Math.ceil(taken.resetAt / 1000)));
    if (!taken.allowed) {
      throw rateLimited(taken.resetAt, config.managementWriteLimit);
    }
    await next();
  };
}
