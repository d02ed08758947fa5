// The key service: creating, verifying and revoking keys over D1 (truth) and KV (cache).
// Expected failures are returned as values; only storage outages and limits throw ApiErrors.
import type { Actor } from '../auth/principal';
import { isolateTierOf } from '../cache/isolate';
import { deleteCachedKey, getCachedKey, putCachedKey, type VerifiedKey } from '../cache/kv';
import type { AuditAction, AuditEntryInput } from '../db/audit';
import { findActiveKeyByHash, findActiveOrgKey, insertKeyWithinLimit, listActiveOrgKeys, renameActiveKey, setKeyStatus, touchLastUsed, type StoredKey } from '../db/api-keys';
import { getKeyLimit } from '../db/organizations';
import type { Config } from '../env';
import { ApiError } from '../errors';
import { generateKey, isWellFormedKey, isWellFormedProjectKey, lastFour, randomBase62 } from './format';
import { sha256Hex, timingSafeEqualString } from './hash';

export type KeyServiceDeps = {
  db: D1Database;
  kv: KVNamespace;
  config: Config;
  /** Runs work after the response (ExecutionContext.waitUntil). */
  waitUntil: (promise: Promise<unknown>) => void;
};

/** Where a change came from, for the audit log. */
export type RequestMeta = { ip: string | null; userAgent: string | null };

export type VerifyFailure = 'missing' | 'malformed' | 'unknown' | 'client_id_mismatch' | 'wrong_kind';
export type VerifyResult = { ok: true; key: VerifiedKey } | { ok: false; reason: VerifyFailure };

/** Permissions every new project key holds. */
export const PROJECT_KEY_PERMISSIONS = ['content.read', 'packages.read', 'assets.read'];
/** An organization key may do everything its organization may. */
export const ORG_KEY_PERMISSIONS = ['*'];

/** lastUsedAt is written at most this often per key. */
export const LAST_USED_INTERVAL_MS = 60_000;

/**
 * Runs a D1 operation; any failure to reach D1 becomes a 503 so that a key is never accepted
 * (or a change reported) without the database having answered. Fails closed.
 */
export async function fromD1<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (err) {
    if (err instanceof ApiError) throw err;
    if (isUniqueViolation(err)) throw err;
    console.error(`D1 unavailable: ${err instanceof Error ? err.name : 'error'}`);
    throw new ApiError('SERVICE_UNAVAILABLE', 'service temporarily unavailable');
  }
}

export function isUniqueViolation(err: unknown): boolean {
  return err instanceof Error && /UNIQUE constraint failed/i.test(err.message);
}

function toVerified(key: StoredKey): VerifiedKey {
  return {
    id: key.id,
    kind: key.kind,
    organizationId: key.organizationId,
    projectId: key.projectId,
    clientId: key.clientId,
    permissions: key.permissions,
  };
}

/**
 * The active key for a secret hash (null: no such active key). The isolate tier first, then KV,
 * then D1; concurrent misses of one hash share a single KV/D1 read. Found keys fill the isolate
 * tier and, after the response, KV; unknown hashes are remembered in the isolate tier briefly.
 */
async function lookupByHash(deps: KeyServiceDeps, hash: string): Promise<VerifiedKey | null> {
  const tier = isolateTierOf(deps.config);
  const remembered = tier.keys.get(hash);
  if (remembered) return remembered;
  if (tier.unknown.get(hash)) return null;
  return tier.loads.load(hash, async () => {
    // A change handled by this isolate while we read (revoke, delete, update) must win over what
    // we read: remember where the eviction count stood, and cache nothing evicted since.
    const since = tier.evictions.count;
    // A key this isolate changed lately may have a stale KV entry (its delete failed, or a
    // racing fill re-created it): D1 alone answers for it until that entry has surely expired.
    const cached = tier.distrusted.get(hash) ? null : await getCachedKey(deps.kv, hash, deps.config.storageTimeoutMs);
    if (cached) {
      if (!tier.evictions.since(hash, since)) tier.keys.set(hash, cached, deps.config.isolateCacheTtlMs);
      return cached;
    }
    const stored = await fromD1(() => findActiveKeyByHash(deps.db, hash));
    if (!stored) {
      tier.unknown.set(hash, true, deps.config.unknownKeyTtlMs);
      return null;
    }
    const verified = toVerified(stored);
    if (tier.evictions.since(hash, since)) return verified;
    tier.keys.set(hash, verified, deps.config.isolateCacheTtlMs);
    deps.waitUntil(fillCache(deps, hash, verified, since).catch(logCacheFailure));
    return verified;
  });
}

/**
 * Caches a verified record in KV after the response. A change this isolate handled while the
 * write was in flight found nothing in KV to evict yet, so the entry is deleted again here.
 * (Changes handled by other isolates are bounded by the documented revocation window.)
 */
async function fillCache(deps: KeyServiceDeps, hash: string, verified: VerifiedKey, since: number): Promise<void> {
  await putCachedKey(deps.kv, hash, verified, deps.config.keyCacheTtlSeconds, deps.config.storageTimeoutMs);
  if (isolateTierOf(deps.config).evictions.since(hash, since)) await deleteCachedKey(deps.kv, hash, deps.config.storageTimeoutMs);
}

function logCacheFailure(err: unknown): void {
  console.error(`KV write failed: ${err instanceof Error ? err.name : 'error'}`);
}

/**
 * Records a use of the key after the response has been sent: at most once a minute per key, and
 * the keys used within a quarter second written in one batch. The time stored is the time of
 * use (now), never the time of the write, and never a time after the key stopped working.
 */
function recordUse(deps: KeyServiceDeps, keyId: string): void {
  const tier = isolateTierOf(deps.config);
  if (tier.touched.get(keyId)) return;
  tier.touched.set(keyId, true, LAST_USED_INTERVAL_MS);
  deps.waitUntil(
    tier.uses.add({ keyId, usedAt: new Date().toISOString() }, (uses) =>
      touchLastUsed(deps.db, uses, new Date(), LAST_USED_INTERVAL_MS).catch((err: unknown) => {
        console.error(`lastUsed write failed: ${err instanceof Error ? err.name : 'error'}`);
      }),
    ),
  );
}

/**
 * Verifies an organization key pair. The secret is checked by format and checksum before any
 * storage is read; the client ID is compared in constant time.
 */
export async function verifyKeyPair(
  deps: KeyServiceDeps,
  clientId: string | undefined,
  secret: string | undefined,
): Promise<VerifyResult> {
  if (!clientId || !secret) return { ok: false, reason: 'missing' };
  if (!isWellFormedKey(secret, 'orgSecret') || !isWellFormedKey(clientId, 'clientId')) {
    return { ok: false, reason: 'malformed' };
  }
  const key = await lookupByHash(deps, await sha256Hex(secret));
  if (!key) return { ok: false, reason: 'unknown' };
  if (key.kind !== 'org') return { ok: false, reason: 'wrong_kind' };
  if (!timingSafeEqualString(key.clientId ?? '', clientId)) return { ok: false, reason: 'client_id_mismatch' };
  recordUse(deps, key.id);
  return { ok: true, key };
}

/** Verifies a project key (x-api-key); format first, then cache and D1. */
export async function verifyProjectKey(deps: KeyServiceDeps, apiKey: string | undefined): Promise<VerifyResult> {
  if (!apiKey) return { ok: false, reason: 'missing' };
  if (!isWellFormedProjectKey(apiKey)) return { ok: false, reason: 'malformed' };
  const key = await lookupByHash(deps, await sha256Hex(apiKey));
  if (!key) return { ok: false, reason: 'unknown' };
  if (key.kind !== 'project') return { ok: false, reason: 'wrong_kind' };
  recordUse(deps, key.id);
  return { ok: true, key };
}

export function auditEntry(
  key: Pick<StoredKey, 'id' | 'kind' | 'organizationId' | 'projectId'>,
  action: AuditAction,
  actor: Actor,
  meta: RequestMeta,
  now: string,
): AuditEntryInput {
  return {
    organizationId: key.organizationId,
    projectId: key.projectId,
    keyId: key.id,
    keyKind: key.kind,
    action,
    actorType: actor.type,
    actorId: actor.id,
    ip: meta.ip,
    userAgent: meta.userAgent,
    createdAt: now,
  };
}

/** Throws the 422 that names the organization's limit. */
export async function throwLimitReached(deps: KeyServiceDeps, organizationId: string): Promise<never> {
  const limit = await fromD1(() => getKeyLimit(deps.db, organizationId, deps.config.defaultKeyLimit));
  throw new ApiError(
    'KEY_LIMIT_REACHED',
    `key limit reached: this organization's plan allows ${limit} active keys; delete unused keys to create new ones`,
    { limit },
  );
}

/** What distinguishes a new key; the rest (hash, last four, times, status) is derived. */
export type NewKeyInput = Pick<StoredKey, 'id' | 'kind' | 'organizationId' | 'projectId' | 'name' | 'clientId' | 'permissions'> & {
  secret: string;
  actor: Actor;
  meta: RequestMeta;
};

/**
 * Stores a new key (its hash and last four, never the secret) with its 'created' audit entry,
 * within the organization's key limit. Throws KEY_LIMIT_REACHED (422) at the limit; lets a unique
 * violation through for the caller to name.
 */
export async function insertNewKey(deps: KeyServiceDeps, input: NewKeyInput): Promise<StoredKey> {
  const now = new Date().toISOString();
  const { secret, actor, meta } = input;
  const key: StoredKey = {
    id: input.id,
    kind: input.kind,
    organizationId: input.organizationId,
    projectId: input.projectId,
    name: input.name,
    clientId: input.clientId,
    permissions: input.permissions,
    seq: 0,
    secretHash: await sha256Hex(secret),
    keyLastFour: lastFour(secret),
    status: 'active',
    createdBy: actor.label,
    createdAt: now,
    updatedAt: now,
    revokedAt: null,
    lastUsedAt: null,
  };
  const inserted = await fromD1(() =>
    insertKeyWithinLimit(deps.db, key, deps.config.defaultKeyLimit, auditEntry(key, 'created', actor, meta, now)),
  );
  if (!inserted) await throwLimitReached(deps, input.organizationId);
  // A custom key may have been tried (and remembered as unknown) here before it existed. (KV
  // holds no entry for a hash D1 never had, so there is nothing to distrust.)
  isolateTierOf(deps.config).unknown.delete(key.secretHash);
  return key;
}

/**
 * Creates an organization key pair. Returns the stored key and its secret, which is never
 * available again. Throws KEY_LIMIT_REACHED (422) when the organization is at its limit.
 */
export async function createOrgKey(
  deps: KeyServiceDeps,
  input: { organizationId: string; name: string; actor: Actor; meta: RequestMeta },
): Promise<{ key: StoredKey; secret: string }> {
  const secret = generateKey('orgSecret');
  const key = await insertNewKey(deps, {
    ...input,
    id: `key_${randomBase62(24)}`,
    kind: 'org',
    projectId: null,
    clientId: generateKey('clientId'),
    permissions: ORG_KEY_PERMISSIONS,
    secret,
  });
  return { key, secret };
}

/** The organization's active organization keys, newest first. */
export function listOrgKeys(deps: KeyServiceDeps, organizationId: string): Promise<StoredKey[]> {
  return fromD1(() => listActiveOrgKeys(deps.db, organizationId));
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
      if (attempt === KV_DELETE_ATTEMPTS) logCacheFailure(err);
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

/**
 * Revokes an active organization key of this organization, by id or client ID, and evicts its
 * cache entry. Returns null when there is no such active key (unknown, foreign or revoked).
 */
export async function revokeOrgKey(
  deps: KeyServiceDeps,
  input: { organizationId: string; idOrClientId: string; actor: Actor; meta: RequestMeta },
): Promise<StoredKey | null> {
  const key = await fromD1(() => findActiveOrgKey(deps.db, input.organizationId, input.idOrClientId));
  if (!key) return null;
  const now = new Date().toISOString();
  const changed = await changeKey(deps, key.secretHash, () =>
    fromD1(() => setKeyStatus(deps.db, input.organizationId, key.id, 'revoked', now, auditEntry(key, 'revoked', input.actor, input.meta, now))),
  );
  if (!changed) return null;
  return { ...key, status: 'revoked', revokedAt: now, updatedAt: now };
}

/**
 * Updates an active organization key of this organization, by id or client ID: today its name
 * (audited as 'updated'; nothing asked or nothing different changes nothing). Returns null when
 * there is no such active key (unknown, foreign or revoked). The name is not part of what
 * verification caches, so no cache entry changes.
 */
export async function updateOrgKey(
  deps: KeyServiceDeps,
  input: { organizationId: string; idOrClientId: string; name?: string; actor: Actor; meta: RequestMeta },
): Promise<StoredKey | null> {
  const key = await fromD1(() => findActiveOrgKey(deps.db, input.organizationId, input.idOrClientId));
  if (!key) return null;
  if (input.name === undefined || key.name === input.name) return key;
  const name = input.name;
  const now = new Date().toISOString();
  const renamed = await fromD1(() =>
    renameActiveKey(deps.db, input.organizationId, key.id, name, now, auditEntry(key, 'updated', input.actor, input.meta, now)),
  );
  return renamed ? { ...key, name, updatedAt: now } : null;
}
