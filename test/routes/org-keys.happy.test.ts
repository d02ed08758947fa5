import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { bearer, call, createOrgKey, pairHeaders, randomId, token } from '../support/fixtures';

describe('/v1/keys happy paths', () => {
  it('creates a key with a JWT and returns the secret once', async () => {
    const org = randomId();
    const res = await call('POST', '/v1/keys', { headers: bearer(await token({ org, sub: 'alice' })), body: { name: 'Production sync' } });
    expect(res.status, res.text).toBe(201);
    expect(res.body.data).toMatchObject({ name: 'Production sync', createdBy: 'alice' });
    expect(res.body.data.apiKey).toMatch(/^kg_sk_[0-9A-Za-z]{39}$/);
    expect(res.body.data.clientId).toMatch(/^kg_ci_[0-9A-Za-z]{39}$/);
    expect(res.body.data.keyLastFour).toBe(res.body.data.apiKey.slice(-4));
    const row = await env.DB.prepare('SELECT * FROM api_keys WHERE id = ?1').bind(res.body.data.id).first<Record<string, unknown>>();
    expect(row).toMatchObject({ kind: 'org', organization_id: org, status: 'active', created_by: 'alice' });
    expect(JSON.stringify(row)).not.toContain(res.body.data.apiKey);
  });

  it('uses the pair to list keys, never showing a secret', async () => {
    const org = randomId();
    const pair = await createOrgKey(org, 'first');
    const res = await call('GET', '/v1/keys', { headers: pairHeaders(pair) });
    expect(res.status, res.text).toBe(200);
    expect(res.body.data).toHaveLength(1);
    expect(res.body.data[0]).toEqual({
      id: pair.id, name: 'first', clientId: pair.clientId, keyLastFour: pair.apiKey.slice(-4),
      createdAt: expect.any(String), createdBy: 'alice', lastUsedAt: res.body.data[0].lastUsedAt,
    });
    expect(res.text).not.toContain(pair.apiKey);
  });

  it('revokes by client ID and refuses the pair at once', async () => {
    const org = randomId();
    const pair = await createOrgKey(org);
    expect((await call('GET', '/v1/keys', { headers: pairHeaders(pair) })).status).toBe(200);
    const del = await call('DELETE', `/v1/keys/${pair.clientId}`, { headers: bearer(await token({ org })) });
    expect(del.status, del.text).toBe(200);
    expect(del.body.data).toEqual({ id: pair.id, revokedAt: expect.any(String) });
    const after = await call('GET', '/v1/keys', { headers: pairHeaders(pair) });
    expect(after.status).toBe(401);
    expect(after.body).toEqual({ error: 'invalid api key or clientId' });
  });
});
