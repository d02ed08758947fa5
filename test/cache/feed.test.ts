// The key change feed: the triggers of migration 0006 write one row per change that can alter a
// verification (and none for the rest), and an isolate's KeyFeed reads them after its cursor,
// drops what they name, judges records read before them, and knows when it is fresh.
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { touchLastUsed } from '../../src/db/api-keys';
import { setOrganizationRateLimit, setProjectRateLimit } from '../../src/db/organizations';
import { type Config, configOf } from '../../src/env';
import { generateKey } from '../../src/keys/format';
import { createOrgKey } from '../../src/keys/org-keys';
import type { KeyServiceDeps } from '../../src/keys/types';
import { verifyKeyPair, verifyProjectKey } from '../../src/keys/verify';
import { countingDeps } from '../support/deps';
import { changesOf, feedUnreachable, feedWithClock, inserted, latestPosition, newKey, revoke } from '../support/feed';
import { randomId, remember } from '../support/fixtures';
import { overriding } from '../support/proxy';

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
  it('reads the changes after its cursor, drops what they name, and is fresh for two intervals after a poll', async () => {
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
    clock.now += 9_999;
    expect(feed.fresh, 'two intervals after the last successful poll started').toBe(true);
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

  it('starts in one round trip: where it starts and the first page of changes in one batch', async () => {
    const { clock, feed, sink, dropped } = feedWithClock();
    const org = randomId();
    const key = await inserted(newKey(org, null));
    await revoke(key);
    let batches = 0;
    const counting = overriding(env.DB, {
      batch: (statements: D1PreparedStatement[]) => {
        batches++;
        return env.DB.batch(statements);
      },
    });
    await feed.poll(counting, sink);
    expect(batches, 'the first read').toBe(1);
    expect(feed.cursor).toBe(await latestPosition());
    expect(
      dropped.filter((c) => c.organizationId === org),
      'a change from before the isolate started, within its memory',
    ).toHaveLength(1);
    clock.now += 5_000;
    await feed.poll(counting, sink);
    expect(batches, 'later reads: one query each').toBe(1);
  });

  it('is not fresh after a failed poll, and polls again one interval later', async () => {
    const { clock, feed, sink } = feedWithClock();
    const broken = overriding(env.DB, {
      prepare: () => ({ bind: () => ({ all: () => Promise.reject(new Error('D1_ERROR')) }) }),
      batch: () => Promise.reject(new Error('D1_ERROR')),
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

/** Service deps with the feed on (every 5 s), counting key reads (KV and D1) and feed reads. */
function feedDeps(overrides: Partial<Config> = {}) {
  return countingDeps({ ...configOf(env), keyFeedMs: 5_000, ...overrides });
}

const actor = { type: 'user' as const, id: 'alice', label: 'alice' };
const meta = { ip: null, userAgent: null };

/** An organization key created through the service (its KV entry filled by a first verification). */
async function verifiedOrgKey(deps: KeyServiceDeps, settle: () => Promise<void>) {
  const created = await createOrgKey(deps, { organizationId: randomId(), name: 'followed', actor, meta });
  if (!created.ok) throw new Error(created.reason);
  const { key, secret } = created.value;
  await remember('organization secret', secret);
  expect((await verifyKeyPair(deps, key.clientId, secret)).ok).toBe(true);
  await settle();
  return { key, secret };
}

describe('verification with the feed on', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('keeps a key it verified without any read of its own, far past the isolate TTL, while it follows the feed', async () => {
    const { deps, counts, settle } = feedDeps({ isolateCacheMaxEntries: 10_001 });
    const { key, secret } = await verifiedOrgKey(deps, settle);
    const afterFirst = { kvGets: counts.kvGets, d1KeyReads: counts.d1KeyReads };
    const t0 = Date.now();
    vi.useFakeTimers({ toFake: ['Date'] });
    for (let s = 4; s <= 120; s += 4) {
      vi.setSystemTime(t0 + s * 1000);
      expect((await verifyKeyPair(deps, key.clientId, secret)).ok, `${s} s later`).toBe(true);
      await settle();
    }
    expect({ kvGets: counts.kvGets, d1KeyReads: counts.d1KeyReads }, 'two minutes, twelve isolate TTLs').toEqual(afterFirst);
    // A read starts when a request finds the last one an interval old: every 8 s at a request every 4 s.
    expect(counts.feedReads, 'the isolate followed the feed all along').toBeGreaterThanOrEqual(15);
  });

  it('refuses a key revoked elsewhere within two intervals, though KV still holds its record', async () => {
    const { deps, settle } = feedDeps({ isolateCacheMaxEntries: 10_002 });
    const { key, secret } = await verifiedOrgKey(deps, settle);
    // Another instance's revocation: D1 changes; this location's KV entry stays (its delete went elsewhere).
    await env.DB.prepare(`UPDATE api_keys SET status = 'revoked' WHERE id = ?1`).bind(key.id).run();
    const t0 = Date.now();
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(t0 + 5_000);
    // This request starts the feed read (after its response), and is answered from memory.
    expect((await verifyKeyPair(deps, key.clientId, secret)).ok, 'before the isolate read the change').toBe(true);
    await settle();
    expect(await verifyKeyPair(deps, key.clientId, secret), 'after it').toEqual({ ok: false, reason: 'unknown' });
  });

  it('does not take a KV record older than a change it knows of: the primary answers', async () => {
    const writer = feedDeps({ isolateCacheMaxEntries: 10_003 });
    const { key, secret } = await verifiedOrgKey(writer.deps, writer.settle);
    await env.DB.prepare(`UPDATE api_keys SET status = 'revoked' WHERE id = ?1`).bind(key.id).run();
    // Another isolate, following the feed (one request with another key made it read), meets the key.
    const reader = feedDeps({ isolateCacheMaxEntries: 10_004 });
    await verifyProjectKey(reader.deps, generateKey('project'));
    await reader.settle();
    const before = { ...reader.counts };
    expect(await verifyKeyPair(reader.deps, key.clientId, secret)).toEqual({ ok: false, reason: 'unknown' });
    expect(reader.counts.kvGets - before.kvGets, 'KV answered').toBe(1);
    expect(reader.counts.d1KeyReads - before.d1KeyReads, 'and D1 was asked anyway').toBe(1);
  });

  it('falls back to the isolate TTL when the feed cannot be read', async () => {
    const { deps, counts, settle } = feedDeps({ isolateCacheMaxEntries: 10_005 });
    const brokenDeps = { ...deps, db: feedUnreachable(deps.db) };
    const { key, secret } = await verifiedOrgKey(brokenDeps, settle);
    const before = counts.kvGets + counts.d1KeyReads;
    const t0 = Date.now();
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(t0 + 11_000);
    expect((await verifyKeyPair(brokenDeps, key.clientId, secret)).ok).toBe(true);
    expect(counts.kvGets + counts.d1KeyReads - before, 'past the isolate TTL, the request read the key again').toBeGreaterThan(0);
    await settle();
  });

  it("reads a key again when its organization's budget changes", async () => {
    const { deps, settle } = feedDeps({ isolateCacheMaxEntries: 10_006 });
    const { key, secret } = await verifiedOrgKey(deps, settle);
    await setOrganizationRateLimit(env.DB, key.organizationId, { requests: 42, windowSeconds: 60 }, new Date().toISOString());
    const t0 = Date.now();
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(t0 + 5_000);
    await verifyKeyPair(deps, key.clientId, secret);
    await settle();
    const result = await verifyKeyPair(deps, key.clientId, secret);
    expect(result.ok && result.key.parentRateLimit).toEqual({ requests: 42, windowSeconds: 60 });
  });
});
