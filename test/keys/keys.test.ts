// The key modules called directly (src/keys/verify.ts, org-keys.ts, writes.ts; src/db/errors.ts):
// format checks before storage, the KV cache and its eviction, the key limit under concurrency,
// and the once-a-minute lastUsedAt write.
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { cacheKeys } from '../../src/cache/kv';
import { touchLastUsed } from '../../src/db/api-keys';
import { fromD1, uniqueConflictOf } from '../../src/db/errors';
import { setKeyLimit } from '../../src/db/organizations';
import { configOf } from '../../src/env';
import { ApiError } from '../../src/errors';
import { generateKey } from '../../src/keys/format';
import { sha256Hex } from '../../src/keys/hash';
import { createOrgKey, revokeOrgKey } from '../../src/keys/org-keys';
import type { KeyServiceDeps, VerifiedKey } from '../../src/keys/types';
import { LAST_USED_INTERVAL_MS, verifyKeyPair, verifyProjectKey } from '../../src/keys/verify';
import { auditRowsOf, keyRow, keyRowsOf, poll } from '../support/db';
import {
  adminHeaders,
  call,
  createOrgKey as createOrgKeyOverHttp,
  pairHeaders,
  randomId,
  remember,
  withAlteredChecksum,
} from '../support/fixtures';
import { overriding } from '../support/proxy';
import { brokenBinding, callWith } from '../support/worker';

/** Deps over the test bindings; `settle()` waits for everything passed to waitUntil. */
function serviceDeps(overrides: Partial<KeyServiceDeps> = {}) {
  const pending: Promise<unknown>[] = [];
  const deps: KeyServiceDeps = {
    db: env.DB,
    kv: env.KEY_CACHE,
    config: configOf(env),
    waitUntil: (promise) => pending.push(promise),
    ...overrides,
  };
  return { deps, pending, settle: () => Promise.all(pending) };
}

const actor = { type: 'user' as const, id: 'alice', label: 'alice' };
const meta = { ip: '198.51.100.1', userAgent: 'service-test' };

/** Creates a key with the service itself; the secret is remembered for the log check. */
async function serviceKey(organizationId = randomId(), name = 'service key') {
  const { deps } = serviceDeps();
  const created = await createOrgKey(deps, { organizationId, name, actor, meta });
  if (!created.ok) throw new Error(`createOrgKey: ${created.reason}`);
  await remember('organization secret', created.value.secret);
  return { ...created.value, organizationId };
}

describe('verification before storage', () => {
  it('refuses malformed, missing and mis-typed credentials without touching D1 or KV', async () => {
    const calls: string[] = [];
    const { deps, pending } = serviceDeps({
      db: brokenBinding<D1Database>('db', calls),
      kv: brokenBinding<KVNamespace>('kv', calls),
    });
    const secret = generateKey('orgSecret');
    const clientId = generateKey('clientId');
    await remember('generated organization secret', secret);
    const pairs: Array<[string | undefined, string | undefined, string]> = [
      [undefined, undefined, 'missing'],
      [clientId, undefined, 'missing'],
      [undefined, secret, 'missing'],
      ['', '', 'missing'],
      [clientId, withAlteredChecksum(secret), 'malformed'],
      [withAlteredChecksum(clientId), secret, 'malformed'],
      [clientId, secret.slice(0, -1), 'malformed'],
      [clientId, generateKey('project'), 'malformed'],
      [clientId, generateKey('clientId'), 'malformed'],
      [secret, clientId, 'malformed'],
      [clientId, `${secret} `, 'malformed'],
      [clientId, `kg_sk_${'x'.repeat(500)}`, 'malformed'],
    ];
    for (const [id, key, reason] of pairs) {
      expect(await verifyKeyPair(deps, id, key), `${id} / ${key}`).toEqual({ ok: false, reason });
    }
    for (const [key, reason] of [
      [undefined, 'missing'],
      [withAlteredChecksum(generateKey('project')), 'malformed'],
      [generateKey('orgSecret'), 'malformed'],
      ['short', 'malformed'],
      [`${'a'.repeat(20)}.${'a'.repeat(20)}`, 'malformed'],
    ] as const) {
      expect(await verifyProjectKey(deps, key), String(key)).toEqual({ ok: false, reason });
    }
    expect(calls).toEqual([]);
    expect(pending).toEqual([]);
  });

  it('does reach storage for a well-formed pair (the check above is not vacuous)', async () => {
    const calls: string[] = [];
    const { deps } = serviceDeps({ kv: brokenBinding<KVNamespace>('kv', calls, 'reject'), db: brokenBinding<D1Database>('db', calls) });
    const secret = generateKey('orgSecret');
    await remember('generated organization secret', secret);
    await expect(verifyKeyPair(deps, generateKey('clientId'), secret)).rejects.toMatchObject({ status: 503 });
    // KV, then D1 through a session (a replica may answer: src/db/sessions.ts).
    expect(calls).toEqual(['kv.get', 'db.withSession']);
  });
});

describe('the KV cache', () => {
  it('fills KV with the verified record under key:v1:<sha256>, with the configured TTL', async () => {
    const key = await serviceKey();
    const hash = await sha256Hex(key.secret);
    expect(await env.KEY_CACHE.get(cacheKeys.verifiedKey(hash))).toBeNull();

    const puts: Array<{ name: string; options: unknown }> = [];
    const recordingKv = overriding(env.KEY_CACHE, {
      put: (name: string, body: string, options?: KVNamespacePutOptions) => {
        puts.push({ name, options });
        return env.KEY_CACHE.put(name, body, options);
      },
    });
    const { deps, settle } = serviceDeps({ kv: recordingKv });
    const result = await verifyKeyPair(deps, key.key.clientId, key.secret);
    expect(result).toEqual({
      ok: true,
      key: {
        id: key.key.id,
        kind: 'org',
        organizationId: key.organizationId,
        projectId: null,
        clientId: key.key.clientId,
        permissions: ['keys:read', 'keys:write', 'api:read', 'api:write'],
        rateLimit: null,
        parentRateLimit: null,
        expiresAt: null,
      },
    });
    await settle();

    expect(cacheKeys.verifiedKey(hash)).toBe(`key:v1:${hash}`);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    // The record, and the position of the key change feed its D1 read saw (src/cache/feed.ts).
    expect(await env.KEY_CACHE.get<VerifiedKey>(`key:v1:${hash}`, 'json')).toEqual(
      result.ok ? { ...result.key, feedPosition: expect.any(Number) } : null,
    );
    expect(puts).toEqual([{ name: `key:v1:${hash}`, options: { expirationTtl: configOf(env).keyCacheTtlSeconds } }]);
    const listed = await env.KEY_CACHE.list({ prefix: `key:v1:${hash}` });
    expect(listed.keys).toHaveLength(1);
    const nowSeconds = Date.now() / 1000;
    expect(listed.keys[0]!.expiration).toBeGreaterThan(nowSeconds);
    expect(listed.keys[0]!.expiration).toBeLessThanOrEqual(nowSeconds + configOf(env).keyCacheTtlSeconds + 1);
    // Neither the secret nor anything but the public record is cached.
    expect(JSON.stringify(await env.KEY_CACHE.get(`key:v1:${hash}`))).not.toContain(key.secret);
  });

  it('answers from KV once cached, without reading D1', async () => {
    const key = await serviceKey();
    const first = serviceDeps();
    expect((await verifyKeyPair(first.deps, key.key.clientId, key.secret)).ok).toBe(true);
    await first.settle();

    const calls: string[] = [];
    const { deps, settle } = serviceDeps({ db: brokenBinding<D1Database>('db', calls, 'reject') });
    expect(await verifyKeyPair(deps, key.key.clientId, key.secret)).toMatchObject({ ok: true, key: { id: key.key.id } });
    await settle();
    // Not even the lastUsedAt write: this isolate recorded a use of the key within the minute.
    expect(calls).toEqual([]);
  });

  it('still checks the client ID against a cached record', async () => {
    const key = await serviceKey();
    const first = serviceDeps();
    expect((await verifyKeyPair(first.deps, key.key.clientId, key.secret)).ok).toBe(true);
    await first.settle();
    const { deps } = serviceDeps();
    expect(await verifyKeyPair(deps, generateKey('clientId'), key.secret)).toMatchObject({ ok: false, reason: 'client_id_mismatch' });
  });

  it('evicts the cached record on revoke, so the next verification fails at once', async () => {
    const key = await serviceKey();
    const hash = await sha256Hex(key.secret);
    const first = serviceDeps();
    expect((await verifyKeyPair(first.deps, key.key.clientId, key.secret)).ok).toBe(true);
    await first.settle();
    expect(await env.KEY_CACHE.get(`key:v1:${hash}`)).not.toBeNull();

    const { deps, settle } = serviceDeps();
    const revoked = await revokeOrgKey(deps, { organizationId: key.organizationId, idOrClientId: key.key.id, actor, meta });
    expect(revoked).toMatchObject({ ok: true, value: { id: key.key.id, status: 'revoked', revokedAt: expect.any(String) } });
    expect(await env.KEY_CACHE.get(`key:v1:${hash}`)).toBeNull();

    expect(await verifyKeyPair(deps, key.key.clientId, key.secret)).toEqual({ ok: false, reason: 'unknown' });
    await settle();
    expect(await env.KEY_CACHE.get(`key:v1:${hash}`), 'a refused key was cached').toBeNull();
  });

  it('does not leave a revoked key cached when a slow cache fill lands after the revoke', async () => {
    const key = await serviceKey();
    const hash = await sha256Hex(key.secret);
    // A KV whose writes wait until released: the fill of a verification that read D1 just before
    // a revoke reaches KV only after the revoke's eviction.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const slowKv = overriding(env.KEY_CACHE, {
      put: async (...args: Parameters<KVNamespace['put']>) => {
        await released;
        return env.KEY_CACHE.put(...args);
      },
    });
    const slow = serviceDeps({ kv: slowKv });
    expect((await verifyKeyPair(slow.deps, key.key.clientId, key.secret)).ok).toBe(true);

    const { deps } = serviceDeps();
    expect(await revokeOrgKey(deps, { organizationId: key.organizationId, idOrClientId: key.key.id, actor, meta })).toMatchObject({
      ok: true,
    });
    release();
    await slow.settle();

    expect(await verifyKeyPair(deps, key.key.clientId, key.secret), 'the revoked key was accepted from a stale cache entry').toEqual({
      ok: false,
      reason: 'unknown',
    });
    expect(await env.KEY_CACHE.get(`key:v1:${hash}`)).toBeNull();
  });

  it('evicts on a revoke through the API too: a cached pair is refused on the next request', async () => {
    const org = randomId();
    const pair = await createOrgKeyOverHttp(org, 'cached');
    const hash = await sha256Hex(pair.apiKey);
    expect((await callWith({}, 'GET', '/v1/keys', { headers: pairHeaders(pair) })).status).toBe(200);
    expect(await env.KEY_CACHE.get(`key:v1:${hash}`)).not.toBeNull();
    const del = await callWith({}, 'DELETE', `/v1/keys/${pair.clientId}`, { headers: await adminHeaders(org) });
    expect(del.status, del.text).toBe(200);
    expect(await env.KEY_CACHE.get(`key:v1:${hash}`)).toBeNull();
    const after = await callWith({}, 'GET', '/v1/keys', { headers: pairHeaders(pair) });
    expect(after.status, after.text).toBe(401);
  });

  it('answers not_found for a revoke of an unknown, foreign or revoked key, writing nothing', async () => {
    const key = await serviceKey();
    const { deps } = serviceDeps();
    const notFound = { ok: false, reason: 'not_found' };
    expect(await revokeOrgKey(deps, { organizationId: randomId(), idOrClientId: key.key.id, actor, meta })).toEqual(notFound);
    expect(await revokeOrgKey(deps, { organizationId: key.organizationId, idOrClientId: 'key_unknown', actor, meta })).toEqual(notFound);
    expect(await revokeOrgKey(deps, { organizationId: key.organizationId, idOrClientId: key.key.clientId, actor, meta })).toMatchObject({
      ok: true,
    });
    expect(await revokeOrgKey(deps, { organizationId: key.organizationId, idOrClientId: key.key.id, actor, meta })).toEqual(notFound);
    expect((await auditRowsOf(key.organizationId)).map((e) => e.action)).toEqual(['created', 'revoked']);
  });
});

describe('fromD1', () => {
  it('turns a D1 failure into a 503 without its message', async () => {
    const failure = fromD1(() => Promise.reject(new Error('D1_ERROR: no such table: api_keys')));
    await expect(failure).rejects.toBeInstanceOf(ApiError);
    await expect(failure).rejects.toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE', message: 'service temporarily unavailable' });
  });

  it('passes our own errors through unchanged', async () => {
    const ours = new ApiError('KEY_LIMIT_REACHED', 'full');
    await expect(fromD1(() => Promise.reject(ours))).rejects.toBe(ours);
  });

  it('reads which uniqueness a write ran into, and nothing else, from D1 error text', () => {
    const unique = (columns: string) => new Error(`D1_ERROR: UNIQUE constraint failed: ${columns}: SQLITE_CONSTRAINT`);
    expect(uniqueConflictOf(unique('api_keys.secret_hash'))).toBe('value');
    expect(uniqueConflictOf(unique('api_keys.organization_id, api_keys.project_id, api_keys.name'))).toBe('name');
    expect(uniqueConflictOf(unique('api_keys.client_id'))).toBeNull();
    expect(uniqueConflictOf(new Error('D1_ERROR: no such table: api_keys'))).toBeNull();
    expect(uniqueConflictOf('UNIQUE constraint failed: api_keys.name')).toBeNull();
  });
});

describe('the key limit under concurrency', () => {
  it('lets exactly one of 20 parallel creates take the last slot', async () => {
    const org = randomId();
    await setKeyLimit(env.DB, org, 3, new Date().toISOString());
    await createOrgKeyOverHttp(org, 'one');
    await createOrgKeyOverHttp(org, 'two');
    const activeBefore = (await keyRowsOf(org)).filter((r) => r.status === 'active').length;
    const createdBefore = (await auditRowsOf(org)).filter((e) => e.action === 'created').length;
    expect(activeBefore).toBe(2);

    const headers = await adminHeaders(org);
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) => call('POST', '/v1/keys', { headers, body: { name: `racer ${i}` } })),
    );
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses, replies.map((r) => r.text).join('\n')).toEqual([201, ...Array<number>(19).fill(422)]);
    for (const refused of replies.filter((r) => r.status === 422)) {
      expect(refused.body).toEqual({ error: expect.stringMatching(/\b3\b/), details: { limit: 3 } });
      expect(refused.body.error).toMatch(/limit/);
      expect(refused.body.error).toMatch(/delete unused keys/);
    }

    const active = (await keyRowsOf(org)).filter((r) => r.status === 'active');
    expect(active).toHaveLength(activeBefore + 1);
    const winner = replies.find((r) => r.status === 201)!;
    expect(active.map((r) => r.id)).toContain(winner.body.data.id);
    const created = (await auditRowsOf(org)).filter((e) => e.action === 'created');
    expect(created).toHaveLength(createdBefore + 1);
    expect(created.at(-1)).toMatchObject({ key_id: winner.body.data.id });
  });

  it('answers limit_reached through the service, naming the limit, with no row or audit entry', async () => {
    const org = randomId();
    await setKeyLimit(env.DB, org, 1, new Date().toISOString());
    await serviceKey(org, 'only');
    const { deps } = serviceDeps();
    expect(await createOrgKey(deps, { organizationId: org, name: 'too many', actor, meta })).toEqual({
      ok: false,
      reason: 'limit_reached',
      limit: 1,
    });
    expect(await keyRowsOf(org)).toHaveLength(1);
    expect(await auditRowsOf(org)).toHaveLength(1);
  });
});

describe('lastUsedAt', () => {
  it('is written after a use, and a second use within the minute does not change it', async () => {
    const org = randomId();
    const pair = await createOrgKeyOverHttp(org, 'used');
    expect((await keyRow(pair.id))!.last_used_at).toBeNull();

    const first = await call('GET', '/v1/keys', { headers: pairHeaders(pair) });
    expect(first.status, first.text).toBe(200);
    const written = await poll(
      () => keyRow(pair.id),
      (row) => row?.last_used_at !== null,
      500,
    );
    expect(written!.last_used_at, 'lastUsedAt was not written after a use').toMatch(/^\d{4}-\d{2}-\d{2}T/);

    // callWith returns only after the request's deferred work is done: any write would be visible.
    const second = await callWith({}, 'GET', '/v1/keys', { headers: pairHeaders(pair) });
    expect(second.status, second.text).toBe(200);
    expect((await keyRow(pair.id))!.last_used_at).toBe(written!.last_used_at);

    const listed = await call('GET', '/v1/keys', { headers: await adminHeaders(org) });
    expect(listed.body.data[0]).toMatchObject({ id: pair.id, lastUsedAt: written!.last_used_at });
  });

  it('is not written for a refused pair', async () => {
    const org = randomId();
    const pair = await createOrgKeyOverHttp(org, 'refused');
    const other = await createOrgKeyOverHttp(org, 'other');
    const res = await callWith({}, 'GET', '/v1/keys', { headers: pairHeaders({ clientId: other.clientId, apiKey: pair.apiKey }) });
    expect(res.status).toBe(401);
    expect((await keyRow(pair.id))!.last_used_at).toBeNull();
    expect((await keyRow(other.id))!.last_used_at).toBeNull();
  });

  it('is rewritten by the SQL only once the interval has passed, whichever isolate asks', async () => {
    const key = await serviceKey();
    const t0 = new Date('2030-01-01T00:00:00.000Z');
    const useAt = (at: Date) => [{ keyId: key.key.id, usedAt: at.toISOString() }];
    await touchLastUsed(env.DB, useAt(t0), t0, LAST_USED_INTERVAL_MS);
    expect((await keyRow(key.key.id))!.last_used_at).toBe(t0.toISOString());

    const soon = new Date(t0.getTime() + LAST_USED_INTERVAL_MS - 1);
    await touchLastUsed(env.DB, useAt(soon), soon, LAST_USED_INTERVAL_MS);
    expect((await keyRow(key.key.id))!.last_used_at).toBe(t0.toISOString());

    const later = new Date(t0.getTime() + LAST_USED_INTERVAL_MS);
    await touchLastUsed(env.DB, useAt(later), later, LAST_USED_INTERVAL_MS);
    expect((await keyRow(key.key.id))!.last_used_at).toBe(later.toISOString());
  });

  it('stores the time of use, not of the write, and never a use at or after the revocation', async () => {
    const key = await serviceKey();
    const usedAt = new Date('2030-02-01T00:00:00.000Z');
    const flushedAt = new Date(usedAt.getTime() + 250);
    await touchLastUsed(env.DB, [{ keyId: key.key.id, usedAt: usedAt.toISOString() }], flushedAt, LAST_USED_INTERVAL_MS);
    expect((await keyRow(key.key.id))!.last_used_at).toBe(usedAt.toISOString());

    const revokedAt = new Date(usedAt.getTime() + 2 * LAST_USED_INTERVAL_MS);
    await env.DB.prepare(`UPDATE api_keys SET status = 'revoked', revoked_at = ?2 WHERE id = ?1`)
      .bind(key.key.id, revokedAt.toISOString())
      .run();
    // Accepted by an isolate inside the revocation window, flushed later: not recorded.
    const lateUse = new Date(revokedAt.getTime() + 1);
    await touchLastUsed(
      env.DB,
      [{ keyId: key.key.id, usedAt: lateUse.toISOString() }],
      new Date(lateUse.getTime() + 250),
      LAST_USED_INTERVAL_MS,
    );
    expect((await keyRow(key.key.id))!.last_used_at).toBe(usedAt.toISOString());
    // A use before the revocation, flushed after it, still is.
    const lastGoodUse = new Date(revokedAt.getTime() - 1);
    await touchLastUsed(
      env.DB,
      [{ keyId: key.key.id, usedAt: lastGoodUse.toISOString() }],
      new Date(revokedAt.getTime() + 250),
      LAST_USED_INTERVAL_MS,
    );
    expect((await keyRow(key.key.id))!.last_used_at).toBe(lastGoodUse.toISOString());
  });
});
