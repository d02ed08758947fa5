// GET /app/v1/organizations/{org}/audit-log: every key change of the organization, newest first,
// paged; admins only; nothing of another organization.
import { describe, expect, it } from 'vitest';
import { adminHeaders, bearer, call, createOrgKey, pairHeaders, randomId, revokeOrgKey, token } from '../support/fixtures';
import {
  ADMIN_REQUIRED_BODY,
  createProjectKey,
  deleteProjectKey,
  INVALID_TOKEN_PROJECT_BODY,
  ISO,
  NOT_FOUND_BODY,
  newProject,
  postProjectKey,
  updateProjectKey,
} from '../support/project';

const auditPath = (org: string, query = '') => `/app/v1/organizations/${org}/audit-log${query}`;

type Entry = { id: string; action: string; keyId: string; keyKind: string; projectId: string | null };

/** The whole log, page by page with `limit`. */
async function readAll(org: string, limit: number): Promise<{ entries: Entry[]; pages: number }> {
  const entries: Entry[] = [];
  let lastKey: string | null = null;
  let pages = 0;
  do {
    const query: string = `?limit=${limit}${lastKey ? `&lastKey=${encodeURIComponent(lastKey)}` : ''}`;
    const res = await call('GET', auditPath(org, query), { headers: await adminHeaders(org) });
    expect(res.status, res.text).toBe(200);
    expect(res.body.data.length).toBeLessThanOrEqual(limit);
    entries.push(...res.body.data);
    lastKey = res.body.pagination.lastKey;
    pages++;
  } while (lastKey !== null && pages < 100);
  return { entries, pages };
}

describe('GET audit-log', () => {
  it('lists every change, newest first, with action, key, actor, ip, user agent and time', async () => {
    const p = newProject();
    const meta = { 'cf-connecting-ip': '192.0.2.44', 'user-agent': 'audit-tests' };
    const created = await postProjectKey(p, { name: 'audited' }, { ...(await adminHeaders(p.org, { sub: 'dora' })), ...meta });
    expect(created.status, created.text).toBe(201);
    const keyId: string = created.body.id;
    await updateProjectKey(p, keyId, { name: 'audited 2' });
    await updateProjectKey(p, keyId, { status: 'revoked' });
    await updateProjectKey(p, keyId, { status: 'active' });
    await deleteProjectKey(p, keyId);
    const pair = await createOrgKey(p.org, 'org key');
    const byKey = await call('POST', '/v1/keys', { headers: pairHeaders(pair), body: { name: 'made by a key' } });
    expect(byKey.status, byKey.text).toBe(201);
    await revokeOrgKey(pair);

    const res = await call('GET', auditPath(p.org), { headers: await adminHeaders(p.org) });
    expect(res.status, res.text).toBe(200);
    const project = { keyKind: 'project', keyId, projectId: p.project, actor: { type: 'user', id: 'alice' }, ip: null, userAgent: null };
    const org = { keyKind: 'org', projectId: null, ip: null, userAgent: null };
    expect(res.body).toEqual({
      data: [
        { ...org, action: 'revoked', keyId: pair.id, keyName: 'org key', actor: { type: 'user', id: 'alice' } },
        { ...org, action: 'created', keyId: byKey.body.data.id, keyName: 'made by a key', actor: { type: 'key', id: pair.id } },
        { ...org, action: 'created', keyId: pair.id, keyName: 'org key', actor: { type: 'user', id: 'alice' } },
        // Each entry names the key as it was at the time: the rename shows the new name from then on.
        { ...project, action: 'deleted', keyName: 'audited 2' },
        { ...project, action: 'reactivated', keyName: 'audited 2' },
        { ...project, action: 'revoked', keyName: 'audited 2' },
        { ...project, action: 'updated', keyName: 'audited 2' },
        {
          ...project,
          action: 'created',
          keyName: 'audited',
          actor: { type: 'user', id: 'dora' },
          ip: '192.0.2.44',
          userAgent: 'audit-tests',
        },
      ].map((entry) => ({ id: expect.stringMatching(/^aud_/), createdAt: expect.stringMatching(ISO), ...entry })),
      pagination: { limit: 20, lastKey: null },
    });
    const times = res.body.data.map((e: { createdAt: string }) => Date.parse(e.createdAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(new Set(res.body.data.map((e: { id: string }) => e.id)).size).toBe(8);
  });

  it('answers an organization without changes with an empty page', async () => {
    const org = randomId();
    const res = await call('GET', auditPath(org), { headers: await adminHeaders(org) });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({ data: [], pagination: { limit: 20, lastKey: null } });
  });

  it('shows only its own organization, even when another organization uses the same project id', async () => {
    const p = newProject();
    const mine = await createProjectKey(p, 'mine');
    const other = { org: randomId(), project: p.project };
    const theirs = await createProjectKey(other, 'theirs');
    await updateProjectKey(other, theirs.id, { status: 'revoked' });
    await createOrgKey(other.org, 'their org key');
    const res = await call('GET', auditPath(p.org), { headers: await adminHeaders(p.org) });
    expect(res.status, res.text).toBe(200);
    expect(res.body.data.map((e: Entry) => [e.action, e.keyId])).toEqual([['created', mine.id]]);
  });

  it('pages with limit and lastKey: every entry exactly once, newest first, lastKey null on the last page', async () => {
    const p = newProject();
    const key = await createProjectKey(p, 'pages');
    for (let i = 0; i < 3; i++) {
      await updateProjectKey(p, key.id, { status: 'revoked' });
      await updateProjectKey(p, key.id, { status: 'active' });
    }
    const whole = await call('GET', auditPath(p.org, '?limit=100'), { headers: await adminHeaders(p.org) });
    expect(whole.body.data).toHaveLength(7);
    expect(whole.body.pagination).toEqual({ limit: 100, lastKey: null });
    const paged = await readAll(p.org, 2);
    expect(paged.pages).toBe(4);
    expect(paged.entries).toEqual(whole.body.data);
    expect(paged.entries.map((e) => e.action)).toEqual([
      'reactivated',
      'revoked',
      'reactivated',
      'revoked',
      'reactivated',
      'revoked',
      'created',
    ]);
  });

  it('neither skips nor repeats entries when changes happen between pages', async () => {
    const p = newProject();
    const key = await createProjectKey(p, 'busy');
    await updateProjectKey(p, key.id, { name: 'busy 1' });
    await updateProjectKey(p, key.id, { name: 'busy 2' });
    await updateProjectKey(p, key.id, { name: 'busy 3' });
    const before = await call('GET', auditPath(p.org), { headers: await adminHeaders(p.org) });
    const seen: Entry[] = [];
    let lastKey: string | null = null;
    let n = 0;
    do {
      const query: string = `?limit=1${lastKey ? `&lastKey=${encodeURIComponent(lastKey)}` : ''}`;
      const res = await call('GET', auditPath(p.org, query), { headers: await adminHeaders(p.org) });
      seen.push(...res.body.data);
      lastKey = res.body.pagination.lastKey;
      await updateProjectKey(p, key.id, { name: `busy during ${n++}` });
    } while (lastKey !== null && n < 20);
    expect(seen).toEqual(before.body.data);
  });

  it('has no entry for refused changes', async () => {
    const p = newProject();
    await createProjectKey(p, 'taken');
    expect((await postProjectKey(p, { name: 'taken' })).status).toBe(409);
    expect((await postProjectKey(p, { name: 'x', apiKey: 'short' })).status).toBe(400);
    expect((await postProjectKey(p, { name: 'by member' }, await adminHeaders(p.org, { role: 'member' }))).status).toBe(403);
    const res = await call('GET', auditPath(p.org), { headers: await adminHeaders(p.org) });
    expect(res.body.data.map((e: Entry) => e.action)).toEqual(['created']);
  });
});

describe('GET audit-log: access and input', () => {
  it('refuses a member token with exactly 403 FORBIDDEN', async () => {
    const p = newProject();
    await createProjectKey(p, 'hidden from members');
    const res = await call('GET', auditPath(p.org), { headers: await adminHeaders(p.org, { role: 'member' }) });
    expect(res.status, res.text).toBe(403);
    expect(res.body).toEqual(ADMIN_REQUIRED_BODY);
  });

  it("answers another organization's admin token with exactly 404 NOT_FOUND", async () => {
    const p = newProject();
    await createProjectKey(p, 'hidden from others');
    const res = await call('GET', auditPath(p.org), { headers: await adminHeaders(randomId()) });
    expect(res.status, res.text).toBe(404);
    expect(res.body).toEqual(NOT_FOUND_BODY);
  });

  const refused: Array<{ label: string; headers(org: string): Promise<Record<string, string>> }> = [
    { label: 'no token', headers: async () => ({}) },
    { label: 'an expired token', headers: async (org) => bearer(await token({ org, exp: Math.floor(Date.now() / 1000) - 10 })) },
    { label: 'a forged token', headers: async (org) => bearer(await token({ org }, 'another-secret-0123456789abcdef0123456789abcdef')) },
    { label: 'an organization key pair', headers: async (org) => pairHeaders(await createOrgKey(org, 'pair')) },
  ];
  for (const { label, headers } of refused) {
    it(`refuses ${label} with 401`, async () => {
      const org = randomId();
      const res = await call('GET', auditPath(org), { headers: await headers(org) });
      expect(res.status, res.text).toBe(401);
      expect(res.body).toEqual(INVALID_TOKEN_PROJECT_BODY);
    });
  }

  for (const query of ['?limit=0', '?limit=101', '?limit=x', '?lastKey=bogus', `?lastKey=c1.${btoa('seq:x')}`]) {
    it(`refuses ${query} with 400 VALIDATION_ERROR`, async () => {
      const org = randomId();
      const res = await call('GET', auditPath(org, query), { headers: await adminHeaders(org) });
      expect(res.status, res.text).toBe(400);
      expect(res.body).toEqual({
        error: {
          code: 'VALIDATION_ERROR',
          message: 'invalid query string',
          details: [{ field: query.slice(1, query.indexOf('=')), message: expect.any(String) }],
        },
      });
    });
  }
});
