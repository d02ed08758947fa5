// Concurrent writes on one key, for each write route: a 2xx always means the change is stored,
// 422 only when the key limit really blocked it, 404/409 otherwise; each change that happened
// has exactly one audit entry, and one that did not has none. Each race is run several times:
// requests interleave at every storage call, so one run may miss the window a bug needs.
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { auditRowsOfKey, keyRow } from '../support/db';
import { adminHeaders, call, createOrgKey, type Reply, randomId } from '../support/fixtures';
import { apiKeyHeaders, clientPath, createProjectKey, keysPath, newProject, type Project, postProjectKey } from '../support/project';

const RUNS = 8;

async function put(p: Project, id: string, body: Record<string, unknown>): Promise<Reply> {
  return call('PUT', keysPath(p, id), { headers: await adminHeaders(p.org), body });
}

async function setKeyLimit(org: string, limit: number): Promise<void> {
  const now = new Date().toISOString();
  await env.DB.prepare('INSERT INTO organizations (id, key_limit, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)')
    .bind(org, limit, now)
    .run();
}

async function actionsOf(keyId: string): Promise<string[]> {
  return (await auditRowsOfKey(keyId)).map((row) => row.action);
}

describe('PUT on one project key', () => {
  it('a rename racing a revoke: both answer 200 and both are stored', async () => {
    for (let run = 0; run < RUNS; run++) {
      const p = newProject();
      const key = await createProjectKey(p, 'before');
      const [rename, revoke] = await Promise.all([put(p, key.id, { name: `after ${run}` }), put(p, key.id, { status: 'revoked' })]);
      expect(rename.status, rename.text).toBe(200);
      expect(revoke.status, revoke.text).toBe(200);
      const row = await keyRow(key.id);
      expect({ name: row?.name, status: row?.status }, `run ${run}`).toEqual({ name: `after ${run}`, status: 'revoked' });
      expect((await actionsOf(key.id)).sort()).toEqual(['created', 'revoked', 'updated']);
      // The 200 of the revoke is true: the key no longer works.
      expect((await call('GET', clientPath(p), { headers: apiKeyHeaders(key.key) })).status).toBe(401);
    }
  });

  it('four parallel reactivations far below the limit: all 200, active, one audit entry', async () => {
    for (let run = 0; run < RUNS; run++) {
      const p = newProject();
      const key = await createProjectKey(p, 'revived');
      expect((await put(p, key.id, { status: 'revoked' })).status).toBe(200);
      const answers = await Promise.all(Array.from({ length: 4 }, () => put(p, key.id, { status: 'active' })));
      expect(
        answers.map((a) => a.status),
        answers.map((a) => a.text).join('\n'),
      ).toEqual([200, 200, 200, 200]);
      for (const answer of answers) expect(answer.body.status).toBe('active');
      expect((await keyRow(key.id))?.status).toBe('active');
      expect(await actionsOf(key.id)).toEqual(['created', 'revoked', 'reactivated']);
    }
  });

  it('parallel reactivations with room for one: exactly one 200, the others 422 naming the limit', async () => {
    for (let run = 0; run < RUNS; run++) {
      const p = newProject();
      const first = await createProjectKey(p, 'first');
      const second = await createProjectKey(p, 'second');
      await put(p, first.id, { status: 'revoked' });
      await put(p, second.id, { status: 'revoked' });
      await setKeyLimit(p.org, 1);
      const answers = await Promise.all([put(p, first.id, { status: 'active' }), put(p, second.id, { status: 'active' })]);
      expect(answers.map((a) => a.status).sort(), answers.map((a) => a.text).join('\n')).toEqual([200, 422]);
      const refused = answers.find((a) => a.status === 422)!;
      expect(refused.body.error.code).toBe('KEY_LIMIT_REACHED');
      expect(refused.body.error.message).toContain('1 active keys');
      const active = await env.DB.prepare(`SELECT count(*) AS n FROM api_keys WHERE organization_id = ?1 AND status = 'active'`)
        .bind(p.org)
        .first<{ n: number }>();
      expect(active?.n).toBe(1);
    }
  });

  it('two renames to different names: both 200, the stored name is one of them, one audit entry each', async () => {
    for (let run = 0; run < RUNS; run++) {
      const p = newProject();
      const key = await createProjectKey(p, 'start');
      const answers = await Promise.all([put(p, key.id, { name: 'left' }), put(p, key.id, { name: 'right' })]);
      expect(answers.map((a) => a.status)).toEqual([200, 200]);
      expect(['left', 'right']).toContain((await keyRow(key.id))?.name);
      expect(await actionsOf(key.id)).toEqual(['created', 'updated', 'updated']);
    }
  });

  it('a rename racing a delete: the key is gone; a 200 rename happened before the delete', async () => {
    for (let run = 0; run < RUNS; run++) {
      const p = newProject();
      const key = await createProjectKey(p, 'doomed');
      const [rename, remove] = await Promise.all([
        put(p, key.id, { name: 'renamed' }),
        call('DELETE', keysPath(p, key.id), { headers: await adminHeaders(p.org) }),
      ]);
      expect(remove.status, remove.text).toBe(200);
      expect([200, 404], rename.text).toContain(rename.status);
      expect(await keyRow(key.id)).toBeNull();
      const actions = await actionsOf(key.id);
      expect(actions).toEqual(rename.status === 200 ? ['created', 'updated', 'deleted'] : ['created', 'deleted']);
    }
  });
});

describe('DELETE and revoke, in parallel', () => {
  it('four deletes of one project key: one 200, three 404 APIKEY_NOT_FOUND, one audit entry', async () => {
    for (let run = 0; run < RUNS; run++) {
      const p = newProject();
      const key = await createProjectKey(p, 'gone');
      const headers = await adminHeaders(p.org);
      const answers = await Promise.all(Array.from({ length: 4 }, () => call('DELETE', keysPath(p, key.id), { headers })));
      expect(answers.map((a) => a.status).sort()).toEqual([200, 404, 404, 404]);
      expect(await actionsOf(key.id)).toEqual(['created', 'deleted']);
    }
  });

  it('four revokes of one organization key: one 200, three 404, one audit entry, the pair refused', async () => {
    for (let run = 0; run < RUNS; run++) {
      const org = randomId();
      const pair = await createOrgKey(org, 'revoked');
      const headers = await adminHeaders(org);
      const answers = await Promise.all(Array.from({ length: 4 }, () => call('DELETE', `/v1/keys/${pair.id}`, { headers })));
      expect(answers.map((a) => a.status).sort()).toEqual([200, 404, 404, 404]);
      expect(await actionsOf(pair.id)).toEqual(['created', 'revoked']);
      const res = await call('GET', '/v1/keys', { headers: { 'x-metal-client-id': pair.clientId, 'x-metal-api-key': pair.apiKey } });
      expect(res.status).toBe(401);
    }
  });
});

describe('POST, in parallel', () => {
  it('creates of one name in one project: one 201, the others 409, whatever the letter case', async () => {
    for (let run = 0; run < RUNS; run++) {
      const p = newProject();
      const answers = await Promise.all(['Mobile', 'mobile', 'MOBILE', 'Mobile'].map((name) => postProjectKey(p, { name })));
      expect(answers.map((a) => a.status).sort()).toEqual([201, 409, 409, 409]);
      const rows = await env.DB.prepare('SELECT count(*) AS n FROM audit_entries WHERE organization_id = ?1')
        .bind(p.org)
        .first<{ n: number }>();
      expect(rows?.n).toBe(1);
    }
  });

  it('creates at the key limit never overshoot it, on both surfaces at once', async () => {
    for (let run = 0; run < RUNS; run++) {
      const org = randomId();
      await setKeyLimit(org, 3);
      const headers = await adminHeaders(org);
      const p = newProject(org);
      const answers = await Promise.all([
        ...Array.from({ length: 3 }, (_, i) => call('POST', '/v1/keys', { headers, body: { name: `org ${i}` } })),
        ...Array.from({ length: 3 }, (_, i) => postProjectKey(p, { name: `project ${i}` })),
      ]);
      expect(answers.filter((a) => a.status === 201)).toHaveLength(3);
      expect(answers.filter((a) => a.status === 422)).toHaveLength(3);
      const active = await env.DB.prepare(`SELECT count(*) AS n FROM api_keys WHERE organization_id = ?1 AND status = 'active'`)
        .bind(org)
        .first<{ n: number }>();
      expect(active?.n).toBe(3);
    }
  });
});
