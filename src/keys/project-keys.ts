// Project keys (x-api-key) managed by admins: create, list, read, rename, revoke, reactivate and
// delete, each change with its audit entry in the same batch and its cache entries evicted.
// Expected failures are values (ChangeResult); the routes turn them into HTTP errors.
import type { Actor } from '../auth/principal';
import {
  deleteProjectKey as deleteProjectKeyRow,
  findProjectKey,
  type KeyStatus,
  listProjectKeys as listProjectKeyRows,
  listProjectsWithKeys,
  type ProjectKeyCounts,
  type StoredProjectKey,
  updateProjectKey as updateProjectKeyRow,
} from '../db/api-keys';
import type { AuditEntryInput } from '../db/audit';
import { fromD1 } from '../db/errors';
import type { PagePosition } from '../db/page';
import type { Budget } from '../env';
import { type ExpiryInput, expiryOf } from './expiry';
import { generateKey } from './format';
import { looseRateLimit, sameBudget } from './rate-limit';
import { type RollInput, rollKeyWithGrace } from './roll';
import { type ChangeResult, type KeyServiceDeps, PROJECT_KEY_PERMISSIONS, type RequestMeta } from './types';
import { auditEntry, changeKey, insertNewKey, limitReached } from './writes';

export type ProjectScope = { organizationId: string; projectId: string };

const NOT_FOUND = { ok: false, reason: 'not_found' } as const;

/**
 * Creates a project key, generated or from the caller's custom value. Its value is in the result
 * and never available again. Fails with name_taken, value_taken or limit_reached.
 */
export async function createProjectKey(
  deps: KeyServiceDeps,
  input: ProjectScope & { name: string; customKey?: string; rateLimit?: Budget | null; actor: Actor; meta: RequestMeta } & ExpiryInput,
): Promise<ChangeResult<{ key: StoredProjectKey; secret: string }>> {
  const expiry = expiryOf(input, Date.now(), deps.config.maxKeyLifetimeSeconds);
  if (!expiry.ok) return expiry;
  const loose = await looseRateLimit(deps, input, input.rateLimit);
  if (loose) return loose;
  const { customKey, rateLimit, expiresIn: _in, expiresAt: _at, ...rest } = input;
  const secret = customKey ?? generateKey('project');
  const created = await insertNewKey<StoredProjectKey>(deps, {
    ...rest,
    id: crypto.randomUUID(),
    kind: 'project',
    clientId: null,
    permissions: PROJECT_KEY_PERMISSIONS,
    rateLimit: rateLimit ?? null,
    expiresAt: expiry.expiresAt,
    rolledFrom: null,
    secret,
  });
  return created.ok ? { ok: true, value: { key: created.value, secret } } : created;
}

/** Up to `limit` of a project's keys after the cursor position `after`, newest first. */
export function listProjectKeys(
  deps: KeyServiceDeps,
  query: ProjectScope & { status: KeyStatus | null; limit: number; after: PagePosition | null },
): Promise<StoredProjectKey[]> {
  return fromD1(() => listProjectKeyRows(deps.db, query));
}

/** The organization's projects that hold keys, with their active and revoked key counts. */
export function listProjects(deps: KeyServiceDeps, organizationId: string): Promise<ProjectKeyCounts[]> {
  return fromD1(() => listProjectsWithKeys(deps.db, organizationId));
}

/** One key of the project; not_found for unknown and foreign ids alike. */
export async function getProjectKey(deps: KeyServiceDeps, scope: ProjectScope, keyId: string): Promise<ChangeResult<StoredProjectKey>> {
  const key = await fromD1(() => findProjectKey(deps.db, scope.organizationId, scope.projectId, keyId));
  return key ? { ok: true, value: key } : NOT_FOUND;
}

/** Times a change is re-applied against a key that concurrent requests keep changing, before conflict. */
const UPDATE_ATTEMPTS = 5;

/**
 * Renames a key and/or sets its status. Each actual change writes one audit entry ('updated' for
 * the name, 'revoked' or 'reactivated' for the status); the key's cache entries are evicted.
 *
 * The write only applies to the state it was computed from (same status, same name). When a
 * concurrent request changed the key first, the change is computed again against the new state
 * and re-applied, so success always means the asked-for name and status are stored. When the
 * key did not change but the write still did nothing, the key limit stopped a reactivation.
 */
export async function updateProjectKey(
  deps: KeyServiceDeps,
  input: ProjectScope & { keyId: string; name?: string; status?: KeyStatus; rateLimit?: Budget | null; actor: Actor; meta: RequestMeta },
): Promise<ChangeResult<StoredProjectKey>> {
  const found = await getProjectKey(deps, input, input.keyId);
  if (!found.ok) return found;
  const loose = await looseRateLimit(deps, input, input.rateLimit);
  if (loose) return loose;
  let key = found.value;
  for (let attempt = 0; attempt < UPDATE_ATTEMPTS; attempt++) {
    const name = input.name !== undefined && input.name !== key.name ? input.name : null;
    const status = input.status !== undefined && input.status !== key.status ? input.status : null;
    const rateLimit = input.rateLimit !== undefined && !sameBudget(input.rateLimit, key.rateLimit) ? input.rateLimit : undefined;
    if (name === null && status === null && rateLimit === undefined) return { ok: true, value: key };

    const now = new Date().toISOString();
    const audits: AuditEntryInput[] = [];
    const changed = { ...key, name: name ?? key.name };
    if (name !== null || rateLimit !== undefined) audits.push(auditEntry(changed, 'updated', input.actor, input.meta, now));
    if (status !== null) audits.push(auditEntry(changed, status === 'revoked' ? 'revoked' : 'reactivated', input.actor, input.meta, now));

    const expected = key;
    const outcome = await changeKey(deps, key.secretHash, () =>
      fromD1(() =>
        updateProjectKeyRow(
          deps.db,
          {
            ...input,
            keyId: expected.id,
            expectedStatus: expected.status,
            expectedName: expected.name,
            name,
            status,
            rateLimit,
            now,
            defaultLimit: deps.config.defaultKeyLimit,
          },
          audits,
        ),
      ),
    );
    if (outcome === 'name_taken') return { ok: false, reason: 'name_taken', name: name ?? key.name };
    if (outcome === 'updated') {
      return {
        ok: true,
        value: {
          ...key,
          name: name ?? key.name,
          status: status ?? key.status,
          rateLimit: rateLimit === undefined ? key.rateLimit : rateLimit,
          updatedAt: now,
          revokedAt: status === 'revoked' ? now : status === 'active' ? null : key.revokedAt,
        },
      };
    }
    const current = await fromD1(() => findProjectKey(deps.db, input.organizationId, input.projectId, expected.id));
    if (!current) return NOT_FOUND;
    if (current.status === expected.status && current.name === expected.name) {
      // Nothing changed underneath, so only the limit clause can have stopped the write.
      return status === 'active' ? limitReached(deps, input.organizationId) : { ok: false, reason: 'conflict' };
    }
    key = current;
  }
  return { ok: false, reason: 'conflict' };
}

/** Deletes a key for good (its audit entries stay) and evicts its cache entries. */
export async function deleteProjectKey(
  deps: KeyServiceDeps,
  input: ProjectScope & { keyId: string; actor: Actor; meta: RequestMeta },
): Promise<ChangeResult<StoredProjectKey>> {
  const found = await getProjectKey(deps, input, input.keyId);
  if (!found.ok) return found;
  const key = found.value;
  const now = new Date().toISOString();
  const deleted = await changeKey(deps, key.secretHash, () =>
    fromD1(() =>
      deleteProjectKeyRow(deps.db, input.organizationId, input.projectId, key.id, auditEntry(key, 'deleted', input.actor, input.meta, now)),
    ),
  );
  return deleted ? { ok: true, value: key } : NOT_FOUND;
}

/**
 * Rolls a project key: a new key (shown once) with the old one's name, permissions, budget and
 * expiry policy; the old key works for `graceSeconds` more. Fails with not_found (unknown,
 * foreign) or not_rollable (revoked, expired, already rolled).
 */
export async function rollProjectKey(
  deps: KeyServiceDeps,
  input: ProjectScope & { keyId: string; actor: Actor; meta: RequestMeta } & Pick<RollInput, 'graceSeconds'>,
): Promise<ChangeResult<{ key: StoredProjectKey; secret: string }>> {
  const found = await getProjectKey(deps, input, input.keyId);
  if (!found.ok) return found;
  const rolled = await rollKeyWithGrace(deps, { ...input, old: found.value, callerPermissions: null });
  if (!rolled.ok) return rolled;
  const { key, secret } = rolled.value;
  return key.kind === 'project' ? { ok: true, value: { key, secret } } : NOT_FOUND;
}
