// List cursors (lastKey) on both paged lists: they carry the creation time and id of the last
// item the caller was just shown, nothing else (no global sequence number that counts other
// tenants' keys or changes), and a cursor made from another tenant's item finds none of its data.
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../src/routes/cursor';
import { adminHeaders, call, randomId } from '../support/fixtures';
import { createProjectKey, keysPath, newProject } from '../support/project';

function payloadOf(cursor: string): string {
  return atob(cursor.slice('c2.'.length).replace(/-/g, '+').replace(/_/g, '/'));
}

describe('list cursors', () => {
  it("a project key page's lastKey holds only the last key's createdAt and id", async () => {
    const p = newProject();
    for (let i = 0; i < 3; i++) await createProjectKey(p, `k${i}`);
    const res = await call('GET', `${keysPath(p)}?limit=2`, { headers: await adminHeaders(p.org) });
    expect(res.status, res.text).toBe(200);
    const last = res.body.data[1];
    expect(payloadOf(res.body.pagination.lastKey)).toBe(`${last.createdAt}|${last.id}`);
  });

  it("an audit page's lastKey holds only the last entry's createdAt and id", async () => {
    const p = newProject();
    for (let i = 0; i < 3; i++) await createProjectKey(p, `k${i}`);
    const res = await call('GET', `/app/v1/organizations/${p.org}/audit-log?limit=2`, { headers: await adminHeaders(p.org) });
    expect(res.status, res.text).toBe(200);
    const last = res.body.data[1];
    expect(payloadOf(res.body.pagination.lastKey)).toBe(`${last.createdAt}|${last.id}`);
  });

  it("does not change with other tenants' activity", async () => {
    const p = newProject();
    for (let i = 0; i < 3; i++) await createProjectKey(p, `k${i}`);
    const page = async () => (await call('GET', `${keysPath(p)}?limit=2`, { headers: await adminHeaders(p.org) })).body.pagination.lastKey;
    const before = await page();
    for (let i = 0; i < 3; i++) await createProjectKey(newProject(), `noise ${i}`);
    expect(await page()).toBe(before);
  });

  it("a cursor naming another tenant's key reveals nothing of it: the page holds only the caller's keys", async () => {
    const victim = newProject();
    const secretKey = await createProjectKey(victim, 'victim');
    const mine = newProject();
    const own = await createProjectKey(mine, 'mine');
    const forged = encodeCursor({ createdAt: secretKey.createdAt, id: secretKey.id });
    const res = await call('GET', `${keysPath(mine)}?lastKey=${encodeURIComponent(forged)}`, { headers: await adminHeaders(mine.org) });
    expect(res.status, res.text).toBe(200);
    expect(res.text).not.toContain(secretKey.id);
    for (const item of res.body.data) expect(item.id).toBe(own.id);
  });

  it('refuses cursors that are not ours with 400 naming lastKey', async () => {
    const org = randomId();
    for (const bad of [
      'c1.c2VxOjEy',
      'c2.',
      'c2.!!!',
      `c2.${btoa('2030-01-01T00:00:00.000Z|id|x')}`,
      `c2.${btoa('yesterday|id')}`,
      'x'.repeat(161),
    ]) {
      expect(() => decodeCursor(bad), bad).toThrow();
      const res = await call('GET', `/app/v1/organizations/${org}/audit-log?lastKey=${encodeURIComponent(bad)}`, {
        headers: await adminHeaders(org),
      });
      expect(res.status, res.text).toBe(400);
      expect(res.body.error.details).toEqual([{ field: 'lastKey', message: expect.any(String) }]);
    }
  });
});
