// Rolling a key: a new secret now, the old one working until the end of a grace period (0: it
// stops at once). The new key inherits the old one's permissions, budget and expiry policy (the
// same lifetime, from now); organization keys get a new client ID (a pair stays unique), project
// keys keep their name (the old key is renamed "<name> (rolled <time>)", names being unique in a
// project). Both keys are audited ('rolled', 'created') and linked (rolledTo / rolledFrom).
import type { Actor } from '../auth/principal';
import { type NewKey, rollKey, type StoredKey } from '../db/api-keys';
import { fromD1 } from '../db/errors';
import { inheritedExpiry, isExpired } from './expiry';
import { generateKey, lastFour, randomBase62 } from './format';
import { sha256Hex } from './hash';
import { missingScope } from './scopes';
import type { ChangeResult, KeyServiceDeps, RequestMeta } from './types';
import { auditEntry, changeKey, storedKeyOf } from './writes';

/** Longest grace of an organization key's roll (7 days) and of a project key's (90 days: apps in stores update slowly). */
export const MAX_ROLL_GRACE_SECONDS = { org: 604_800, project: 7_776_000 } as const;

export type RollInput = {
  /** The key to roll, found in any state (a revoked, expired or rolled one is refused). */
  old: StoredKey;
  graceSeconds: number;
  actor: Actor;
  /** The permissions of the organization key asking (null: an admin JWT): it cannot roll a key holding more. */
  callerPermissions: readonly string[] | null;
  meta: RequestMeta;
};

/** The name the old project key takes: the new one keeps the name, unique in its project. */
function retiredName(name: string, now: string): string {
  const suffix = ` (rolled ${now.slice(0, 19)}Z)`;
  return `${[...name].slice(0, 100 - suffix.length).join('')}${suffix}`;
}

/**
 * Rolls `old`: the new key and its secret (shown once), or why not: not_rollable (revoked,
 * expired, already rolled, also when a concurrent request got there first), forbidden (the
 * caller's key lacks a permission the key holds).
 */
export async function rollKeyWithGrace(
  deps: KeyServiceDeps,
  input: RollInput,
): Promise<ChangeResult<{ key: StoredKey; secret: string; old: StoredKey }>> {
  const { old } = input;
  const nowMs = Date.now();
  if (old.status === 'revoked') return { ok: false, reason: 'not_rollable', why: 'revoked' };
  if (old.rolledTo !== null) return { ok: false, reason: 'not_rollable', why: 'rolled' };
  if (isExpired(old.expiresAt, nowMs)) return { ok: false, reason: 'not_rollable', why: 'expired' };
  if (input.callerPermissions !== null) {
    const missing = missingScope(input.callerPermissions, old.permissions);
    if (missing) return { ok: false, reason: 'forbidden', scope: missing };
  }
  const now = new Date(nowMs).toISOString();
  const graceEnd = new Date(nowMs + input.graceSeconds * 1000).toISOString();
  // The grace never lengthens a key's life.
  const oldExpiresAt = old.expiresAt !== null && old.expiresAt < graceEnd ? old.expiresAt : graceEnd;
  const secret = generateKey(old.kind === 'org' ? 'orgSecret' : 'project');
  const common = {
    organizationId: old.organizationId,
    name: old.name,
    secretHash: await sha256Hex(secret),
    keyLastFour: lastFour(secret),
    permissions: old.permissions,
    createdBy: input.actor.label,
    createdAt: now,
    rateLimit: old.rateLimit,
    expiresAt: inheritedExpiry(old, nowMs, deps.config.maxKeyLifetimeSeconds),
    rolledFrom: old.id,
  };
  const fresh: NewKey =
    old.kind === 'org'
      ? { ...common, id: `key_${randomBase62(24)}`, kind: 'org', projectId: null, clientId: generateKey('clientId') }
      : { ...common, id: crypto.randomUUID(), kind: 'project', projectId: old.projectId, clientId: null };
  const oldName = old.kind === 'project' ? retiredName(old.name, now) : old.name;
  const outcome = await changeKey(deps, old.secretHash, () =>
    fromD1(() =>
      rollKey(deps.db, { old, oldName, oldExpiresAt, now }, fresh, {
        rolled: auditEntry({ ...old, name: oldName }, 'rolled', input.actor, input.meta, now),
        created: auditEntry(fresh, 'created', input.actor, input.meta, now),
      }),
    ),
  );
  if (outcome === 'not_applied' || outcome === 'name') return { ok: false, reason: 'not_rollable', why: 'rolled' };
  if (outcome === 'value') return { ok: false, reason: 'conflict' };
  const key = storedKeyOf(fresh);
  return { ok: true, value: { key, secret, old: { ...old, name: oldName, expiresAt: oldExpiresAt, rolledTo: fresh.id, updatedAt: now } } };
}
