// Security of /v1/keys: every route runs the shared suite, plus the cross-tenant and header
// precedence cases particular to key management.
import { describe, expect, it } from 'vitest';
import { INVALID_PAIR_BODY, newTenant, runAuthSuite } from '../support/auth-suite';
import { keyRow, storageState } from '../support/db';
import { adminHeaders, call, createOrgKey, pairHeaders, randomId } from '../support/fixtures';

runAuthSuite({
  surface: 'org',
  method: 'GET',
  path: '/v1/keys',
  adminOnly: false,
  successStatus: 200,
  prepare: async () => ({ path: '/v1/keys' }),
  async expectActsOnOwnTenantOnly(res, { a, b }) {
    expect(res.status, res.text).toBe(200);
    expect(res.body.data.map((k: { id: string }) => k.id)).toEqual([b.pair.id]);
    expect(res.text).not.toContain(a.pair.id);
    expect(res.text).not.toContain(a.pair.clientId);
  },
});

runAuthSuite({
  surface: 'org',
  method: 'POST',
  path: '/v1/keys',
  adminOnly: true,
  successStatus: 201,
  prepare: async () => ({ path: '/v1/keys', body: { name: 'made by the suite' } }),
  async expectActsOnOwnTenantOnly(res, { a, b }) {
    expect(res.status, res.text).toBe(201);
    expect(await keyRow(res.body.data.id)).toMatchObject({ organization_id: b.org, status: 'active', name: 'made by the suite' });
    const listOfA = await call('GET', '/v1/keys', { headers: pairHeaders(a.pair) });
    expect(listOfA.body.data.map((k: { id: string }) => k.id)).toEqual([a.pair.id]);
  },
});

runAuthSuite({
  surface: 'org',
  method: 'DELETE',
  path: '/v1/keys/{key}',
  adminOnly: true,
  successStatus: 200,
  async prepare(t) {
    const target = await createOrgKey(t.org, 'target');
    return { path: `/v1/keys/${target.id}`, target };
  },
  async expectActsOnOwnTenantOnly(res, { request }) {
    expect(res.status, res.text).toBe(404);
    expect(res.body).toEqual({ error: 'key not found' });
    const target = request.target!;
    expect(await keyRow(target.id)).toMatchObject({ status: 'active', revoked_at: null });
    const targetStillWorks = await call('GET', '/v1/keys', { headers: pairHeaders(target) });
    expect(targetStillWorks.status, targetStillWorks.text).toBe(200);
  },
});

runAuthSuite({
  surface: 'org',
  method: 'PATCH',
  path: '/v1/keys/{key}',
  adminOnly: true,
  successStatus: 200,
  async prepare(t) {
    const target = await createOrgKey(t.org, 'target');
    return { path: `/v1/keys/${target.id}`, body: { name: 'renamed by the suite' }, target };
  },
  async expectActsOnOwnTenantOnly(res, { request }) {
    expect(res.status, res.text).toBe(404);
    expect(res.body).toEqual({ error: 'key not found' });
    expect(await keyRow(request.target!.id)).toMatchObject({ name: 'target', status: 'active' });
  },
});

describe('/v1/keys: tenants and credentials', () => {
  it('answers 404 to another organization revoking a key by its client ID, exactly as for a missing key', async () => {
    const a = await newTenant();
    const b = await newTenant();
    const before = await storageState(a.org);
    const foreign = await call('DELETE', `/v1/keys/${a.pair.clientId}`, { headers: pairHeaders(b.pair) });
    const missing = await call('DELETE', `/v1/keys/kg_ci_${'0'.repeat(39)}`, { headers: pairHeaders(b.pair) });
    expect(foreign.status, foreign.text).toBe(404);
    expect(foreign.body).toEqual({ error: 'key not found' });
    expect(missing.status, missing.text).toBe(404);
    expect(foreign.text).toBe(missing.text);
    expect(await storageState(a.org)).toMatchObject({ keys: before.keys, audit: before.audit });
  });

  it('judges a request carrying key headers by the key pair, even next to a valid JWT of another organization', async () => {
    const a = await newTenant();
    const b = await newTenant();
    const res = await call('GET', '/v1/keys', { headers: { ...pairHeaders(a.pair), ...(await adminHeaders(b.org)) } });
    expect(res.status, res.text).toBe(200);
    expect(res.body.data.map((k: { id: string }) => k.id)).toEqual([a.pair.id]);
  });

  it('refuses a revoked pair even with a valid JWT beside it', async () => {
    const t = await newTenant();
    const doomed = await createOrgKey(t.org, 'doomed');
    expect((await call('DELETE', `/v1/keys/${doomed.id}`, { headers: await adminHeaders(t.org) })).status).toBe(200);
    const res = await call('GET', '/v1/keys', { headers: { ...pairHeaders(doomed), ...(await adminHeaders(t.org)) } });
    expect(res.status, res.text).toBe(401);
    expect(res.body).toEqual(INVALID_PAIR_BODY);
  });

  it('never shows a secret or its hash in a list, to any caller', async () => {
    const org = randomId();
    const first = await createOrgKey(org, 'first');
    const second = await createOrgKey(org, 'second');
    const row = await keyRow(first.id);
    for (const headers of [pairHeaders(first), await adminHeaders(org, { role: 'member' })]) {
      const res = await call('GET', '/v1/keys', { headers });
      expect(res.status, res.text).toBe(200);
      for (const secret of [first.apiKey, second.apiKey, row!.secret_hash]) expect(res.text).not.toContain(secret);
    }
  });

  it('lets a key revoke itself, after which it is refused', async () => {
    const t = await newTenant();
    const res = await call('DELETE', `/v1/keys/${t.pair.id}`, { headers: pairHeaders(t.pair) });
    expect(res.status, res.text).toBe(200);
    const after = await call('GET', '/v1/keys', { headers: pairHeaders(t.pair) });
    expect(after.status, after.text).toBe(401);
    expect(after.body).toEqual(INVALID_PAIR_BODY);
  });
});
