// What the key modules share: the two kinds of key, what verification knows of an active key,
// what every key operation needs, and the failures management answers with as values.
import type { Budget, Config } from '../env';

export type KeyKind = 'org' | 'project';

/**
 * The request budgets of a verified key: its own (null: none) and the one an operator set for its
 * organization (organization keys) or project (project keys), null there meaning the default;
 * and its expiry (null: never). Optional because KV may still hold records cached before they
 * existed (read: null).
 */
type KeyBudgets = { rateLimit?: Budget | null; parentRateLimit?: Budget | null; expiresAt?: string | null };

/** What verification needs of an active organization key; never the secret. */
export type VerifiedOrgKey = {
  id: string;
  kind: 'org';
  organizationId: string;
  projectId: null;
  clientId: string;
  permissions: string[];
} & KeyBudgets;
/** What verification needs of an active project key; never the secret. */
export type VerifiedProjectKey = {
  id: string;
  kind: 'project';
  organizationId: string;
  projectId: string;
  clientId: null;
  permissions: string[];
} & KeyBudgets;
/** An active key as verification (and the caches) know it. */
export type VerifiedKey = VerifiedOrgKey | VerifiedProjectKey;

export type KeyServiceDeps = {
  db: D1Database;
  kv: KVNamespace;
  config: Config;
  /** Runs work after the response (ExecutionContext.waitUntil). */
  waitUntil: (promise: Promise<unknown>) => void;
};

/** Where a change came from, for the audit log. */
export type RequestMeta = { ip: string | null; userAgent: string | null };

/** Permissions every new project key holds. */
export const PROJECT_KEY_PERMISSIONS = ['content.read', 'packages.read', 'assets.read'];

/**
 * The expected ways a key change does not happen. The routes turn each into their surface's
 * HTTP error; storage outages are not among them (they throw, and answer 503).
 */
export type ChangeFailure =
  | { ok: false; reason: 'not_found' }
  | { ok: false; reason: 'name_taken'; name: string }
  | { ok: false; reason: 'value_taken' }
  | { ok: false; reason: 'limit_reached'; limit: number }
  | { ok: false; reason: 'conflict' }
  | { ok: false; reason: 'rate_limit_too_loose'; parent: Budget; scope: 'organization' | 'project' }
  | { ok: false; reason: 'invalid'; field: string; message: string }
  | { ok: false; reason: 'not_rollable'; why: 'revoked' | 'expired' | 'rolled' }
  | { ok: false; reason: 'forbidden'; scope: string };

/** A key change: what it produced, or why it did not happen. */
export type ChangeResult<T> = { ok: true; value: T } | ChangeFailure;
