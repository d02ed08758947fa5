// Project keys (x-api-key) managed by admins: create, list, read, rename, revoke, reactivate and
// delete, each with its audit entry in the same batch and its cache entry evicted.
import type { Actor } from '../auth/principal';
import { deleteProjectKey as deleteProjectKeyRow, findProjectKey, listProjectsWithKeys, type ProjectKeyCounts, listProjectKeys as listProjectKeyRows, updateProjectKey as updateProjectKeyRow, type KeyStatus, type StoredKey } from '../db/api-keys';
import { ApiError } from '../errors';
import { generateKey } from './format';
import { auditEntry, changeKey, fromD1, insertNewKey, isUniqueViolation, PROJECT_KEY_PERMISSIONS, throwLimitReached, type KeyServiceDeps, type RequestMeta } from './service';
import type { AuditEntryInput } from '../db/audit';
import type { PagePosition } from '../db/page';

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

/** Up to `limit` of a project's keys after the cursor position `after`, newest first. */
export function listProjectKeys(
  deps: KeyServiceDeps,
  query: ProjectScope & { status: KeyStatus | null; limit: number; after: PagePosition | null },
): Promise<StoredKey[]> {
  return fromD1(() => listProjectKeyRows(deps.db, query));
}

/** The organization's projects that hold keys, with their active and revoked key counts. */
export function listProjects(deps: KeyServiceDeps, organizationId: string): Promise<ProjectKeyCounts[]> {
  return fromD1(() => listProjectsWithKeys(deps.db, organizationId));
}

/** One key of the project; throws APIKEY_NOT_FOUND for unknown and foreign ids alike. */
export async function getProjectKey(deps: KeyServiceDeps, scope: ProjectScope, keyId: string): Promise<StoredKey> {
  const key = await fromD1(() => findProjectKey(deps.db, scope.organizationId, scope.projectId, keyId));
  if (!key) throw keyNotFound();
  return key;
}

/** Times a change is re-applied against a key that concurrent requests keep changing, before 409. */
const UPDATE_ATTEMPTS = 5;

/**
 * Renames a key and/or sets its status. Each actual change writes one audit entry ('updated' for
 * the name, 'revoked' or 'reactivated' for the status); the key's cache entries are evicted.
 *
 * The write only applies to the state it was computed from (same status, same name). When a
 * concurrent request changed the key first, the change is computed again against the new state
 * and re-applied, so a 200 always means the asked-for name and status are stored. When the key
 * did not change but the write still did nothing, the key limit stopped a reactivation: 422.
 */
export async function updateProjectKey(
  deps: KeyServiceDeps,
  input: ProjectScope & { keyId: string; name?: string; status?: KeyStatus; actor: Actor; meta: RequestMeta },
): Promise<StoredKey> {
  let key = await getProjectKey(deps, input, input.keyId);
  for (let attempt = 0; attempt < UPDATE_ATTEMPTS; attempt++) {
    const name = input.name !== undefined && input.name !== key.name ? input.name : null;
    const status = input.status !== undefined && input.status !== key.status ? input.status : null;
    if (name === null && status === null) return key;

    const now = new Date().toISOString();
    const audits: AuditEntryInput[] = [];
    if (name !== null) audits.push(auditEntry(key, 'updated', input.actor, input.meta, now));
    if (status !== null) audits.push(auditEntry(key, status === 'revoked' ? 'revoked' : 'reactivated', input.actor, input.meta, now));

    const expected = key;
    let changed: boolean;
    try {
      changed = await changeKey(deps, key.secretHash, () =>
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
              now,
              defaultLimit: deps.config.defaultKeyLimit,
            },
            audits,
          ),
        ),
      );
    } catch (err) {
      if (isUniqueViolation(err)) throw uniqueViolationError(err, name ?? key.name);
      throw err;
    }
    if (changed) {
      return {
        ...key,
        name: name ?? key.name,
        status: status ?? key.status,
        updatedAt: now,
        revokedAt: status === 'revoked' ? now : status === 'active' ? null : key.revokedAt,
      };
    }
    const current = await fromD1(() => findProjectKey(deps.db, input.organizationId, input.projectId, expected.id));
    if (!current) throw keyNotFound();
    if (current.status === expected.status && current.name === expected.name) {
      // Nothing changed underneath, so only the limit clause can have stopped the write.
      if (status === 'active') await throwLimitReached(deps, input.organizationId);
      break;
    }
    key = current;
  }
  throw new ApiError('CONFLICT', 'the key was changed by concurrent requests; retry', { id: key.id });
}

/** Deletes a key for good (its audit entries stay) and evicts its cache entries. */
export async function deleteProjectKey(
  deps: KeyServiceDeps,
  input: ProjectScope & { keyId: string; actor: Actor; meta: RequestMeta },
): Promise<void> {
  const key = await getProjectKey(deps, input, input.keyId);
  const now = new Date().toISOString();
  const deleted = await changeKey(deps, key.secretHash, () =>
    fromD1(() =>
      deleteProjectKeyRow(deps.db, input.organizationId, input.projectId, key.id, auditEntry(key, 'deleted', input.actor, input.meta, now)),
    ),
  );
  if (!deleted) throw keyNotFound();
}
