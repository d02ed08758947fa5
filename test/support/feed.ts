// The key change feed's test helpers: keys written straight into D1 (the triggers see every
// write path alike), the feed's position, and a KeyFeed on a controlled clock.
import { env } from 'cloudflare:workers';
import { expect } from 'vitest';
import { KeyFeed } from '../../src/cache/feed';
import { insertKeyWithinLimit, type NewKey } from '../../src/db/api-keys';
import type { KeyChange } from '../../src/db/key-changes';
import { overriding } from './proxy';

export function newKey(organizationId: string, projectId: string | null): NewKey {
  const common = {
    id: crypto.randomUUID(),
    organizationId,
    name: `key ${crypto.randomUUID()}`,
    permissions: [],
    secretHash: `hash-${crypto.randomUUID()}`,
    keyLastFour: 'abcd',
    createdBy: 'alice',
    createdAt: new Date().toISOString(),
    rateLimit: null,
    expiresAt: null,
    rolledFrom: null,
  };
  return projectId === null
    ? { ...common, kind: 'org', projectId: null, clientId: `cid_${crypto.randomUUID()}` }
    : { ...common, kind: 'project', projectId, clientId: null };
}

export async function inserted(key: NewKey): Promise<NewKey> {
  const audit = {
    organizationId: key.organizationId,
    projectId: key.projectId,
    keyId: key.id,
    keyName: key.name,
    keyKind: key.kind,
    action: 'created' as const,
    actorType: 'user' as const,
    actorId: 'alice',
    ip: null,
    userAgent: null,
    createdAt: key.createdAt,
  };
  expect(await insertKeyWithinLimit(env.DB, key, 100, audit)).toBe('inserted');
  return key;
}

/** The feed rows about an organization, oldest first. */
export async function changesOf(organizationId: string) {
  const { results } = await env.DB.prepare('SELECT secret_hash, project_id FROM key_changes WHERE organization_id = ?1 ORDER BY seq')
    .bind(organizationId)
    .all<{ secret_hash: string | null; project_id: string | null }>();
  return results;
}

/** Revokes a key as any write path does (the trigger sees the UPDATE of status). */
export async function revoke(key: NewKey): Promise<void> {
  await env.DB.prepare(`UPDATE api_keys SET status = 'revoked', revoked_at = ?2 WHERE id = ?1`)
    .bind(key.id, new Date().toISOString())
    .run();
}

export async function latestPosition(): Promise<number> {
  return (await env.DB.prepare('SELECT coalesce(max(seq), 0) AS seq FROM key_changes').first<{ seq: number }>())?.seq ?? 0;
}

/** A feed on a controlled clock, and what its polls dropped. */
export function feedWithClock(pollMs = 5_000) {
  const clock = { now: Date.now() };
  const feed = new KeyFeed({ pollMs, memoryMs: 130_000, maxRemembered: 1000, timeoutMs: 2_000 }, () => clock.now);
  const dropped: KeyChange[] = [];
  let droppedAll = 0;
  const sink = {
    drop: (change: KeyChange) => void dropped.push(change),
    dropAll: () => void droppedAll++,
  };
  return { clock, feed, sink, dropped, droppedAll: () => droppedAll };
}

/** The feed's own statements (its reads, its start, its sweep), not the feed position a key read selects. */
const FEED_STATEMENT = /\bFROM key_changes WHERE (seq >|changed_at <)/;

/** `db`, whose key change feed cannot be read while `down()` says so (every other query answers). */
export function feedUnreachable(db: D1Database, down: () => boolean = () => true): D1Database {
  return overriding(db, {
    prepare: (sql: string) => {
      if (down() && FEED_STATEMENT.test(sql)) throw new Error('D1_ERROR: feed unreachable');
      return db.prepare(sql);
    },
  });
}
