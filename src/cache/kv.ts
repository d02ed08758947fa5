// The KV cache: one typed namespace of verified key records by secret hash. Every entry is
// written with an expirationTtl (the revocation window) and deleted by the write paths that
// make it stale (revoke, delete, update of a key).
import type { KeyKind } from '../auth/principal';

/** What verification needs of an active key; never the secret or anything a client could not see. */
export type VerifiedKey = {
  id: string;
  kind: KeyKind;
  organizationId: string;
  projectId: string | null;
  clientId: string | null;
  permissions: string[];
};

const VERSION = 'v1';

export const cacheKeys = {
  /** The verified record of the active key whose secret hashes to `hash`. */
  verifiedKey: (hash: string) => `key:${VERSION}:${hash}`,
} as const;

/** The cached record for a secret hash, or null on a miss or any KV failure (D1 decides then). */
export async function getCachedKey(kv: KVNamespace, hash: string): Promise<VerifiedKey | null> {
  try {
    return await kv.get<VerifiedKey>(cacheKeys.verifiedKey(hash), 'json');
  } catch {
    return null;
  }
}

export function putCachedKey(kv: KVNamespace, hash: string, key: VerifiedKey, ttlSeconds: number): Promise<void> {
  return kv.put(cacheKeys.verifiedKey(hash), JSON.stringify(key), { expirationTtl: ttlSeconds });
}

export function deleteCachedKey(kv: KVNamespace, hash: string): Promise<void> {
  return kv.delete(cacheKeys.verifiedKey(hash));
}
