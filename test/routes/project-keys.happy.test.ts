// /app/v1/organizations/{org}/projects/{project}/api-keys when everything is right: create
// (generated and custom), list and page, read, rename, revoke, reactivate, delete, and what
// each writes to D1.
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/keys/hash';
import { auditRowsOf, auditRowsOfKey, keyRow, poll } from '../support/db';
import { adminHeaders, call, randomId } from '../support/fixtures';
import {
  apiKeyHeaders,
  type CreatedProjectKey,
  clientPath,
  createProjectKey,
  customKeyValue,
  deleteProjectKey,
  GENERATED_PROJECT_KEY,
  ISO,
  keysPath,
  newProject,
  type Project,
  postProjectKey,
  UUID,
  updateProjectKey,
  withoutKey,
} from '../support/project';

const OBJECT_FIELDS = [
  'createdAt',
  'createdBy',
  'expiresAt',
  'id',
  'lastUsed',
  'leakSource',
  'leakedAt',
  'name',
  'projectId',
  'rateLimit',
  'rolledFrom',
  'rolledTo',
  'status',
  'updatedAt',
];

/** Every key of a project, newest first, paging with `limit` (and `status`). */
async function listAll(p: Project, query: { limit: number; status?: string }): Promise<string[]> {
  const ids: string[] = [];
  let lastKey: string | null = null;
  for (let page = 0; page < 100; page++) {
    const params = new URLSearchParams({ limit: String(query.limit) });
    if (query.status) params.set('status', query.status);
    if (lastKey) params.set('lastKey', lastKey);
    const res = await call('GET', `${keysPath(p)}?${params}`, { headers: await adminHeaders(p.org) });
    expect(res.status, res.text).toBe(200);
    ids.push(...res.body.data.map((k: { id: string }) => k.id));
    lastKey = res.body.pagination.lastKey;
    if (lastKey === null) return ids;
  }
  throw new Error('pagination never ended');
}

async function createMany(p: Project, count: number, prefix = 'key'): Promise<CreatedProjectKey[]> {
  const keys: CreatedProjectKey[] = [];
  for (let i = 0; i < count; i++) keys.push(await createProjectKey(p, `${prefix} ${i}`));
  return keys;
}

describe('POST api-keys', () => {
  it('creates a generated kg_pk_ key and returns exactly the object plus key', async () => {
    const p = newProject();
    const res = await postProjectKey(p, { name: 'iOS app' }, await adminHeaders(p.org, { sub: 'alice' }));
    expect(res.status, res.text).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(UUID),
      projectId: p.project,
      name: 'iOS app',
      status: 'active',
      lastUsed: null,
      createdBy: 'alice',
      createdAt: expect.stringMatching(ISO),
      updatedAt: res.body.createdAt,
      rateLimit: null,
      expiresAt: null,
      rolledFrom: null,
      rolledTo: null,
      leakedAt: null,
      leakSource: null,
      key: expect.stringMatching(GENERATED_PROJECT_KEY),
    });
  });

  it('stores the hash and last four of the key, never the key', async () => {
    const p = newProject();
    const created = await createProjectKey(p, 'stored');
    const row = await keyRow(created.id);
    expect(row).toMatchObject({
      kind: 'project',
      organization_id: p.org,
      project_id: p.project,
      client_id: null,
      name: 'stored',
      status: 'active',
      secret_hash: await sha256Hex(created.key),
      key_last_four: created.key.slice(-4),
      permissions: JSON.stringify(['content.read', 'packages.read', 'assets.read']),
      created_by: 'alice',
      revoked_at: null,
      last_used_at: null,
    });
    expect(JSON.stringify(row)).not.toContain(created.key);
  });

  it('accepts custom keys of 32 and of 128 characters of [A-Za-z0-9_-] and returns them as given', async () => {
    const p = newProject();
    for (const length of [32, 128]) {
      const value = await customKeyValue(length);
      const res = await postProjectKey(p, { name: `custom ${length}`, apiKey: value });
      expect(res.status, res.text).toBe(201);
      expect(res.body.key).toBe(value);
      expect(Object.keys(res.body).sort()).toEqual([...OBJECT_FIELDS, 'key'].sort());
      expect((await keyRow(res.body.id))?.secret_hash).toBe(await sha256Hex(value));
    }
  });

  it('lets a custom key with - and _ read its project', async () => {
    const p = newProject();
    const value = `my-app_${await customKeyValue(28)}-_`;
    const created = await createProjectKey(p, 'custom', value);
    const res = await call('GET', clientPath(p, 'content'), { headers: apiKeyHeaders(created.key) });
    expect(res.status, res.text).toBe(200);
    expect(res.body.headers['x-keygate-key-id']).toBe(created.id);
  });

  it('trims the name', async () => {
    const p = newProject();
    const created = await createProjectKey(p, '  Android  ');
    expect(created.name).toBe('Android');
  });

  it('allows the same name in another project and in another organization', async () => {
    const p = newProject();
    const sibling = newProject(p.org);
    const foreign = newProject();
    const first = await createProjectKey(p, 'shared name');
    const second = await createProjectKey(sibling, 'shared name');
    const third = await createProjectKey(foreign, 'shared name');
    expect(new Set([first.id, second.id, third.id]).size).toBe(3);
    expect([first.projectId, second.projectId, third.projectId]).toEqual([p.project, sibling.project, foreign.project]);
  });

  it('issues a different key and id every time', async () => {
    const p = newProject();
    const keys = await createMany(p, 5);
    expect(new Set(keys.map((k) => k.key)).size).toBe(5);
    expect(new Set(keys.map((k) => k.id)).size).toBe(5);
  });

  it('writes exactly one "created" audit entry with actor, ip and user agent', async () => {
    const p = newProject();
    const res = await postProjectKey(
      p,
      { name: 'audited' },
      {
        ...(await adminHeaders(p.org, { sub: 'bob' })),
        'cf-connecting-ip': '203.0.113.7',
        'user-agent': 'keygate-tests/1.0',
      },
    );
    expect(res.status, res.text).toBe(201);
    const entries = await auditRowsOfKey(res.body.id);
    expect(entries).toEqual([
      {
        seq: expect.any(Number),
        id: expect.stringMatching(/^aud_/),
        organization_id: p.org,
        project_id: p.project,
        key_id: res.body.id,
        key_kind: 'project',
        key_name: res.body.name,
        action: 'created',
        actor_type: 'user',
        actor_id: 'bob',
        ip: '203.0.113.7',
        user_agent: 'keygate-tests/1.0',
        created_at: res.body.createdAt,
      },
    ]);
  });
});

describe('GET api-keys (list)', () => {
  it('lists the project keys newest first without the key, default limit 20, lastKey null on the last page', async () => {
    const p = newProject();
    const keys = await createMany(p, 21);
    const first = await call('GET', keysPath(p), { headers: await adminHeaders(p.org) });
    expect(first.status, first.text).toBe(200);
    expect(first.body.pagination).toEqual({ limit: 20, lastKey: expect.any(String) });
    expect(first.body.data).toEqual(keys.slice(1).reverse().map(withoutKey));
    const second = await call('GET', `${keysPath(p)}?lastKey=${encodeURIComponent(first.body.pagination.lastKey)}`, {
      headers: await adminHeaders(p.org),
    });
    expect(second.status, second.text).toBe(200);
    expect(second.body).toEqual({ data: [withoutKey(keys[0]!)], pagination: { limit: 20, lastKey: null } });
  });

  it('answers an empty project with an empty page', async () => {
    const p = newProject();
    const res = await call('GET', keysPath(p), { headers: await adminHeaders(p.org) });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({ data: [], pagination: { limit: 20, lastKey: null } });
  });

  it('answers lastKey null when the last page is exactly full', async () => {
    const p = newProject();
    await createMany(p, 2);
    const res = await call('GET', `${keysPath(p)}?limit=2`, { headers: await adminHeaders(p.org) });
    expect(res.status, res.text).toBe(200);
    expect(res.body.data).toHaveLength(2);
    expect(res.body.pagination).toEqual({ limit: 2, lastKey: null });
  });

  it('accepts limit 1 and limit 100', async () => {
    const p = newProject();
    const keys = await createMany(p, 3);
    const one = await call('GET', `${keysPath(p)}?limit=1`, { headers: await adminHeaders(p.org) });
    expect(one.status, one.text).toBe(200);
    expect(one.body.data.map((k: { id: string }) => k.id)).toEqual([keys[2]!.id]);
    expect(one.body.pagination).toEqual({ limit: 1, lastKey: expect.any(String) });
    const hundred = await call('GET', `${keysPath(p)}?limit=100`, { headers: await adminHeaders(p.org) });
    expect(hundred.status, hundred.text).toBe(200);
    expect(hundred.body.pagination).toEqual({ limit: 100, lastKey: null });
    expect(hundred.body.data).toHaveLength(3);
  });

  it('pages through every key exactly once', async () => {
    const p = newProject();
    const keys = await createMany(p, 7);
    expect(await listAll(p, { limit: 3 })).toEqual(keys.map((k) => k.id).reverse());
  });

  it('neither skips nor repeats a key when keys are created between pages', async () => {
    const p = newProject();
    const existing = await createMany(p, 6, 'existing');
    const seen: string[] = [];
    let lastKey: string | null = null;
    let page = 0;
    do {
      const query: string = lastKey ? `?limit=2&lastKey=${encodeURIComponent(lastKey)}` : '?limit=2';
      const res = await call('GET', `${keysPath(p)}${query}`, { headers: await adminHeaders(p.org) });
      expect(res.status, res.text).toBe(200);
      seen.push(...res.body.data.map((k: { id: string }) => k.id));
      lastKey = res.body.pagination.lastKey;
      // New keys arrive between every two pages; they belong before the first page.
      await createMany(p, 2, `new during page ${page++}`);
    } while (lastKey !== null && page < 20);
    expect(seen).toEqual(existing.map((k) => k.id).reverse());
  });

  it('filters by status, also across pages', async () => {
    const p = newProject();
    const keys = await createMany(p, 5);
    await updateProjectKey(p, keys[1]!.id, { status: 'revoked' });
    await updateProjectKey(p, keys[3]!.id, { status: 'revoked' });
    expect(await listAll(p, { limit: 1, status: 'revoked' })).toEqual([keys[3]!.id, keys[1]!.id]);
    expect(await listAll(p, { limit: 2, status: 'active' })).toEqual([keys[4]!.id, keys[2]!.id, keys[0]!.id]);
    expect(await listAll(p, { limit: 2 })).toEqual(keys.map((k) => k.id).reverse());
    const revoked = await call('GET', `${keysPath(p)}?status=revoked`, { headers: await adminHeaders(p.org) });
    expect(revoked.body.data.map((k: { status: string }) => k.status)).toEqual(['revoked', 'revoked']);
  });

  it("lists only this project's keys", async () => {
    const p = newProject();
    const mine = await createProjectKey(p, 'mine');
    await createProjectKey(newProject(p.org), 'sibling project');
    await createProjectKey({ org: randomId(), project: p.project }, 'same project id, other organization');
    const res = await call('GET', keysPath(p), { headers: await adminHeaders(p.org) });
    expect(res.status, res.text).toBe(200);
    expect(res.body.data).toEqual([withoutKey(mine)]);
  });
});

describe('GET api-keys/{id}', () => {
  it('answers exactly the object, without the key', async () => {
    const p = newProject();
    const created = await createProjectKey(p, 'read me');
    const res = await call('GET', keysPath(p, created.id), { headers: await adminHeaders(p.org) });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual(withoutKey(created));
  });

  it('fills in lastUsed after the key is used on a client route', async () => {
    const p = newProject();
    const created = await createProjectKey(p, 'used');
    const used = await call('GET', clientPath(p, 'content'), { headers: apiKeyHeaders(created.key) });
    expect(used.status, used.text).toBe(200);
    const res = await poll(
      async () => call('GET', keysPath(p, created.id), { headers: await adminHeaders(p.org) }),
      (r) => r.body?.lastUsed !== null,
      5_000,
    );
    expect(res.status, res.text).toBe(200);
    expect(res.body.lastUsed).toMatch(ISO);
    expect(Date.parse(res.body.lastUsed)).toBeGreaterThanOrEqual(Date.parse(created.createdAt));
    // Using a key is not a change of the key.
    expect(res.body.updatedAt).toBe(created.updatedAt);
  });
});

describe('PUT api-keys/{id}', () => {
  it('renames a key and writes one "updated" entry', async () => {
    const p = newProject();
    const created = await createProjectKey(p, 'old name');
    const res = await updateProjectKey(p, created.id, { name: 'new name' });
    expect(res.body).toEqual({ ...withoutKey(created), name: 'new name', updatedAt: expect.stringMatching(ISO) });
    expect(Date.parse(res.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(created.updatedAt));
    const read = await call('GET', keysPath(p, created.id), { headers: await adminHeaders(p.org) });
    expect(read.body).toEqual(res.body);
    expect((await auditRowsOfKey(created.id)).map((e) => e.action)).toEqual(['created', 'updated']);
  });

  it('revokes a key: status revoked, the key stops working, one "revoked" entry', async () => {
    const p = newProject();
    const created = await createProjectKey(p, 'to revoke');
    const res = await updateProjectKey(p, created.id, { status: 'revoked' });
    expect(res.body).toEqual({ ...withoutKey(created), status: 'revoked', updatedAt: expect.stringMatching(ISO) });
    expect((await keyRow(created.id))?.revoked_at).toBe(res.body.updatedAt);
    const refused = await call('GET', clientPath(p), { headers: apiKeyHeaders(created.key) });
    expect(refused.status, refused.text).toBe(401);
    expect((await auditRowsOfKey(created.id)).map((e) => e.action)).toEqual(['created', 'revoked']);
  });

  it('reactivates a revoked key: status active, the key works again, one "reactivated" entry', async () => {
    const p = newProject();
    const created = await createProjectKey(p, 'to reactivate');
    await updateProjectKey(p, created.id, { status: 'revoked' });
    const res = await updateProjectKey(p, created.id, { status: 'active' });
    expect(res.body).toEqual({ ...withoutKey(created), status: 'active', updatedAt: expect.stringMatching(ISO) });
    expect((await keyRow(created.id))?.revoked_at).toBeNull();
    const accepted = await call('GET', clientPath(p), { headers: apiKeyHeaders(created.key) });
    expect(accepted.status, accepted.text).toBe(200);
    expect((await auditRowsOfKey(created.id)).map((e) => e.action)).toEqual(['created', 'revoked', 'reactivated']);
  });

  it('renames and revokes in one request: two entries, one per change', async () => {
    const p = newProject();
    const created = await createProjectKey(p, 'both');
    const res = await updateProjectKey(p, created.id, { name: 'both renamed', status: 'revoked' });
    expect(res.body).toMatchObject({ name: 'both renamed', status: 'revoked' });
    const entries = await auditRowsOfKey(created.id);
    expect(entries.map((e) => e.action)).toEqual(['created', 'updated', 'revoked']);
    expect(entries.slice(1).map((e) => e.created_at)).toEqual([res.body.updatedAt, res.body.updatedAt]);
  });

  it('writes no entry and changes nothing when nothing changes', async () => {
    const p = newProject();
    const created = await createProjectKey(p, 'same');
    const res = await updateProjectKey(p, created.id, { name: 'same', status: 'active' });
    expect(res.body).toEqual(withoutKey(created));
    expect((await auditRowsOfKey(created.id)).map((e) => e.action)).toEqual(['created']);
  });

  it('records who made each change', async () => {
    const p = newProject();
    const created = await createProjectKey(p, 'actors');
    const res = await call('PUT', keysPath(p, created.id), {
      headers: { ...(await adminHeaders(p.org, { sub: 'carol' })), 'cf-connecting-ip': '198.51.100.9', 'user-agent': 'ua-put' },
      body: { status: 'revoked' },
    });
    expect(res.status, res.text).toBe(200);
    const [, revoked] = await auditRowsOfKey(created.id);
    expect(revoked).toMatchObject({ action: 'revoked', actor_type: 'user', actor_id: 'carol', ip: '198.51.100.9', user_agent: 'ua-put' });
  });
});

describe('DELETE api-keys/{id}', () => {
  it('deletes the key for good and writes one "deleted" entry; the audit history stays', async () => {
    const p = newProject();
    const created = await createProjectKey(p, 'to delete');
    const res = await deleteProjectKey(p, created.id);
    expect(res.body).toEqual({ message: 'API key successfully deleted', id: created.id });
    expect(await keyRow(created.id)).toBeNull();
    const read = await call('GET', keysPath(p, created.id), { headers: await adminHeaders(p.org) });
    expect(read.status, read.text).toBe(404);
    const refused = await call('GET', clientPath(p), { headers: apiKeyHeaders(created.key) });
    expect(refused.status, refused.text).toBe(401);
    expect((await auditRowsOfKey(created.id)).map((e) => e.action)).toEqual(['created', 'deleted']);
  });

  it('deletes a revoked key too, and frees its name', async () => {
    const p = newProject();
    const created = await createProjectKey(p, 'reuse me');
    await updateProjectKey(p, created.id, { status: 'revoked' });
    await deleteProjectKey(p, created.id);
    const again = await createProjectKey(p, 'reuse me');
    expect(again.id).not.toBe(created.id);
  });
});

describe('audit trail of a key', () => {
  it('records one entry per change of its whole life, in order, for this organization only', async () => {
    const p = newProject();
    const created = await createProjectKey(p, 'life');
    await updateProjectKey(p, created.id, { name: 'life 2' });
    await updateProjectKey(p, created.id, { status: 'revoked' });
    await updateProjectKey(p, created.id, { status: 'active' });
    await deleteProjectKey(p, created.id);
    const entries = await auditRowsOf(p.org);
    expect(entries.map((e) => [e.action, e.key_id, e.project_id, e.key_kind])).toEqual([
      ['created', created.id, p.project, 'project'],
      ['updated', created.id, p.project, 'project'],
      ['revoked', created.id, p.project, 'project'],
      ['reactivated', created.id, p.project, 'project'],
      ['deleted', created.id, p.project, 'project'],
    ]);
  });
});
