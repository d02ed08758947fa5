// The in-isolate tier as the key service uses it: no storage for a remembered key, unknown keys
// remembered briefly and within bounds, one storage read for concurrent misses, and the
// revocation window it adds on other instances.
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isolateTierOf } from '../../src/cache/isolate';
import { touchLastUsed } from '../../src/db/api-keys';
import { type Config, configOf } from '../../src/env';
import { generateKey } from '../../src/keys/format';
import { sha256Hex } from '../../src/keys/hash';
import { createOrgKey as createOrgKeyResult, revokeOrgKey } from '../../src/keys/org-keys';
import { verifyKeyPair, verifyProjectKey } from '../../src/keys/verify';
import { countingDeps } from '../support/deps';
import { randomId, remember } from '../support/fixtures';

const actor = { type: 'user' as const, id: 'alice', label: 'alice' };

/** Creates an organization key through the service; the test fails if it could not. */
async function createOrgKey(...args: Parameters<typeof createOrgKeyResult>) {
  const created = await createOrgKeyResult(...args);
  if (!created.ok) throw new Error(`createOrgKey: ${created.reason}`);
  return created.value;
}
const meta = { ip: null, userAgent: null };

afterEach(() => {
  vi.useRealTimers();
});

describe('the in-isolate tier', () => {
  it('answers a recently verified key without touching KV or D1', async () => {
    const { deps, counts, settle } = countingDeps();
    const { key, secret } = await createOrgKey(deps, { organizationId: randomId(), name: 'hot', actor, meta });
    await remember('organization secret', secret);
    expect((await verifyKeyPair(deps, key.clientId, secret)).ok).toBe(true);
    await settle();
    const before = { ...counts };
    for (let i = 0; i < 50; i++) expect((await verifyKeyPair(deps, key.clientId, secret)).ok).toBe(true);
    expect(counts).toEqual(before);
  });

  it('reads D1 once for a flood of the same unknown well-formed key', async () => {
    const { deps, counts } = countingDeps();
    const unknown = generateKey('project');
    for (let i = 0; i < 200; i++) expect(await verifyProjectKey(deps, unknown)).toEqual({ ok: false, reason: 'unknown' });
    expect(counts.d1KeyReads).toBe(1);
  });

  it('shares one KV and one D1 read between concurrent misses of the same key', async () => {
    const { deps, counts, settle } = countingDeps();
    const { key, secret } = await createOrgKey(deps, { organizationId: randomId(), name: 'cold', actor, meta });
    await remember('organization secret', secret);
    const results = await Promise.all(Array.from({ length: 20 }, () => verifyKeyPair(deps, key.clientId, secret)));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(counts.kvGets).toBe(1);
    expect(counts.d1KeyReads).toBe(1);
    await settle();
  });

  it('stays within its bound under a flood of distinct random keys', async () => {
    const small = { ...configOf(env), isolateCacheMaxEntries: 25 };
    const { deps } = countingDeps(small);
    for (let i = 0; i < 100; i++) await verifyProjectKey(deps, generateKey('project'));
    const tier = isolateTierOf(small);
    expect(tier.unknown.size).toBe(25);
    expect(tier.loads.pending).toBe(0);
  });

  it('forgets an unknown key when it is created here (custom project key values can be tried first)', async () => {
    const { deps } = countingDeps();
    const custom = `custom_${crypto.randomUUID().replace(/-/g, '')}`;
    await remember('project key', custom);
    expect((await verifyProjectKey(deps, custom)).ok).toBe(false);
    await env.DB.prepare(
      `INSERT INTO api_keys (id, kind, organization_id, project_id, name, secret_hash, key_last_four, permissions, created_by, created_at, updated_at)
       VALUES (?1, 'project', ?2, 'p', 'custom', ?3, 'abcd', '[]', 'alice', ?4, ?4)`,
    )
      .bind(crypto.randomUUID(), randomId(), await sha256Hex(custom), new Date().toISOString())
      .run();
    // Written behind the service's back (as another instance would): still remembered as unknown…
    expect((await verifyProjectKey(deps, custom)).ok).toBe(false);
    // …until the unknown-key TTL passes.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + deps.config.unknownKeyTtlMs + 1);
    expect((await verifyProjectKey(deps, custom)).ok).toBe(true);
  });

  it('drops a key revoked through this instance at once', async () => {
    const { deps, settle } = countingDeps();
    const organizationId = randomId();
    const { key, secret } = await createOrgKey(deps, { organizationId, name: 'to revoke', actor, meta });
    await remember('organization secret', secret);
    expect((await verifyKeyPair(deps, key.clientId, secret)).ok).toBe(true);
    await settle();
    await revokeOrgKey(deps, { organizationId, idOrClientId: key.id, actor, meta });
    expect(await verifyKeyPair(deps, key.clientId, secret)).toEqual({ ok: false, reason: 'unknown' });
  });

  it('trusts a key revoked elsewhere for at most the isolate TTL, then asks KV and D1 again', async () => {
    const { deps, settle } = countingDeps();
    const organizationId = randomId();
    const { key, secret } = await createOrgKey(deps, { organizationId, name: 'revoked elsewhere', actor, meta });
    await remember('organization secret', secret);
    expect((await verifyKeyPair(deps, key.clientId, secret)).ok).toBe(true);
    await settle();
    // Another instance revokes it: D1 changes and KV's entry goes, this isolate is not told.
    await env.DB.prepare(`UPDATE api_keys SET status = 'revoked' WHERE id = ?1`).bind(key.id).run();
    await env.KEY_CACHE.delete(`key:v1:${key.secretHash}`);
    expect((await verifyKeyPair(deps, key.clientId, secret)).ok).toBe(true);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + deps.config.isolateCacheTtlMs + 1);
    expect(await verifyKeyPair(deps, key.clientId, secret)).toEqual({ ok: false, reason: 'unknown' });
  });
});

describe('lastUsed writes', () => {
  it('writes the lastUsed of many keys used together in one batch, past the 100-parameter limit', async () => {
    const organizationId = randomId();
    const ids: string[] = [];
    const now = new Date().toISOString();
    const statements = [];
    for (let i = 0; i < 150; i++) {
      const id = crypto.randomUUID();
      ids.push(id);
      statements.push(
        env.DB.prepare(
          `INSERT INTO api_keys (id, kind, organization_id, project_id, name, secret_hash, key_last_four, permissions, created_by, created_at, updated_at)
           VALUES (?1, 'project', ?2, 'p', ?3, ?4, 'abcd', '[]', 'alice', ?5, ?5)`,
        ).bind(id, organizationId, `key ${i}`, `hash-${id}`, now),
      );
    }
    await env.DB.batch(statements);
    const usedAt = new Date().toISOString();
    await touchLastUsed(
      env.DB,
      ids.map((keyId) => ({ keyId, usedAt })),
      new Date(),
      60_000,
    );
    const row = await env.DB.prepare(`SELECT count(*) AS n FROM api_keys WHERE organization_id = ?1 AND last_used_at IS NOT NULL`)
      .bind(organizationId)
      .first<{ n: number }>();
    expect(row?.n).toBe(150);
  });

  it('gathers the uses of different keys within a moment into one flush', async () => {
    const { deps, settle, counts } = countingDeps();
    const organizationId = randomId();
    const pairs = [];
    for (let i = 0; i < 3; i++) {
      const created = await createOrgKey(deps, { organizationId, name: `k${i}`, actor, meta });
      await remember('organization secret', created.secret);
      pairs.push(created);
    }
    const tier = isolateTierOf(deps.config);
    const before = tier.uses.size;
    const firstUse = new Date().toISOString();
    for (const { key, secret } of pairs) expect((await verifyKeyPair(deps, key.clientId, secret)).ok).toBe(true);
    const lastUse = new Date().toISOString();
    expect(tier.uses.size - before).toBe(3);
    const batchesBefore = counts.d1Batches;
    await settle();
    expect(counts.d1Batches - batchesBefore, 'one flush').toBe(1);
    const { results } = await env.DB.prepare(`SELECT last_used_at FROM api_keys WHERE organization_id = ?1`)
      .bind(organizationId)
      .all<{ last_used_at: string | null }>();
    // Each key's own time of use, not the (later) time of the flush.
    for (const { last_used_at } of results) {
      expect(last_used_at).not.toBeNull();
      expect(last_used_at! >= firstUse && last_used_at! <= lastUse, `${last_used_at} within the uses`).toBe(true);
    }
  });
});

/**
 * A new organization key verified once at t0 with Date faked (timers run), everything after that
 * first "response" settled: the deps, and the counts the first verification left.
 */
async function verifiedOnFakedClock(name: string, config?: Config) {
  const { deps, counts, settle } = countingDeps(config);
  const { key, secret } = await createOrgKey(deps, { organizationId: randomId(), name, actor, meta });
  await remember('organization secret', secret);
  const t0 = Date.now();
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(t0);
  expect((await verifyKeyPair(deps, key.clientId, secret)).ok).toBe(true);
  await settle();
  return { deps, counts, settle, key, secret, t0, afterMiss: { ...counts } };
}

describe('refresh ahead of expiry', () => {
  it('a key in steady use is read again after the response, so no request waits on storage; one found gone is dropped at once', async () => {
    const { deps, counts, settle, key, secret, t0, afterMiss } = await verifiedOnFakedClock('steady');

    // First half of the isolate TTL (10 s): from memory, nothing else.
    vi.setSystemTime(t0 + 4_000);
    expect((await verifyKeyPair(deps, key.clientId, secret)).ok).toBe(true);
    await settle();
    expect(counts).toEqual(afterMiss);

    // Second half: answered from memory at once, while the read it starts is still held back.
    vi.setSystemTime(t0 + 6_000);
    const before = { ...counts };
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const gatedKv = new Proxy(deps.kv, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target);
        if (prop !== 'get') return value;
        return (...args: unknown[]) => held.then(() => (value as (...a: unknown[]) => unknown).apply(target, args));
      },
    });
    expect((await verifyKeyPair({ ...deps, kv: gatedKv }, key.clientId, secret)).ok, 'answered before KV answered').toBe(true);
    release();
    await settle();
    expect(counts.kvGets, 'read once, after the response').toBe(before.kvGets + 1);

    // Past the first entry's TTL (and before the refreshed one's second half): the refreshed entry answers, nothing is read.
    vi.setSystemTime(t0 + 11_000);
    const steady = { ...counts };
    expect((await verifyKeyPair(deps, key.clientId, secret)).ok).toBe(true);
    expect(counts.kvGets).toBe(steady.kvGets);
    expect(counts.d1KeyReads).toBe(steady.d1KeyReads);
    await settle();

    // Revoked elsewhere (D1, and KV emptied): the next refresh finds it gone and drops it, so the
    // request after it is refused, before the entry's own TTL ends (t0 + 16 s).
    await env.DB.prepare(`UPDATE api_keys SET status = 'revoked', revoked_at = ?2 WHERE id = ?1`)
      .bind(key.id, new Date().toISOString())
      .run();
    await env.KEY_CACHE.delete(`key:v1:${await sha256Hex(secret)}`);
    vi.setSystemTime(t0 + 13_000);
    expect((await verifyKeyPair(deps, key.clientId, secret)).ok, 'within the documented window: still answered').toBe(true);
    await settle();
    expect(await verifyKeyPair(deps, key.clientId, secret)).toMatchObject({ ok: false, reason: 'unknown' });
  });

  it('with KEY_REFRESH=off, a use late in the TTL reads nothing, and the first request past the TTL waits for the read', async () => {
    const { deps, counts, settle, key, secret, t0, afterMiss } = await verifiedOnFakedClock('no refresh', {
      ...configOf(env),
      keyRefresh: 'off',
    });
    vi.setSystemTime(t0 + 9_000);
    expect((await verifyKeyPair(deps, key.clientId, secret)).ok).toBe(true);
    await settle();
    expect(counts, 'second half of the TTL: nothing read').toEqual(afterMiss);
    vi.setSystemTime(t0 + 10_001);
    expect((await verifyKeyPair(deps, key.clientId, secret)).ok).toBe(true);
    expect(counts.kvGets, 'past the TTL: the request itself read KV').toBe(afterMiss.kvGets + 1);
  });
});
