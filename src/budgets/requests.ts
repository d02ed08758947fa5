// Request budgets on the hot path: after authentication, a request is charged to its key's own
// budget (when it has one) and to its organization's (organization keys, admin JWTs through the
// /app/v1 gateway) or its project's (project keys). Charges come from this isolate's leases
// (src/budgets/leases.ts), so a request waits for a Durable Object only when its isolate holds
// no budget. Every budgeted response carries X-RateLimit-* (the budget nearest exhaustion) and
// the IETF RateLimit-Policy / RateLimit fields (all of them); past a budget, 429 with Retry-After.
// Each charged request is counted for usage (src/usage/recorder.ts).
import type { Context } from 'hono';
import { BoundedTtlMap } from '../cache/isolate';
import { fromD1 } from '../db/errors';
import { getOrganizationRateLimit } from '../db/organizations';
import type { AppEnv, Budget, Config } from '../env';
import { rateLimited } from '../errors';
import type { VerifiedKey } from '../keys/types';
import { addResponseHeader } from '../middleware/response-headers';
import { boundedD1 } from '../storage/deadline';
import { type UsageOutcome, type UsageSubject, usageRecorder, writeUsageEvent } from '../usage/recorder';
import type { LeaseResult } from './counter';
import { type Charge, LeaseBook } from './leases';

/** Which budget: the names of the IETF policies. */
export type BudgetScope = 'org' | 'project' | 'key';

/** One budget a request is charged to: its policy name, its counter's name and its size. */
export type RequestBudget = { scope: BudgetScope; name: string; budget: Budget };

/** The counter names of the request budgets (one BudgetCounter each). */
export const budgetNames = {
  org: (organizationId: string) => `org:${organizationId}`,
  project: (organizationId: string, projectId: string) => `project:${organizationId}:${projectId}`,
  key: (keyId: string) => `key:${keyId}`,
};

/** The headers a budgeted response carries, in the order they are set. */
export const RATE_LIMIT_HEADERS = ['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset', 'RateLimit-Policy', 'RateLimit'];

// One lease book per isolate and Durable Object namespace (tests that bring their own namespace
// get their own book). Module state: lives as long as the isolate, bounded inside LeaseBook.
let books = new WeakMap<object, LeaseBook>();

/**
 * Forgets this isolate's leases, as a new isolate starts (what it held is lost to the window, as
 * when an isolate dies). Production never calls it; the bench's latency model does.
 */
export function forgetLeaseBooks(): void {
  books = new WeakMap();
}

function leaseBookOf(env: Env, config: Config): LeaseBook {
  let book = books.get(env.BUDGETS);
  if (!book) {
    const namespace = env.BUDGETS;
    book = new LeaseBook({
      counter: (name) => {
        const stub = namespace.getByName(name);
        return { lease: (limit, windowSeconds, want) => stub.lease(limit, windowSeconds, want) as Promise<LeaseResult> };
      },
      timeoutMs: config.storageTimeoutMs,
    });
    books.set(env.BUDGETS, book);
  }
  return book;
}

/**
 * The budgets of a request made with `key`, tightest first: the key's own (if any), then its
 * organization's (organization keys) or its project's (project keys), the operator's or the default.
 */
export function keyBudgets(key: VerifiedKey, config: Config): RequestBudget[] {
  const budgets: RequestBudget[] = [];
  if (key.rateLimit) budgets.push({ scope: 'key', name: budgetNames.key(key.id), budget: key.rateLimit });
  const parent = key.parentRateLimit ?? (key.kind === 'org' ? config.orgRateLimit : config.projectRateLimit);
  if (parent) {
    const name = key.kind === 'org' ? budgetNames.org(key.organizationId) : budgetNames.project(key.organizationId, key.projectId);
    budgets.push({ scope: key.kind === 'org' ? 'org' : 'project', name, budget: parent });
  }
  return budgets;
}

/**
 * Charges the request to `budgets` (in order; a refusal gives back what the earlier ones took),
 * sets the rate-limit headers and counts the request for `subject`'s usage. Throws the 429 when
 * a budget is spent. While this isolate holds every budget it needs (the steady state), it is
 * done without waiting and returns undefined; otherwise it returns the promise of the rest.
 */
export function chargeRequest(c: Context<AppEnv>, budgets: readonly RequestBudget[], subject: UsageSubject): Promise<void> | undefined {
  const book = leaseBookOf(c.env, c.get('config'));
  const waitUntil = (promise: Promise<unknown>) => c.executionCtx.waitUntil(promise);
  const charged: Array<{ budget: RequestBudget; charge: Charge }> = [];
  for (let i = 0; i < budgets.length; i++) {
    const budget = budgets[i] as RequestBudget;
    const charge = book.chargeHeld(budget.name, budget.budget, waitUntil);
    if (!charge) return chargeWaiting(c, book, budgets, i, charged, subject, waitUntil);
    settleCharge(c, book, budget, charge, charged, subject);
  }
  finishCharges(c, charged, subject);
  return undefined;
}

/** The rest of chargeRequest from `budgets[from]` on, when a budget needs a lease first. */
async function chargeWaiting(
  c: Context<AppEnv>,
  book: LeaseBook,
  budgets: readonly RequestBudget[],
  from: number,
  charged: Array<{ budget: RequestBudget; charge: Charge }>,
  subject: UsageSubject,
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<void> {
  for (let i = from; i < budgets.length; i++) {
    const budget = budgets[i] as RequestBudget;
    settleCharge(c, book, budget, await book.charge(budget.name, budget.budget, waitUntil), charged, subject);
  }
  finishCharges(c, charged, subject);
}

/** Records one budget's charge; on a refusal, gives back the earlier ones and throws the 429. */
function settleCharge(
  c: Context<AppEnv>,
  book: LeaseBook,
  budget: RequestBudget,
  charge: Charge,
  charged: Array<{ budget: RequestBudget; charge: Charge }>,
  subject: UsageSubject,
): void {
  charged.push({ budget, charge });
  if (charge.allowed) return;
  for (const earlier of charged) if (earlier.charge.allowed) book.refund(earlier.budget.name, earlier.charge);
  setRateLimitHeaders(c, charged, charge);
  countUsage(c, subject, 'rate_limited');
  throw rateLimited(charge.resetAt, { requests: charge.limit, windowSeconds: charge.windowSeconds });
}

/** Every budget admitted the request: its headers, and its usage count. */
function finishCharges(c: Context<AppEnv>, charged: ReadonlyArray<{ budget: RequestBudget; charge: Charge }>, subject: UsageSubject): void {
  if (charged.length > 0) setRateLimitHeaders(c, charged, nearestExhaustion(charged));
  countUsage(c, subject, 'accepted');
}

/** Counts a request for usage, and writes its analytics data point when a dataset is bound. */
export function countUsage(c: Context<AppEnv>, subject: UsageSubject, outcome: UsageOutcome): void {
  const config = c.get('config');
  usageRecorder().record(
    { db: boundedD1(c.env.DB, config.storageTimeoutMs), config, waitUntil: (p) => c.executionCtx.waitUntil(p) },
    subject,
    outcome,
  );
  const env = c.env as { USAGE_EVENTS?: AnalyticsEngineDataset };
  if (env.USAGE_EVENTS) writeUsageEvent(env, subject, outcome, c.req.path.split('/', 2)[1] ?? '');
}

function nearestExhaustion(charged: ReadonlyArray<{ charge: Charge }>): Charge {
  let nearest = charged[0]?.charge as Charge;
  for (const { charge } of charged) if (charge.remaining < nearest.remaining) nearest = charge;
  return nearest;
}

/**
 * X-RateLimit-* describe `described`; RateLimit-Policy and RateLimit list every charged budget,
 * on Keygate's own answers and on forwarded ones alike (src/middleware/response-headers.ts).
 */
function setRateLimitHeaders(
  c: Context<AppEnv>,
  charged: ReadonlyArray<{ budget: RequestBudget; charge: Charge }>,
  described: Charge,
): void {
  const now = Date.now();
  const secondsLeft = (charge: Charge) => Math.max(0, Math.ceil((charge.resetAt - now) / 1000));
  addResponseHeader(c, 'X-RateLimit-Limit', String(described.limit));
  addResponseHeader(c, 'X-RateLimit-Remaining', String(described.remaining));
  addResponseHeader(c, 'X-RateLimit-Reset', String(Math.ceil(described.resetAt / 1000)));
  addResponseHeader(
    c,
    'RateLimit-Policy',
    charged.map(({ budget, charge }) => `"${budget.scope}";q=${charge.limit};w=${charge.windowSeconds}`).join(', '),
  );
  addResponseHeader(
    c,
    'RateLimit',
    charged.map(({ budget, charge }) => `"${budget.scope}";r=${charge.remaining};t=${secondsLeft(charge)}`).join(', '),
  );
}

// Organization budgets for admin-JWT gateway requests: the JWT names the organization, so its
// budget is read from D1. A budget read within the isolate-cache TTL is used as it is; an older
// one (up to STALE_BUDGET_TTLS TTLs) is used while it is read again after the response, so only
// an organization unseen that long makes a request wait. Module state: one bounded map per isolate.
const orgBudgets = new BoundedTtlMap<string, { budget: Budget | null; readAt: number }>(10_000);
const refreshingOrgBudgets = new Set<string>();
const STALE_BUDGET_TTLS = 6;

/**
 * The request budget of an organization: its own, else ORG_RATE_LIMIT (null: "off"). An
 * operator's change applies within the isolate-cache TTL, plus one request.
 */
export async function organizationBudget(c: Context<AppEnv>, organizationId: string): Promise<Budget | null> {
  const config = c.get('config');
  const ttl = Math.max(config.isolateCacheTtlMs, 1000);
  const read = async () => {
    const budget = await fromD1(() => getOrganizationRateLimit(boundedD1(c.env.DB, config.storageTimeoutMs), organizationId));
    orgBudgets.set(organizationId, { budget, readAt: Date.now() }, STALE_BUDGET_TTLS * ttl);
    return budget;
  };
  const held = orgBudgets.get(organizationId);
  if (!held) return (await read()) ?? config.orgRateLimit;
  if (Date.now() - held.readAt >= ttl && !refreshingOrgBudgets.has(organizationId)) {
    refreshingOrgBudgets.add(organizationId);
    c.executionCtx.waitUntil(
      read()
        .catch((err: unknown) => console.error(`organization budget refresh failed: ${err instanceof Error ? err.name : 'error'}`))
        .finally(() => refreshingOrgBudgets.delete(organizationId)),
    );
  }
  return held.budget ?? config.orgRateLimit;
}
