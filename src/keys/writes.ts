// What every key change shares: its audit entry, inserting a key within the organization's
// limit, and evicting a changed key from this isolate and from KV so that no cache outlives it.
import type { Actor } from '../auth/principal';
import { isolateTierOf } from '../cache/isolate';
import { deleteCachedKey, logKvFailure } from '../cache/kv';
import { insertKeyWithinLimit, type NewKey, type StoredKey } from '../db/api-keys';
import type { AuditAction, AuditEntryInput } from '../db/audit';
import { fromD1 } from '../db/errors';
import { getKeyLimit } from '../db/organizations';
import type { Config } from '../env';
import { lastFour } from './format';
import { sha256Hex } from './hash';
import type { ChangeFailure, ChangeResult, KeyServiceDeps, RequestMeta } from './types';

/** The audit entry of a change to `key`, as the key is after the change (its name, for a rename). */
export function auditEntry(
  key: Pick<StoredKey, 'id' | 'kind' | 'organizationId' | 'projectId' | 'name'>,
  action: AuditAction,
  actor: Actor,
  meta: RequestMeta,
  now: string,
): AuditEntryInput {
  return {
    organizationId: key.organizationId,
    projectId: key.projectId,
    keyId: key.id,
    keyName: key.name,
    keyKind: key.kind,
    action,
    actorType: actor.type,
    actorId: actor.id,
    ip: meta.ip,
    userAgent: meta.userAgent,
    createdAt: now,
  };
}

/** The failure that names the organization's key limit. */
export async function limitReached(deps: KeyServiceDeps, organizationId: string): Promise<ChangeFailure> {
  const limit = await fromD1(() => getKeyLimit(deps.db, organizationId, deps.config.defaultKeyLimit));
  return { ok: false, reason: 'limit_reached', limit };
}

/** A new key as it is once stored: active, never used, revoked, rolled or reported. */
export function storedKeyOf(key: NewKey): StoredKey {
  return {
    ...key,
    seq: 0,
    status: 'active',
    updatedAt: key.createdAt,
    revokedAt: null,
    lastUsedAt: null,
    rolledTo: null,
    leakedAt: null,
    leakSource: null,
  } as StoredKey;
}

/** What distinguishes a new key; the rest (hash, last four, times, status) is derived. */
export type NewKeyInput = Omit<NewKey, 'secretHash' | 'keyLastFour' | 'createdBy' | 'createdAt'> & {
  secret: string;
  actor: Actor;
  meta: RequestMeta;
};

/**
 * Stores a new key (its hash and last four, never the secret) with its 'created' audit entry,
 * within the organization's key limit. Fails with limit_reached, name_taken or value_taken.
 */
export async function insertNewKey<K extends StoredKey>(
  deps: KeyServiceDeps,
  input: NewKeyInput & Pick<K, 'kind'>,
): Promise<ChangeResult<K>> {
  const now = new Date().toISOString();
  const { secret, actor, meta, ...fields } = input;
  const key = storedKeyOf({
    ...fields,
    secretHash: await sha256Hex(secret),
    keyLastFour: lastFour(secret),
    createdBy: actor.label,
    createdAt: now,
  } as NewKey) as K;
  const outcome = await fromD1(() =>
    insertKeyWithinLimit(deps.db, key, deps.config.defaultKeyLimit, auditEntry(key, 'created', actor, meta, now)),
  );
  if (outcome === 'limit_reached') return limitReached(deps, key.organizationId);
  if (outcome === 'name') return { ok: false, reason: 'name_taken', name: key.name };
  if (outcome === 'value') return { ok: false, reason: 'value_taken' };
  // A custom key may have been tried (and remembered as unknown) here before it existed. (KV
  // holds no entry for a hash D1 never had, so there is nothing to distrust.)
  isolateTierOf(deps.config).unknown.delete(key.secretHash);
  return { ok: true, value: key };
}

/** How long this isolate distrusts KV for a key it changed: two KV TTLs, past any entry a racing fill made. */
function distrustMs(config: Config): number {
  return 2 * config.keyCacheTtlSeconds * 1000;
}

/**
 * Drops what this isolate remembers of a hash, as a valid key or as an unknown one, records the
 * eviction (so a load already in flight caches nothing) and distrusts KV for the hash.
 */
function forgetInIsolate(deps: KeyServiceDeps, secretHash: string): void {
  const tier = isolateTierOf(deps.config);
  tier.keys.delete(secretHash);
  tier.unknown.delete(secretHash);
  tier.evictions.record(secretHash);
  tier.distrusted.set(secretHash, true, distrustMs(deps.config));
}

/** Attempts at deleting a KV entry before the failure is left to the KV TTL. */
const KV_DELETE_ATTEMPTS = 2;

/**
 * Deletes a key's cache entries: this isolate's at once, KV's before returning (tried twice). A
 * KV failure is logged and does not undo the change: this isolate distrusts KV for the key
 * (forgetInIsolate), and elsewhere the entry expires within the KV TTL, the documented window.
 */
export async function evictCachedKey(deps: KeyServiceDeps, secretHash: string): Promise<void> {
  forgetInIsolate(deps, secretHash);
  for (let attempt = 1; attempt <= KV_DELETE_ATTEMPTS; attempt++) {
    try {
      await deleteCachedKey(deps.kv, secretHash, deps.config.storageTimeoutMs);
      return;
    } catch (err) {
      if (attempt === KV_DELETE_ATTEMPTS) logKvFailure('delete', err);
    }
  }
}

/**
 * Runs a D1 write that changes (revokes, updates, deletes) the key of `secretHash`, with the
 * key's cache entries evicted before and after it: before, so that while the write is in flight
 * this isolate already asks D1 alone; after, whether the write succeeded, failed or timed out
 * (it may still commit), so nothing this isolate read meanwhile outlives the change.
 */
export async function changeKey<T>(deps: KeyServiceDeps, secretHash: string, write: () => Promise<T>): Promise<T> {
  forgetInIsolate(deps, secretHash);
  try {
    return await write();
  } finally {
    await evictCachedKey(deps, secretHash);
  }
}
