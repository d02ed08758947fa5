// A key's own request budget (`rateLimit`) can only tighten the budget of its organization
// (organization keys) or project (project keys): it must allow no more requests per window,
// and no higher average rate. Both budgets are enforced on every request either way.
import { fromD1 } from '../db/errors';
import { getOrganizationRateLimit, getProjectRateLimit } from '../db/organizations';
import type { Budget } from '../env';
import type { ChangeFailure, KeyServiceDeps } from './types';

/** Whether two budgets (or their absence) are the same. */
export function sameBudget(a: Budget | null, b: Budget | null): boolean {
  return a === b || (a !== null && b !== null && a.requests === b.requests && a.windowSeconds === b.windowSeconds);
}

/** Whether `key` is at most as generous as `parent`: no more requests, and no higher rate. */
export function isTighter(key: Budget, parent: Budget): boolean {
  return key.requests <= parent.requests && key.requests * parent.windowSeconds <= parent.requests * key.windowSeconds;
}

/**
 * The failure of a per-key budget looser than its parent's (the organization's or the project's,
 * as set by an operator or the default), or null when it is fine (or absent).
 */
export async function looseRateLimit(
  deps: KeyServiceDeps,
  owner: { organizationId: string; projectId: string | null },
  rateLimit: Budget | null | undefined,
): Promise<ChangeFailure | null> {
  if (!rateLimit) return null;
  const { organizationId, projectId } = owner;
  const parent =
    projectId === null
      ? ((await fromD1(() => getOrganizationRateLimit(deps.db, organizationId))) ?? deps.config.orgRateLimit)
      : ((await fromD1(() => getProjectRateLimit(deps.db, organizationId, projectId))) ?? deps.config.projectRateLimit);
  // No parent budget ("off"): the key's own is the only one, and may be anything.
  if (!parent || isTighter(rateLimit, parent)) return null;
  return { ok: false, reason: 'rate_limit_too_loose', parent, scope: projectId === null ? 'organization' : 'project' };
}
