// The KV cache: one typed namespace of verified key records by secret hash. Every entry is
// written with an expirationTtl (the revocation window) and deleted by the write paths that
// make it stale (revoke, delete, update of a key).
import type { VerifiedKey } from '../keys/types';
import { withDeadline } from '../storage/deadline';

const VERSION = 'v1';

export const cacheKeys = {
  /** The verified record of the active key whose secret hashes to `hash`. */
  verifiedKey: (hash: string) => `key:${VERSION}:${hash}`,
} as const;

/**
 * The cached record for a secret hash, or null on a miss, any KV failure or no answer within
 * `timeoutMs` (D1 decides then).
 */
export async function getCachedKey(kv: KVNamespace, hash: string, timeoutMs: number): Promise<VerifiedKey | null> {
  try {
    return await withDeadline(kv.get<VerifiedKey>(cacheKeys.verifiedKey(hash), 'json'), timeoutMs);
  } catch {
    return null;
  }
}

/** Caches a verified record for `ttlSeconds`; rejects on a KV failure or after `timeoutMs`. */
export function putCachedKey(kv: KVNamespace, hash: string, key: VerifiedKey, ttlSeconds: number, timeoutMs: number): Promise<void> {
  return withDeadline(kv.put(cacheKeys.verifiedKey(hash), JSON.stringify(key), { expirationTtl: ttlSeconds }), timeoutMs);
}

/** Logs a failed KV call by its operation and the error's class only (never keys or values). */
export function logKvFailure(operation: 'write' | 'delete', err: unknown): void {
  console.error(`KV ${operation} failed: ${err instanceof Error ? err.name : 'error'}`);
}

/** Deletes a cached record; rejects on a KV failure or after `timeoutMs`. */
export function deleteCachedKey(kv: KVNamespace, hash: string, timeoutMs: number): Promise<void> {
  return withDeadline(kv.delete(cacheKeys.verifiedKey(hash)), timeoutMs);
}
