// /v1/keys when everything is right: create, list, revoke, and what each writes to D1.
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { auditRowsOfKey, keyRow, keyRowsOf } from '../support/db';
import { adminHeaders, bearer, call, createOrgKey, pairHeaders, randomId, token } from '../support/fixtures';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const LISTED_FIELDS = [
  'clientId',
  'createdAt',
  'createdBy',
  'expiresAt',
  'id',
  'keyLastFour',
  'lastUsedAt',
  'leakSource',
  'leakedAt',
  'name',
  'permissions',
  'rateLimit',
  'rolledFrom',
  'rolledTo',
];
const LIFECYCLE = { expiresAt: null, rolledFrom: null, rolledTo: null, leakedAt: null, leakSource: null };
const ALL_SCOPES = ['keys:read', 'keys:write', 'api:read', 'api:write'];

describe('/v1/keys happy paths', () => {
  it('creates a key with a JWT and returns the secret once', async () => {
    const org = randomId();
    const res = await call('POST', '/v1/keys', { headers: bearer(await token({ org, sub: 'alice' })), body: { name: 'Production sync' } });
    expect(res.status, res.text).toBe(201);
    expect(res.body).toEqual({
      data: {
        id: expect.stringMatching(/^key_[0-9A-Za-z]{24}$/),
        name: 'Production sync',
        clientId: expect.stringMatching(/^kg_ci_[0-9A-Za-z]{39}$/),
        apiKey: expect.stringMatching(/^kg_sk_[0-9A-Za-z]{39}$/),
        keyLastFour: res.body.data.apiKey.slice(-4),
        createdAt: expect.stringMatching(ISO),
        createdBy: 'alice',
        rateLimit: null,
        permissions: ALL_SCOPES,
        ...LIFECYCLE,
      },
    });
    const row = await keyRow(res.body.data.id);
    expect(row).toMatchObject({
      kind: 'org',
      organization_id: org,
      status: 'active',
      created_by: 'alice',
      client_id: res.body.data.clientId,
    });
    expect(JSON.stringify(row)).not.toContain(res.body.data.apiKey);
  });

  it('creates a key with a key pair, recorded as created by key:<id>', async () => {
    const org = randomId();
    const creator = await createOrgKey(org, 'creator');
    const res = await call('POST', '/v1/keys', { headers: pairHeaders(creator), body: { name: 'made by a key' } });
    expect(res.status, res.text).toBe(201);
    expect(res.body.data).toMatchObject({ name: 'made by a key', createdBy: `key:${creator.id}` });
    expect(await keyRow(res.body.data.id)).toMatchObject({ organization_id: org, created_by: `key:${creator.id}` });
    const listed = await call('GET', '/v1/keys', { headers: pairHeaders(creator) });
    expect(listed.body.data[0]).toMatchObject({ id: res.body.data.id, createdBy: `key:${creator.id}` });
  });

  it('trims the name', async () => {
    const org = randomId();
    const res = await call('POST', '/v1/keys', { headers: await adminHeaders(org), body: { name: '  CI deploy  ' } });
    expect(res.status, res.text).toBe(201);
    expect(res.body.data.name).toBe('CI deploy');
  });

  it('accepts names of 1 and of 100 characters', async () => {
    const org = randomId();
    for (const name of ['x', 'n'.repeat(100)]) {
      const res = await call('POST', '/v1/keys', { headers: await adminHeaders(org), body: { name } });
      expect(res.status, res.text).toBe(201);
      expect(res.body.data.name).toBe(name);
    }
  });

  it('issues a different secret, client ID and id for every key', async () => {
    const org = randomId();
    const keys = await Promise.all([1, 2, 3, 4, 5].map((n) => createOrgKey(org, `key ${n}`)));
    for (const field of ['id', 'clientId', 'apiKey'] as const) {
      expect(new Set(keys.map((k) => k[field])).size, field).toBe(keys.length);
    }
  });

  it('uses the pair to list keys, never showing a secret', async () => {
    const org = randomId();
    const pair = await createOrgKey(org, 'first');
    const res = await call('GET', '/v1/keys', { headers: pairHeaders(pair) });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({
      data: [
        {
          id: pair.id,
          name: 'first',
          clientId: pair.clientId,
          keyLastFour: pair.apiKey.slice(-4),
          createdAt: expect.stringMatching(ISO),
          createdBy: 'alice',
          // This very request is a use of the key; its deferred write may land before the read.
          lastUsedAt: expect.toBeOneOf([null, expect.stringMatching(ISO)]),
          rateLimit: null,
          permissions: ALL_SCOPES,
          ...LIFECYCLE,
        },
      ],
    });
    expect(res.text).not.toContain(pair.apiKey);
  });

  it('lists active keys newest first, with exactly the documented fields', async () => {
    const org = randomId();
    const first = await createOrgKey(org, 'first');
    const second = await createOrgKey(org, 'second');
    const third = await createOrgKey(org, 'third');
    const revoked = await createOrgKey(org, 'revoked');
    expect((await call('DELETE', `/v1/keys/${revoked.id}`, { headers: await adminHeaders(org) })).status).toBe(200);
    const res = await call('GET', '/v1/keys', { headers: await adminHeaders(org, { role: 'member' }) });
    expect(res.status, res.text).toBe(200);
    expect(res.body.data.map((k: { id: string }) => k.id)).toEqual([third.id, second.id, first.id]);
    for (const key of res.body.data) expect(Object.keys(key).sort()).toEqual(LISTED_FIELDS);
    // Never used: a JWT does not touch any key.
    expect(res.body.data.map((k: { lastUsedAt: unknown }) => k.lastUsedAt)).toEqual([null, null, null]);
  });

  it('lists an organization without keys as an empty array', async () => {
    const res = await call('GET', '/v1/keys', { headers: await adminHeaders(randomId(), { role: 'member' }) });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({ data: [] });
  });

  it('revokes by id and refuses the pair at once', async () => {
    const org = randomId();
    const pair = await createOrgKey(org);
    const del = await call('DELETE', `/v1/keys/${pair.id}`, { headers: await adminHeaders(org) });
    expect(del.status, del.text).toBe(200);
    expect(del.body).toEqual({ data: { id: pair.id, revokedAt: expect.stringMatching(ISO) } });
    expect(await keyRow(pair.id)).toMatchObject({ status: 'revoked', revoked_at: del.body.data.revokedAt });
    const after = await call('GET', '/v1/keys', { headers: pairHeaders(pair) });
    expect(after.status).toBe(401);
    expect(after.body).toEqual({ error: 'invalid api key or clientId' });
  });

  it('revokes by client ID and refuses the pair at once', async () => {
    const org = randomId();
    const pair = await createOrgKey(org);
    expect((await call('GET', '/v1/keys', { headers: pairHeaders(pair) })).status).toBe(200);
    const del = await call('DELETE', `/v1/keys/${pair.clientId}`, { headers: bearer(await token({ org })) });
    expect(del.status, del.text).toBe(200);
    expect(del.body).toEqual({ data: { id: pair.id, revokedAt: expect.stringMatching(ISO) } });
    const after = await call('GET', '/v1/keys', { headers: pairHeaders(pair) });
    expect(after.status).toBe(401);
    expect(after.body).toEqual({ error: 'invalid api key or clientId' });
  });

  it('keeps the other keys of the organization working after a revoke', async () => {
    const org = randomId();
    const kept = await createOrgKey(org, 'kept');
    const revoked = await createOrgKey(org, 'revoked');
    expect((await call('DELETE', `/v1/keys/${revoked.id}`, { headers: pairHeaders(kept) })).status).toBe(200);
    const res = await call('GET', '/v1/keys', { headers: pairHeaders(kept) });
    expect(res.status, res.text).toBe(200);
    expect(res.body.data.map((k: { id: string }) => k.id)).toEqual([kept.id]);
    expect((await keyRowsOf(org)).map((r) => [r.id, r.status])).toEqual([
      [kept.id, 'active'],
      [revoked.id, 'revoked'],
    ]);
  });

  it('writes one audit entry for a create, with actor, IP and user agent', async () => {
    const org = randomId();
    const res = await call('POST', '/v1/keys', {
      headers: { ...bearer(await token({ org, sub: 'alice' })), 'cf-connecting-ip': '203.0.113.7', 'user-agent': 'keygate-tests/1.0' },
      body: { name: 'audited' },
    });
    expect(res.status, res.text).toBe(201);
    expect(await auditRowsOfKey(res.body.data.id)).toEqual([
      {
        seq: expect.any(Number),
        id: expect.stringMatching(/^aud_/),
        organization_id: org,
        project_id: null,
        key_id: res.body.data.id,
        key_kind: 'org',
        key_name: 'audited',
        action: 'created',
        actor_type: 'user',
        actor_id: 'alice',
        ip: '203.0.113.7',
        user_agent: 'keygate-tests/1.0',
        created_at: res.body.data.createdAt,
      },
    ]);
  });

  it('writes one audit entry for a revoke by a key, naming the key as actor', async () => {
    const org = randomId();
    const actor = await createOrgKey(org, 'actor');
    const target = await createOrgKey(org, 'target');
    const del = await call('DELETE', `/v1/keys/${target.clientId}`, {
      headers: { ...pairHeaders(actor), 'cf-connecting-ip': '2001:db8::1', 'user-agent': 'curl/8.5.0' },
    });
    expect(del.status, del.text).toBe(200);
    const entries = await auditRowsOfKey(target.id);
    expect(entries.map((e) => e.action)).toEqual(['created', 'revoked']);
    expect(entries[1]).toMatchObject({
      organization_id: org,
      key_id: target.id,
      key_kind: 'org',
      action: 'revoked',
      actor_type: 'key',
      actor_id: actor.id,
      ip: '2001:db8::1',
      user_agent: 'curl/8.5.0',
      created_at: del.body.data.revokedAt,
    });
  });

  it('records a null IP when cf-connecting-ip is missing or not an address, and cuts a long user agent', async () => {
    const org = randomId();
    for (const ip of [undefined, 'x'.repeat(65)]) {
      const res = await call('POST', '/v1/keys', {
        headers: { ...(await adminHeaders(org)), ...(ip ? { 'cf-connecting-ip': ip } : {}), 'user-agent': 'u'.repeat(600) },
        body: { name: 'anonymous' },
      });
      expect(res.status, res.text).toBe(201);
      const [entry] = await auditRowsOfKey(res.body.data.id);
      expect(entry).toMatchObject({ action: 'created', ip: null, user_agent: 'u'.repeat(512) });
    }
  });

  it('keeps each key of the org in D1 with only the hash and last four of its secret', async () => {
    const org = randomId();
    const pair = await createOrgKey(org, 'stored');
    const row = await keyRow(pair.id);
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(pair.apiKey));
    const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
    expect(row).toMatchObject({
      secret_hash: hex,
      key_last_four: pair.apiKey.slice(-4),
      permissions: '["keys:read","keys:write","api:read","api:write"]',
    });
    const everything = await env.DB.prepare('SELECT * FROM api_keys WHERE organization_id = ?1').bind(org).all();
    expect(JSON.stringify(everything.results)).not.toContain(pair.apiKey);
  });
});

describe('PATCH /v1/keys/{key}', () => {
  it('renames by id or client ID, answers the list row, audits "updated", and the pair keeps working', async () => {
    const org = randomId();
    const pair = await createOrgKey(org, 'before');
    for (const [ref, name] of [
      [pair.id, 'after'],
      [pair.clientId, 'after again'],
    ] as const) {
      const res = await call('PATCH', `/v1/keys/${ref}`, { headers: await adminHeaders(org), body: { name } });
      expect(res.status, res.text).toBe(200);
      expect(Object.keys(res.body.data).sort()).toEqual(LISTED_FIELDS);
      expect(res.body.data).toMatchObject({ id: pair.id, clientId: pair.clientId, name });
    }
    expect((await keyRow(pair.id))?.name).toBe('after again');
    expect((await auditRowsOfKey(pair.id)).map((a) => a.action)).toEqual(['created', 'updated', 'updated']);
    expect((await call('GET', '/v1/keys', { headers: pairHeaders(pair) })).status).toBe(200);
  });

  it('a key pair may rename itself; the same name or an empty body changes nothing and writes no audit entry', async () => {
    const org = randomId();
    const pair = await createOrgKey(org, 'self');
    const renamed = await call('PATCH', `/v1/keys/${pair.id}`, { headers: pairHeaders(pair), body: { name: 'renamed by itself' } });
    expect(renamed.status, renamed.text).toBe(200);
    for (const body of [{ name: 'renamed by itself' }, {}]) {
      const res = await call('PATCH', `/v1/keys/${pair.id}`, { headers: pairHeaders(pair), body });
      expect(res.status, res.text).toBe(200);
      expect(res.body.data.name).toBe('renamed by itself');
    }
    const audits = await auditRowsOfKey(pair.id);
    expect(audits.map((a) => [a.action, a.actor_type, a.actor_id])).toEqual([
      ['created', 'user', 'alice'],
      ['updated', 'key', pair.id],
    ]);
  });

  it('answers 404 "key not found" for unknown, foreign and revoked keys, writing nothing', async () => {
    const org = randomId();
    const mine = await createOrgKey(org, 'mine');
    const foreign = await createOrgKey(randomId(), 'foreign');
    const revoked = await createOrgKey(org, 'revoked');
    await call('DELETE', `/v1/keys/${revoked.id}`, { headers: await adminHeaders(org) });
    for (const ref of ['key_unknown', foreign.id, foreign.clientId, revoked.id]) {
      const res = await call('PATCH', `/v1/keys/${ref}`, { headers: pairHeaders(mine), body: { name: 'stolen' } });
      expect(res.status, `${ref}: ${res.text}`).toBe(404);
      expect(res.body).toEqual({ error: 'key not found' });
    }
    expect((await keyRow(foreign.id))?.name).toBe('foreign');
    expect((await auditRowsOfKey(foreign.id)).map((a) => a.action)).toEqual(['created']);
  });

  it('refuses a member token (403) and an invalid name (400 naming it)', async () => {
    const org = randomId();
    const pair = await createOrgKey(org, 'guarded');
    const member = await call('PATCH', `/v1/keys/${pair.id}`, {
      headers: await adminHeaders(org, { role: 'member' }),
      body: { name: 'x' },
    });
    expect(member.status).toBe(403);
    for (const body of [{ name: '' }, { name: 'x'.repeat(101) }, { name: 42 }, { name: 'ok', clientId: 'kg_ci_x' }]) {
      const res = await call('PATCH', `/v1/keys/${pair.id}`, { headers: await adminHeaders(org), body });
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    expect((await keyRow(pair.id))?.name).toBe('guarded');
  });
});
