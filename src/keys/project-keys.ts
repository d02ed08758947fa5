// Project keys (x-api-key) managed by admins: create, list, read, rename, revoke, reactivate and
// delete, each with its audit entry in the same batch and its cache entry evicted.
import type { Actor } from '../auth/principal';
import { deleteProjectKey as deleteProjectKeyRow, findProjectKey, listProjectKeys as listProjectKeyRows, updateProjectKey as updateProjectKeyRow, type KeyStatus, type StoredKey } from '../db/api-keys';
import { ApiError } from '../errors';
import { generateKey } from './format';
import { auditEntry, evictCachedKey, fromD1, insertNewKey, isUniqueViolation, PROJECT_KEY_PERMISSIONS, throwLimitReached, type KeyServiceDeps, type RequestMeta } from './service';
import type { AuditEntryInput } from '../db/audit';

export type ProjectScope = { organizationId: string; projectId: string };

function keyNotFound(): ApiError {
  return new ApiError('APIKEY_NOT_FOUND', 'API key not found');
}

function nameTaken(name: string): ApiError {
  return new ApiError('APIKEY_NAME_ALREADY_EXISTS', `API key with name "${name}" already exists`, { name });
}

/** Maps a unique violation of the insert/update to the error the caller can act on. */
function uniqueViolationError(err: unknown, name: string): ApiError {
  if (err instanceof Error && /secret_hash/.test(err.message)) {
    return new ApiError('VALIDATION_ERROR', 'invalid request body', [
      { field: 'apiKey', message: 'this value cannot be used; choose another' },
    ]);
  }
  return nameTaken(name);
}

/**
 * Creates a project key, generated or from the caller's custom value. Returns the stored key and
 * its value, which is never available again. Throws 409 on a taken name, 422 at the key limit.
 */
export async function createProjectKey(
  deps: KeyServiceDeps,
  input: ProjectScope & { name: string; customKey?: string; actor: Actor; meta: RequestMeta },
): Promise<{ key: StoredKey; secret: string }> {
  const { customKey, ...rest } = input;
  const secret = customKey ?? generateKey('project');
  try {
    const key = await insertNewKey(deps, {
      ...rest,
      id: crypto.randomUUID(),
      kind: 'project',
      clientId: null,
      permissions: PROJECT_KEY_PERMISSIONS,
      secret,
    });
    return { key, secret };
  } catch (err) {
    if (isUniqueViolation(err)) throw uniqueViolationError(err, input.name);
    throw err;
  }
}

/** Up to `limit` of a project's keys older than `beforeSeq`, newest first. */
export function listProjectKeys(
  deps: KeyServiceDeps,
  query: ProjectScope & { status: KeyStatus | null; limit: number; beforeSeq: number | null },
): Promise<StoredKey[]> {
  return fromD1(() => listProjectKeyRows(deps.db, query));
}

/** One key of the project; throws APIKEY_NOT_FOUND for unknown and foreign ids alike. */
export async function getProjectKey(deps: KeyServiceDeps, scope: ProjectScope, keyId: string): Promise<StoredKey> {
  const key = await fromD1(() => findProjectKey(deps.db, scope.organizationId, scope.projectId, keyId));
  if (!key) throw keyNotFound();
  return key;
}

/**
 * Renames a key and/or sets its status. Each actual change writes one audit entry ('updated' for
 * the name, 'revoked' or 'reactivated' for the status); the key's cache entry is evicted.
 */
export async function updateProjectKey(
  deps: KeyServiceDeps,
  input: ProjectScope & { keyId: string; name?: string; status?: KeyStatus; actor: Actor; meta: RequestMeta },
): Promise<StoredKey> {
  const key = await getProjectKey(deps, input, input.keyId);
  const name = input.name !== undefined && input.name !== key.name ? input.name : null;
  const status = input.status !== undefined && input.status !== key.status ? input.status : null;
  if (name === null && status === null) return key;

  const now = new Date().toISOString();
  const audits: AuditEntryInput[] = [];
  if (name !== null) audits.push(auditEntry(key, 'updated', input.actor, input.meta, now));
  if (status !== null) audits.push(auditEntry(key, status === 'revoked' ? 'revoked' : 'reactivated', input.actor, input.meta, now));

  let changed: boolean;
  try {
    changed = await fromD1(() =>
      updateProjectKeyRow(
        deps.db,
        { ...input, keyId: key.id, expectedStatus: key.status, name, status, now, defaultLimit: deps.config.defaultKeyLimit },
        audits,
      ),
    );
  } catch (err) {
    if (isUniqueViolation(err)) throw uniqueViolationError(err, name ?? key.name);
    throw err;
  }
  if (!changed) {
    if (status === 'active') await throwLimitReached(deps, input.organizationId);
    // Changed by a concurrent request between our read and write: answer with what is stored now.
    return getProjectKey(deps, input, key.id);
  }
  await evictCachedKey(deps, key.secretHash);
  return {
    ...key,
    name: name ?? key.name,
    status: status ?? key.status,
    updatedAt: now,
    revokedAt: status === 'revoked' ? now : status === 'active' ? null : key.revokedAt,
  };
}

/** Deletes a key for good (its audit entries stay) and evicts its cache entry. */
export async function deleteProjectKey(
  deps: KeyServiceDeps,
  input: ProjectScope & { keyId: string; actor: Actor; meta: RequestMeta },
): Promise<void> {
  const key = await getProjectKey(deps, input, input.keyId);
  const now = new Date().toISOString();
  const deleted = await fromD1(() =>
    deleteProjectKeyRow(deps.db, input.organizationId, input.projectId, key.id, auditEntry(key, 'deleted', input.actor, input.meta, now)),
  );
  if (!deleted) throw keyNotFound();
  await evictCachedKey(deps, key.secretHash);
}
