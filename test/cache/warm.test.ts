// A new isolate's warm start (README: "Warm start"): after its first feed read it holds the
// active keys most recently used first, up to WARM_KEYS, so their first requests in this isolate
// wait on no storage; revocations keep their feed-bound window; the page query walks the index.
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readWarmKeys, WARM_KEYS_SQL, type WarmCursor } from '../../src/db/api-keys';
import { type Config, configOf } from '../../src/env';
import { generateKey } from '../../src/keys/format';
import { createOrgKey } from '../../src/keys/org-keys';
import type { KeyServiceDeps } from '../../src/keys/types';
import { FEED_HOLD_MS, verifyKeyPair, verifyProjectKey } from '../../src/keys/verify';
import { countingDeps } from '../support/deps';
import { feedUnreachable } from '../support/feed';
import { randomId, remember } from '../support/fixtures';
import { overriding } from '../support/proxy';

/** Service deps of an isolate with the feed on (every 5 s) and a warm start; a distinct max entries gives it its own tier. */
function isolate(overrides: Partial<Config> & { isolateCacheMaxEntries: number }) {
  return countingDeps({ ...configOf(env), keyFeedMs: 5_000, warmKeys: 1_000, ...overrides });
}

const actor = { type: 'user' as const, id: 'alice', label: 'alice' };
const meta = { ip: null, userAgent: null };
/** Where keys are created: an isolate of its own, so that nothing it holds is the reader's. */
const writer = isolate({ isolateCacheMaxEntries: 30_000, warmKeys: 0 });

/** Creates an organization key and gives it a last use (ISO time, null for never). */
async function keyUsedAt(lastUsedAt: string | null) {
  const created = await createOrgKey(writer.deps, { organizationId: randomId(), name: 'warm', actor, meta });
  if (!created.ok) throw new Error(created.reason);
  const { key, secret } = created.value;
  await remember('organization secret', secret);
  await env.DB.prepare('UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1').bind(key.id, lastUsedAt).run();
  return { key, secret };
}

/** One request with a key nobody has (it starts the isolate's feed read), and what runs after it. */
async function firstRequest({ deps, settle }: { deps: KeyServiceDeps; settle: () => Promise<void> }) {
  expect(await verifyProjectKey(deps, generateKey('project'))).toEqual({ ok: false, reason: 'unknown' });
  await settle();
}

function storageReads(counts: { kvGets: number; d1KeyReads: number }) {
  return counts.kvGets + counts.d1KeyReads;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('a warm start', () => {
  it("holds the active keys after the isolate's first feed read: their first requests read no storage", async () => {
    const keys = await Promise.all(['2100-01-01T00:00:01.000Z', '2100-01-01T00:00:02.000Z', null].map(keyUsedAt));
    const reader = isolate({ isolateCacheMaxEntries: 20_001 });
    await firstRequest(reader);
    expect(reader.counts.warmReads, 'one page').toBe(1);
    const before = storageReads(reader.counts);
    for (const { key, secret } of keys) {
      const result = await verifyKeyPair(reader.deps, key.clientId, secret);
      expect(result.ok && result.key.id).toBe(key.id);
    }
    expect(storageReads(reader.counts) - before, 'KV gets and D1 key reads').toBe(0);
  });

  it('takes the most recently used keys first, up to WARM_KEYS', async () => {
    const older = await keyUsedAt('2200-01-01T00:00:01.000Z');
    const newer = await keyUsedAt('2200-01-01T00:00:02.000Z');
    const newest = await keyUsedAt('2200-01-01T00:00:03.000Z');
    const reader = isolate({ isolateCacheMaxEntries: 20_002, warmKeys: 2 });
    await firstRequest(reader);
    for (const { key, secret } of [newest, newer]) {
      const before = storageReads(reader.counts);
      expect((await verifyKeyPair(reader.deps, key.clientId, secret)).ok).toBe(true);
      expect(storageReads(reader.counts) - before, 'held').toBe(0);
    }
    const before = storageReads(reader.counts);
    expect((await verifyKeyPair(reader.deps, older.key.clientId, older.secret)).ok).toBe(true);
    expect(storageReads(reader.counts) - before, 'the third most recently used: read on its first request').toBeGreaterThan(0);
  });

  it('holds no revoked or expired key', async () => {
    const revoked = await keyUsedAt('2300-01-01T00:00:01.000Z');
    await env.DB.prepare(`UPDATE api_keys SET status = 'revoked' WHERE id = ?1`).bind(revoked.key.id).run();
    const expired = await keyUsedAt('2300-01-01T00:00:02.000Z');
    await env.DB.prepare('UPDATE api_keys SET expires_at = ?2 WHERE id = ?1')
      .bind(expired.key.id, new Date(Date.now() - 1000).toISOString())
      .run();
    const reader = isolate({ isolateCacheMaxEntries: 20_003 });
    await firstRequest(reader);
    for (const { key, secret } of [revoked, expired]) {
      const before = reader.counts.d1KeyReads;
      expect(await verifyKeyPair(reader.deps, key.clientId, secret)).toEqual({ ok: false, reason: 'unknown' });
      expect(reader.counts.d1KeyReads - before, 'D1 was asked: nothing held').toBeGreaterThan(0);
    }
  });

  it('keeps the revocation window: a key revoked elsewhere after the warm start is refused within two feed intervals', async () => {
    const { key, secret } = await keyUsedAt('2400-01-01T00:00:01.000Z');
    const reader = isolate({ isolateCacheMaxEntries: 20_004 });
    await firstRequest(reader);
    await env.DB.prepare(`UPDATE api_keys SET status = 'revoked' WHERE id = ?1`).bind(key.id).run();
    const t0 = Date.now();
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(t0 + 5_000);
    // This request starts the next feed read (after its response), and is answered from memory.
    expect((await verifyKeyPair(reader.deps, key.clientId, secret)).ok, 'before the isolate read the change').toBe(true);
    await reader.settle();
    expect(await verifyKeyPair(reader.deps, key.clientId, secret), 'after it').toEqual({ ok: false, reason: 'unknown' });
  });

  it('runs again every half feed hold while the isolate is busy, not at every feed read', async () => {
    const reader = isolate({ isolateCacheMaxEntries: 20_005 });
    await firstRequest(reader);
    expect(reader.counts.warmReads).toBe(1);
    const t0 = Date.now();
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(t0 + 5_000);
    await firstRequest(reader);
    expect(reader.counts.feedReads, 'the feed was read again').toBeGreaterThanOrEqual(2);
    expect(reader.counts.warmReads, 'the warm set was not').toBe(1);
    // A key created meanwhile is in the next warm start.
    const { key, secret } = await keyUsedAt('2500-01-01T00:00:01.000Z');
    vi.setSystemTime(t0 + FEED_HOLD_MS / 2);
    await firstRequest(reader);
    expect(reader.counts.warmReads).toBe(2);
    const before = storageReads(reader.counts);
    expect((await verifyKeyPair(reader.deps, key.clientId, secret)).ok).toBe(true);
    expect(storageReads(reader.counts) - before).toBe(0);
  });

  it('holds nothing while the feed cannot be read (nothing could vouch for it), and tries again with the next feed read', async () => {
    const { key, secret } = await keyUsedAt('2450-01-01T00:00:01.000Z');
    const reader = isolate({ isolateCacheMaxEntries: 20_006 });
    let feedDown = true;
    const deps = { ...reader.deps, db: feedUnreachable(reader.deps.db, () => feedDown) };
    await firstRequest({ deps, settle: reader.settle });
    const before = storageReads(reader.counts);
    expect((await verifyKeyPair(deps, key.clientId, secret)).ok).toBe(true);
    expect(storageReads(reader.counts) - before, 'not held: read on its first request').toBeGreaterThan(0);
    await reader.settle();

    feedDown = false;
    const t0 = Date.now();
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(t0 + 5_000);
    const warmReads = reader.counts.warmReads;
    await firstRequest({ deps, settle: reader.settle });
    expect(reader.counts.warmReads, 'the next feed read brought a warm start').toBeGreaterThan(warmReads);
  });

  it('is due again half a feed hold after the last began, even if that one never finished (its context ended)', async () => {
    const config = { ...configOf(env), keyFeedMs: 5_000, warmKeys: 1_000, isolateCacheMaxEntries: 20_007, storageTimeoutMs: 30_000 };
    const reader = countingDeps(config);
    // The first warm start's query never answers while the test runs (as if its request's
    // context had ended); later ones answer.
    let release = () => {};
    const hung = new Promise<void>((resolve) => {
      release = resolve;
    });
    let warmQueries = 0;
    const gated = <T extends D1Database | D1DatabaseSession>(db: T): T =>
      overriding(db as D1Database, {
        prepare: (sql: string) => {
          const statement = db.prepare(sql);
          if (sql !== WARM_KEYS_SQL || warmQueries++ > 0) return statement;
          return { bind: (...values: unknown[]) => ({ all: () => hung.then(() => statement.bind(...values).all()) }) };
        },
        withSession: (constraint?: string) => gated((db as D1Database).withSession(constraint)),
      }) as T;
    // What each request leaves running after its response: its feed read, then its warm start.
    const after: Promise<unknown>[] = [];
    const deps = { ...reader.deps, db: gated(reader.deps.db), waitUntil: (promise: Promise<unknown>) => after.push(promise) };
    await verifyProjectKey(deps, generateKey('project'));
    await after[0];
    expect(warmQueries, 'the first warm start, hung').toBe(1);
    const t0 = Date.now();
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(t0 + FEED_HOLD_MS / 2);
    const started = after.length;
    await verifyProjectKey(deps, generateKey('project'));
    await after[started];
    await vi.waitFor(() => expect(warmQueries, 'a second warm start, beside the next feed read').toBe(2));
    release();
    await Promise.all(after);
  });

  it('never evicts: it stops when the tier is full', async () => {
    const held = await Promise.all(['2900-01-01T00:00:01.000Z', '2900-01-01T00:00:02.000Z'].map(keyUsedAt));
    const reader = isolate({ isolateCacheMaxEntries: 2, warmKeys: 2 });
    await firstRequest(reader);
    // The next warm start meets a key used more recently than both, with the tier full.
    const newest = await keyUsedAt('2900-01-01T00:00:03.000Z');
    const t0 = Date.now();
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(t0 + FEED_HOLD_MS / 2);
    await firstRequest(reader);
    expect(reader.counts.warmReads).toBe(2);
    // What the isolate holds, without any read (the answer a throttled client gets).
    const holds = async ({ key, secret }: (typeof held)[number]) =>
      (await verifyKeyPair(reader.deps, key.clientId, secret, { isolateOnly: true })).ok;
    expect(await Promise.all(held.map(holds)), 'both still held').toEqual([true, true]);
    expect(await holds(newest), 'the newest not held in their place').toBe(false);
  });
});

describe('the warm start setting', () => {
  const parse = (vars: Record<string, string>) => configOf({ ...env, ...vars } as unknown as Env);

  it('is WARM_KEYS, at most ISOLATE_CACHE_MAX_ENTRIES, and 0 without the key change feed', () => {
    expect(parse({ KEY_FEED_SECONDS: '5', WARM_KEYS: '500' }).warmKeys).toBe(500);
    expect(parse({ KEY_FEED_SECONDS: '5', WARM_KEYS: '50000', ISOLATE_CACHE_MAX_ENTRIES: '100' }).warmKeys).toBe(100);
    expect(parse({ KEY_FEED_SECONDS: '0', WARM_KEYS: '500' }).warmKeys).toBe(0);
    expect(parse({ KEY_FEED_SECONDS: '5' }).warmKeys, 'the default').toBe(10_000);
  });
});

describe('the warm start query', () => {
  it('pages through every active key exactly once, most recently used first, ties and never-used keys by seq', async () => {
    const used = await Promise.all(
      ['2600-01-01T00:00:01.000Z', '2600-01-01T00:00:02.000Z', '2600-01-01T00:00:02.000Z', null, null].map(keyUsedAt),
    );
    const now = new Date().toISOString();
    const walked: Array<{ id: string; seq: number; lastUsedAt: string }> = [];
    let after: WarmCursor | null = null;
    for (let pages = 0; pages < 1_000; pages++) {
      const page: Awaited<ReturnType<typeof readWarmKeys>> = await readWarmKeys(env.DB, after, 2, now);
      walked.push(...page.keys.map(({ active }) => ({ id: active.key.id, seq: active.key.seq, lastUsedAt: active.key.lastUsedAt ?? '' })));
      if (!page.next) break;
      after = page.next;
    }
    const { results } = await env.DB.prepare(`SELECT id FROM api_keys WHERE status = 'active' AND (expires_at IS NULL OR expires_at > ?1)`)
      .bind(now)
      .all<{ id: string }>();
    expect(walked.map((k) => k.id).sort()).toEqual(results.map((r) => r.id).sort());
    const order = [...walked].sort((a, b) => b.lastUsedAt.localeCompare(a.lastUsedAt) || b.seq - a.seq);
    expect(walked).toEqual(order);
    // Ours, as the walk met them: the two used at the same time (newest first), the other, the never-used two.
    const ids = used.map(({ key }) => key.id);
    const seqOf = (id: string | undefined) => walked.find((k) => k.id === id)?.seq ?? 0;
    const byNewest = (a: string | undefined, b: string | undefined) => seqOf(b) - seqOf(a);
    const expected = [...[ids[1], ids[2]].sort(byNewest), ids[0], ...[ids[3], ids[4]].sort(byNewest)];
    expect(walked.filter((k) => ids.includes(k.id)).map((k) => k.id)).toEqual(expected);
  });

  it('is served by the api_keys_active_last_used index', async () => {
    const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${WARM_KEYS_SQL}`)
      .bind('~', Number.MAX_SAFE_INTEGER, new Date().toISOString(), 10)
      .all<{ detail: string }>();
    const plan = results.map((r) => r.detail).join('\n');
    expect(plan).toMatch(/SCAN k USING INDEX api_keys_active_last_used|SEARCH k USING INDEX api_keys_active_last_used/);
    expect(plan, 'no sort of the whole table').not.toMatch(/USE TEMP B-TREE FOR ORDER BY/);
  });
});
