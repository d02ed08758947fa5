// Acting on a verified secret scanning report: which reported tokens are Keygate keys, the leak
// recorded on each (and the key revoked, as LEAKED_*_KEY_ACTION say), its cache entries evicted,
// and the answer GitHub expects: a label per reported token.
import type { Actor } from '../auth/principal';
import type { StoredKey } from '../db/api-keys';
import { fromD1 } from '../db/errors';
import { findKeysBySecretHashes, type Leak, recordLeaks } from '../db/leaks';
import { ApiError } from '../errors';
import { sha256Hex } from '../keys/hash';
import type { KeyServiceDeps, RequestMeta } from '../keys/types';
import { auditEntry, changeKey } from '../keys/writes';

/** One match of a report: the token found, the name of the pattern it matched, and where (null: not said). */
export type ReportedToken = { token: string; type: string; url: string | null };

/** GitHub's answer format: the token's SHA-256 (never the token), its type, and whether it is one of ours. */
export type TokenLabel = { token_hash: string; token_type: string; label: 'true_positive' | 'false_positive' };

/** GitHub's scanner, as the audit log names it. */
export const GITHUB_SCANNER: Actor = { type: 'scanner', id: 'github', label: 'github' };

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * The matches of a report's raw body: a JSON array whose entries are objects with a string
 * `token` (`type` and `url` are read when they are strings); other entries are skipped, as they
 * report no token. Throws VALIDATION_ERROR when the body is not JSON or not an array.
 */
export function parseReport(body: ArrayBuffer): ReportedToken[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(body));
  } catch {
    throw new ApiError('VALIDATION_ERROR', 'request body is not valid JSON');
  }
  if (!Array.isArray(parsed)) {
    throw new ApiError('VALIDATION_ERROR', 'invalid request body', [{ field: '', message: 'must be an array of secret scanning matches' }]);
  }
  return parsed.flatMap((entry: unknown) => {
    if (typeof entry !== 'object' || entry === null || typeof (entry as { token?: unknown }).token !== 'string') return [];
    const { token, type, url } = entry as { token: string; type?: unknown; url?: unknown };
    return [{ token, type: typeof type === 'string' ? type : '', url: typeof url === 'string' && url !== '' ? url : null }];
  });
}

/**
 * Labels every reported token and records a leak on each Keygate key among them (any status: a
 * revoked key's leak is recorded too), revoking organization secrets and project keys as
 * configured, with a 'leaked' audit entry per change. A key reported again changes only when it
 * is still to be revoked. Storage failures throw (503).
 */
export async function actOnReport(
  deps: KeyServiceDeps,
  reported: readonly ReportedToken[],
  meta: RequestMeta,
  scanner: Actor = GITHUB_SCANNER,
): Promise<TokenLabel[]> {
  const hashes = await Promise.all(reported.map((r) => sha256Hex(r.token)));
  const unique = [...new Set(hashes)];
  const keys = unique.length === 0 ? [] : await fromD1(() => findKeysBySecretHashes(deps.db, unique));
  const keyByHash = new Map(keys.map((key) => [key.secretHash, key]));

  const now = new Date().toISOString();
  const leaks: Array<{ key: StoredKey; leak: Leak }> = [];
  const seen = new Set<string>();
  reported.forEach((match, i) => {
    const key = keyByHash.get(hashes[i] ?? '');
    if (!key || seen.has(key.id)) return;
    seen.add(key.id);
    const action = key.kind === 'org' ? deps.config.leakedOrgKeyAction : deps.config.leakedProjectKeyAction;
    const revoke = action === 'revoke';
    if (key.leakedAt !== null && !(revoke && key.status === 'active')) return;
    leaks.push({ key, leak: { keyId: key.id, source: match.url, revoke, audit: auditEntry(key, 'leaked', scanner, meta, now) } });
  });
  if (leaks.length > 0) await recordAndEvict(deps, leaks, now);

  return reported.map((match, i) => {
    const hash = hashes[i] ?? '';
    return { token_hash: hash, token_type: match.type, label: keyByHash.has(hash) ? 'true_positive' : 'false_positive' };
  });
}

/**
 * Writes the leaks, evicting every key's cache entries before and after the write (changeKey).
 * One write serves all keys: each changeKey call drops its key from this isolate before it awaits
 * the shared write, so all of them are dropped before the write can finish.
 */
async function recordAndEvict(deps: KeyServiceDeps, leaks: ReadonlyArray<{ key: StoredKey; leak: Leak }>, now: string): Promise<void> {
  let written: Promise<boolean[]> | null = null;
  const write = () => {
    written ??= fromD1(() =>
      recordLeaks(
        deps.db,
        leaks.map((l) => l.leak),
        now,
      ),
    );
    return written;
  };
  const outcomes = await Promise.allSettled(leaks.map(({ key }) => changeKey(deps, key.secretHash, write)));
  const failure = outcomes.find((outcome) => outcome.status === 'rejected');
  if (failure) throw failure.reason;
  const changed = await write();
  leaks.forEach(({ key, leak }, i) => {
    if (!changed[i]) return;
    // Ids only, never a secret or its hash.
    const done = leak.revoke && key.status === 'active' ? 'revoked' : 'flagged';
    console.warn(`secret scanning: ${key.kind} key ${key.id} of ${key.organizationId} reported leaked by ${leak.audit.actorId}, ${done}`);
  });
}
