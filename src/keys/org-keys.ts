// Organization keys (key pairs) managed at /v1/keys: create, list, rename and revoke, each
// change with its audit entry in the same batch and its cache entries evicted.
import type { Actor } from '../auth/principal';
import { findActiveOrgKey, findOrgKey, listActiveOrgKeys, type StoredOrgKey, setKeyStatus, updateActiveKey } from '../db/api-keys';
import { fromD1 } from '../db/errors';
import type { Budget } from '../env';
import { type ExpiryInput, expiryOf } from './expiry';
import { generateKey, randomBase62 } from './format';
import { looseRateLimit, sameBudget } from './rate-limit';
import { type RollInput, rollKeyWithGrace } from './roll';
import { missingScope, ORG_KEY_SCOPES } from './scopes';
import type { ChangeResult, KeyServiceDeps, RequestMeta } from './types';
import { auditEntry, changeKey, insertNewKey } from './writes';

type OrgKeyRef = { organizationId: string; idOrClientId: string; actor: Actor; meta: RequestMeta };

const NOT_FOUND = { ok: false, reason: 'not_found' } as const;

/**
 * Creates an organization key pair. Its secret is in the result and never available again.
 * Fails with limit_reached at the organization's key limit, rate_limit_too_loose for a budget
 * looser than the organization's.
 */
export async function createOrgKey(
  deps: KeyServiceDeps,
  input: {
    organizationId: string;
    name: string;
    rateLimit?: Budget | null;
    permissions?: string[];
    /** The permissions of the organization key creating it (null or absent: an admin JWT): the new key cannot hold more. */
    callerPermissions?: readonly string[] | null;
    actor: Actor;
    meta: RequestMeta;
  } & ExpiryInput,
): Promise<ChangeResult<{ key: StoredOrgKey; secret: string }>> {
  const permissions = input.permissions ?? [...ORG_KEY_SCOPES];
  const missing = input.callerPermissions ? missingScope(input.callerPermissions, permissions) : null;
  if (missing) return { ok: false, reason: 'forbidden', scope: missing };
  const expiry = expiryOf(input, Date.now(), deps.config.maxKeyLifetimeSeconds);
  if (!expiry.ok) return expiry;
  const loose = await looseRateLimit(deps, { organizationId: input.organizationId, projectId: null }, input.rateLimit);
  if (loose) return loose;
  const secret = generateKey('orgSecret');
  const created = await insertNewKey<StoredOrgKey>(deps, {
    ...input,
    id: `key_${randomBase62(24)}`,
    kind: 'org',
    projectId: null,
    clientId: generateKey('clientId'),
    permissions: ORG_KEY_SCOPES.filter((scope) => permissions.includes(scope)),
    rateLimit: input.rateLimit ?? null,
    expiresAt: expiry.expiresAt,
    rolledFrom: null,
    secret,
  });
  return created.ok ? { ok: true, value: { key: created.value, secret } } : created;
}

/** The organization's active organization keys, newest first. */
export function listOrgKeys(deps: KeyServiceDeps, organizationId: string): Promise<StoredOrgKey[]> {
  return fromD1(() => listActiveOrgKeys(deps.db, organizationId, new Date().toISOString()));
}

/**
 * Revokes an active organization key of this organization, by id or client ID, and evicts its
 * cache entries. Fails with not_found for unknown, foreign and already revoked keys.
 */
export async function revokeOrgKey(deps: KeyServiceDeps, input: OrgKeyRef): Promise<ChangeResult<StoredOrgKey & { revokedAt: string }>> {
  const key = await fromD1(() => findActiveOrgKey(deps.db, input.organizationId, input.idOrClientId, new Date().toISOString()));
  if (!key) return NOT_FOUND;
  const now = new Date().toISOString();
  const changed = await changeKey(deps, key.secretHash, () =>
    fromD1(() =>
      setKeyStatus(deps.db, input.organizationId, key.id, 'revoked', now, auditEntry(key, 'revoked', input.actor, input.meta, now)),
    ),
  );
  if (!changed) return NOT_FOUND;
  return { ok: true, value: { ...key, status: 'revoked', revokedAt: now, updatedAt: now } };
}

/**
 * Updates an active organization key of this organization, by id or client ID: its name and/or
 * its own request budget (audited as 'updated'; nothing asked or nothing different changes
 * nothing). Fails with not_found for unknown, foreign and revoked keys, rate_limit_too_loose for
 * a budget looser than the organization's. The budget is part of what verification caches, so
 * the key's cache entries are evicted.
 */
export async function updateOrgKey(
  deps: KeyServiceDeps,
  input: OrgKeyRef & { name?: string; rateLimit?: Budget | null },
): Promise<ChangeResult<StoredOrgKey>> {
  const key = await fromD1(() => findActiveOrgKey(deps.db, input.organizationId, input.idOrClientId, new Date().toISOString()));
  if (!key) return NOT_FOUND;
  const name = input.name ?? key.name;
  const rateLimit = input.rateLimit === undefined ? key.rateLimit : input.rateLimit;
  if (name === key.name && sameBudget(rateLimit, key.rateLimit)) return { ok: true, value: key };
  const loose = await looseRateLimit(deps, key, rateLimit);
  if (loose) return loose;
  const now = new Date().toISOString();
  const updated = await changeKey(deps, key.secretHash, () =>
    fromD1(() =>
      updateActiveKey(
        deps.db,
        input.organizationId,
        key.id,
        { name, rateLimit },
        now,
        auditEntry({ ...key, name }, 'updated', input.actor, input.meta, now),
      ),
    ),
  );
  return updated ? { ok: true, value: { ...key, name, rateLimit, updatedAt: now } } : NOT_FOUND;
}

/**
 * Rolls an organization key of this organization (by id or client ID, in any state): a new pair
 * (new client ID and secret, shown once), the old pair working for `graceSeconds` more. Fails
 * with not_found (unknown, foreign), not_rollable (revoked, expired, already rolled) or forbidden.
 */
export async function rollOrgKey(
  deps: KeyServiceDeps,
  input: OrgKeyRef & Pick<RollInput, 'graceSeconds' | 'callerPermissions'>,
): Promise<ChangeResult<{ key: StoredOrgKey; secret: string; old: StoredOrgKey }>> {
  const old = await fromD1(() => findOrgKey(deps.db, input.organizationId, input.idOrClientId));
  if (!old) return NOT_FOUND;
  const rolled = await rollKeyWithGrace(deps, { ...input, old });
  if (!rolled.ok) return rolled;
  const { key, secret, old: retired } = rolled.value;
  return key.kind === 'org' && retired.kind === 'org' ? { ok: true, value: { key, secret, old: retired } } : NOT_FOUND;
}
