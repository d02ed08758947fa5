// The key change feed: the triggers of migration 0006 write one row per change that can alter a
// verification (and none for the rest), and an isolate's KeyFeed reads them after its cursor,
// drops what they name, judges records read before them, and knows when it is fresh.
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { KeyFeed } from '../../src/cache/feed';
import { insertKeyWithinLimit, type NewKey, touchLastUsed } from '../../src/db/api-keys';
import type { KeyChange } from '../../src/db/key-changes';
import { setOrganizationRateLimit, setProjectRateLimit } from '../../src/db/organizations';
import { randomId } from '../support/fixtures';

function newKey(organizationId: string, projectId: string | null): NewKey {
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

async function inserted(key: NewKey): Promise<NewKey> {
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
async function changesOf(organizationId: string) {
  const { results } = await env.DB.prepare('SELECT secret_hash, project_id FROM key_changes WHERE organization_id = ?1 ORDER BY seq')
    .bind(organizationId)
    .all<{ secret_hash: string | null; project_id: string | null }>();
  return results;
}

/** Revokes a key as any write path does (the trigger sees the UPDATE of status). */
async function revoke(key: NewKey): Promise<void> {
  await env.DB.prepare(`UPDATE api_keys SET status = 'revoked', revoked_at = ?2 WHERE id = ?1`)
    .bind(key.id, new Date().toISOString())
    .run();
}

async function latestPosition(): Promise<number> {
  return (await env.DB.prepare('SELECT coalesce(max(seq), 0) AS seq FROM key_changes').first<{ seq: number }>())?.seq ?? 0;
}

/** A feed on a controlled clock, and what its polls dropped. */
function feedWithClock(pollMs = 5_000) {
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

describe('the feed triggers (migration 0006)', () => {
  it('write a row for the changes a verification can see, and none for a rename, a use or a new key', async () => {
    const org = randomId();
    const key = await inserted(newKey(org, 'p1'));
    expect(await changesOf(org), 'a new key: nothing any isolate could hold').toEqual([]);
    await env.DB.prepare('UPDATE api_keys SET name = ?2 WHERE id = ?1').bind(key.id, 'renamed').run();
    await touchLastUsed(env.DB, [{ keyId: key.id, usedAt: new Date().toISOString() }], new Date(), 60_000);
    await env.DB.prepare('UPDATE api_keys SET leaked_at = ?2 WHERE id = ?1').bind(key.id, new Date().toISOString()).run();
    expect(await changesOf(org), 'rename, last use, leak flag').toEqual([]);

    await revoke(key);
    await env.DB.prepare(`UPDATE api_keys SET permissions = '["content.read"]' WHERE id = ?1`).bind(key.id).run();
    await env.DB.prepare('UPDATE api_keys SET expires_at = ?2 WHERE id = ?1').bind(key.id, '2031-01-01T00:00:00.000Z').run();
    await env.DB.prepare('UPDATE api_keys SET rate_limit_requests = 5, rate_limit_window_seconds = 60 WHERE id = ?1').bind(key.id).run();
    await env.DB.prepare('DELETE FROM api_keys WHERE id = ?1').bind(key.id).run();
    expect(await changesOf(org)).toEqual(Array.from({ length: 5 }, () => ({ secret_hash: key.secretHash, project_id: 'p1' })));
  });

  it('write an organization-wide or project-wide row when an operator sets a budget', async () => {
    const org = randomId();
    await setOrganizationRateLimit(env.DB, org, { requests: 10, windowSeconds: 60 }, new Date().toISOString());
    await setOrganizationRateLimit(env.DB, org, { requests: 20, windowSeconds: 60 }, new Date().toISOString());
    await setProjectRateLimit(env.DB, org, 'p9', { requests: 5, windowSeconds: 60 }, new Date().toISOString());
    await setProjectRateLimit(env.DB, org, 'p9', null, new Date().toISOString());
    expect(await changesOf(org)).toEqual([
      { secret_hash: null, project_id: null },
      { secret_hash: null, project_id: null },
      { secret_hash: null, project_id: 'p9' },
      { secret_hash: null, project_id: 'p9' },
    ]);
  });
});

describe('KeyFeed', () => {
  it('reads the changes after its cursor, drops what they name, and is fresh for three intervals after a poll', async () => {
    const { clock, feed, sink, dropped } = feedWithClock();
    expect(feed.fresh, 'before any poll').toBe(false);
    expect(feed.due).toBe(true);
    await feed.poll(env.DB, sink);
    expect(feed.fresh).toBe(true);
    expect(feed.cursor).toBe(await latestPosition());

    const org = randomId();
    const key = await inserted(newKey(org, null));
    await revoke(key);
    clock.now += 4_999;
    expect(feed.due, 'within the interval').toBe(false);
    clock.now += 1;
    expect(feed.due).toBe(true);
    dropped.length = 0;
    await feed.poll(env.DB, sink);
    expect(dropped.filter((c) => c.organizationId === org)).toEqual([
      { seq: expect.any(Number), secretHash: key.secretHash, organizationId: org, projectId: null },
    ]);
    clock.now += 14_999;
    expect(feed.fresh, 'three intervals after the last successful poll started').toBe(true);
    clock.now += 1;
    expect(feed.fresh).toBe(false);
  });

  it('judges a record by the position it was read at: changed after it, not changed, or read before what it remembers', async () => {
    const { feed, sink } = feedWithClock();
    await feed.poll(env.DB, sink);
    const org = randomId();
    const key = await inserted(newKey(org, 'web'));
    const other = await inserted(newKey(org, 'app'));
    const readAt = await latestPosition();
    const record = { secretHash: key.secretHash, organizationId: org, projectId: 'web' };
    const otherRecord = { secretHash: other.secretHash, organizationId: org, projectId: 'app' };

    await revoke(key);
    expect(feed.changedSince(record, readAt), 'a change the isolate has not read yet').toBe(false);
    await feed.poll(env.DB, sink);
    expect(feed.changedSince(record, readAt)).toBe(true);
    expect(feed.changedSince(otherRecord, readAt), 'another key of the organization').toBe(false);
    expect(feed.changedSince(record, await latestPosition()), 'read after the change').toBe(false);

    await setProjectRateLimit(env.DB, org, 'app', { requests: 5, windowSeconds: 60 }, new Date().toISOString());
    await feed.poll(env.DB, sink);
    expect(feed.changedSince(otherRecord, readAt), "its project's budget changed").toBe(true);
    await setOrganizationRateLimit(env.DB, org, { requests: 5, windowSeconds: 60 }, new Date().toISOString());
    const beforeOrgChange = (await latestPosition()) - 1;
    await feed.poll(env.DB, sink);
    expect(feed.changedSince({ ...record, secretHash: 'any' }, beforeOrgChange), "its organization's budget changed").toBe(true);

    expect(feed.changedSince(record, -1), 'read before the feed position the isolate remembers from').toBeNull();
  });

  it('starts a memory back, so a record read a minute ago is judged at once', async () => {
    const org = randomId();
    const key = await inserted(newKey(org, null));
    const readAt = await latestPosition();
    await revoke(key);
    const { feed, sink, dropped } = feedWithClock();
    await feed.poll(env.DB, sink);
    expect(feed.changedSince({ secretHash: key.secretHash, organizationId: org, projectId: null }, readAt)).toBe(true);
    expect(dropped.some((c) => c.secretHash === key.secretHash)).toBe(true);
  });

  it('drops everything when rows it never read are gone, and deletes rows past the retention', async () => {
    const { clock, feed, sink, droppedAll } = feedWithClock();
    await feed.poll(env.DB, sink);
    const org = randomId();
    const key = await inserted(newKey(org, null));
    await revoke(key);
    const unread = await latestPosition();
    await env.DB.prepare('DELETE FROM key_changes WHERE seq = ?1').bind(unread).run();
    await env.DB.prepare('UPDATE api_keys SET status = ?2 WHERE id = ?1').bind(key.id, 'active').run();
    clock.now += 5_000;
    await feed.poll(env.DB, sink);
    expect(droppedAll(), 'a change was never read').toBe(1);
    expect(feed.fresh).toBe(true);

    await env.DB.prepare('INSERT INTO key_changes (secret_hash, organization_id, project_id, changed_at) VALUES (?1, ?2, NULL, ?3)')
      .bind('old', org, Math.floor(Date.now() / 1000) - 2 * 86_400)
      .run();
    clock.now += 3_600_000;
    await feed.poll(env.DB, sink);
    expect(await env.DB.prepare('SELECT count(*) AS n FROM key_changes WHERE secret_hash = ?1').bind('old').first('n')).toBe(0);
  });

  it('is not fresh after a failed poll, and polls again one interval later', async () => {
    const { clock, feed, sink } = feedWithClock();
    const broken = new Proxy(env.DB, {
      get(target, prop) {
        if (prop === 'prepare') return () => ({ bind: () => ({ first: () => Promise.reject(new Error('D1_ERROR')) }) });
        const value = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    await expect(feed.poll(broken, sink)).rejects.toThrow('D1_ERROR');
    expect(feed.fresh).toBe(false);
    expect(feed.due).toBe(false);
    clock.now += 5_000;
    expect(feed.due).toBe(true);
    await feed.poll(env.DB, sink);
    expect(feed.fresh).toBe(true);
  });
});
