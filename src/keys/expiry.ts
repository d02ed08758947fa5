// Key expiry as asked at creation: `expiresIn` seconds (at least 60) or an `expiresAt` time in the
// future, not both, within MAX_KEY_LIFETIME_SECONDS. An expired key is refused like an unknown
// one from its expiry millisecond on, in every tier (src/keys/verify.ts), and no longer counts
// against the key limit.
import type { ChangeFailure } from './types';

/** Shortest lifetime a key may be given. */
export const MIN_KEY_LIFETIME_SECONDS = 60;

export type ExpiryInput = { expiresIn?: number; expiresAt?: string };

/** The expiry time (ISO 8601) a creation asks for, null for never, or why it cannot be had. */
export function expiryOf(
  input: ExpiryInput,
  now: number,
  maxLifetimeSeconds: number,
): { ok: true; expiresAt: string | null } | ChangeFailure {
  if (input.expiresIn !== undefined && input.expiresAt !== undefined) {
    return invalid('expiresIn', 'give expiresIn or expiresAt, not both');
  }
  if (input.expiresIn !== undefined) {
    if (input.expiresIn > maxLifetimeSeconds)
      return invalid('expiresIn', `must be at most ${maxLifetimeSeconds} seconds (MAX_KEY_LIFETIME_SECONDS)`);
    return { ok: true, expiresAt: new Date(now + input.expiresIn * 1000).toISOString() };
  }
  if (input.expiresAt !== undefined) {
    const at = Date.parse(input.expiresAt);
    if (at <= now) return invalid('expiresAt', 'must be in the future');
    if (at > now + maxLifetimeSeconds * 1000) {
      return invalid('expiresAt', `must be at most ${maxLifetimeSeconds} seconds from now (MAX_KEY_LIFETIME_SECONDS)`);
    }
    return { ok: true, expiresAt: new Date(at).toISOString() };
  }
  return { ok: true, expiresAt: null };
}

/**
 * The expiry of a key that replaces `old` in a roll: the same lifetime from now (never, for a
 * key that never expired), within the maximum.
 */
export function inheritedExpiry(
  old: { createdAt: string; expiresAt: string | null },
  now: number,
  maxLifetimeSeconds: number,
): string | null {
  if (old.expiresAt === null) return null;
  const lifetime = Math.min(Date.parse(old.expiresAt) - Date.parse(old.createdAt), maxLifetimeSeconds * 1000);
  return new Date(now + Math.max(lifetime, MIN_KEY_LIFETIME_SECONDS * 1000)).toISOString();
}

/** Whether a key with this expiry no longer works at `now` (ms since the epoch). */
export function isExpired(expiresAt: string | null | undefined, now: number): boolean {
  return expiresAt !== null && expiresAt !== undefined && Date.parse(expiresAt) <= now;
}

function invalid(field: string, message: string): ChangeFailure {
  return { ok: false, reason: 'invalid', field, message };
}
