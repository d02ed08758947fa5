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
 * A cached record: the verified key, and the position of the key change feed its D1 read saw
 * (src/cache/feed.ts; null for records written without one).
 */
export type CachedRecord = { key: VerifiedKey; feedPosition: number | null };

/**
 * The cached record for a secret hash, or null on a miss, any KV failure or no answer within
 * `timeoutMs` (D1 decides then).
 */
export async function getCachedRecord(kv: KVNamespace, hash: string, timeoutMs: number): Promise<CachedRecord | null> {
  try {
    const stored = await withDeadline(kv.get<VerifiedKey & { feedPosition?: unknown }>(cacheKeys.verifiedKey(hash), 'json'), timeoutMs);
    if (!stored) return null;
    const { feedPosition, ...key } = stored;
    return { key: key as VerifiedKey, feedPosition: typeof feedPosition === 'number' ? feedPosition : null };
  } catch {
    return null;
  }
}

/** The cached key for a secret hash (without its feed position), or null as getCachedRecord. */
export async function getCachedKey(kv: KVNamespace, hash: string, timeoutMs: number): Promise<VerifiedKey | null> {
  return (await getCachedRecord(kv, hash, timeoutMs))?.key ?? null;
}

/** Caches a verified record for `ttlSeconds`; rejects on a KV failure or after `timeoutMs`. */
export function putCachedKey(
  kv: KVNamespace,
  hash: string,
  key: VerifiedKey,
  ttlSeconds: number,
  timeoutMs: number,
  feedPosition: number | null = null,
): Promise<void> {
  const value = JSON.stringify(feedPosition === null ? key : { ...key, feedPosition });
  return withDeadline(kv.put(cacheKeys.verifiedKey(hash), value, { expirationTtl: ttlSeconds }), timeoutMs);
}

/** Logs a failed KV call by its operation and the error's class only (never keys or values). */
export function logKvFailure(operation: 'write' | 'delete', err: unknown): void {
  console.error(`KV ${operation} failed: ${err instanceof Error ? err.name : 'error'}`);
}

/** Deletes a cached record; rejects on a KV failure or after `timeoutMs`. */
export function deleteCachedKey(kv: KVNamespace, hash: string, timeoutMs: number): Promise<void> {
  return withDeadline(kv.delete(cacheKeys.verifiedKey(hash)), timeoutMs);
}
