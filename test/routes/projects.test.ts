// GET /app/v1/organizations/{organizationId}/projects: the organization's projects that hold keys.
import { describe, expect, it } from 'vitest';
import { adminHeaders, call, randomId } from '../support/fixtures';
import { callVia, recordingOrigin } from '../support/origin';
import { createProjectKey, newProject, updateProjectKey } from '../support/project';

const projectsPath = (org: string) => `/app/v1/organizations/${org}/projects`;

describe('GET /app/v1/organizations/{organizationId}/projects', () => {
  it('lists the projects that hold keys with active and revoked counts, for admins and members', async () => {
    const org = randomId();
    const a = newProject(org);
    const b = newProject(org);
    await createProjectKey(a, 'a1');
    const a2 = await createProjectKey(a, 'a2');
    await createProjectKey(b, 'b1');
    await updateProjectKey(a, a2.id, { status: 'revoked' });
    await createProjectKey(newProject(), 'elsewhere');
    const expected = [
      { projectId: a.project, activeKeys: 1, revokedKeys: 1 },
      { projectId: b.project, activeKeys: 1, revokedKeys: 0 },
    ].sort((x, y) => x.projectId.localeCompare(y.projectId));
    for (const role of ['admin', 'member'] as const) {
      const res = await call('GET', projectsPath(org), { headers: await adminHeaders(org, { role }) });
      expect(res.status, res.text).toBe(200);
      expect(res.body).toEqual({ data: expected });
    }
  });

  it('answers an organization without keys with an empty list, another organization with 404, no token with 401', async () => {
    const org = randomId();
    expect((await call('GET', projectsPath(org), { headers: await adminHeaders(org) })).body).toEqual({ data: [] });
    const foreign = await call('GET', projectsPath(org), { headers: await adminHeaders(randomId()) });
    expect(foreign.status).toBe(404);
    expect((await call('GET', projectsPath(org))).status).toBe(401);
  });

  it('is Keygate’s own: no method reaches the origin, while project paths below it still do', async () => {
    const org = randomId();
    const origin = recordingOrigin();
    const headers = await adminHeaders(org);
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const res = await callVia(origin.fetcher, method, projectsPath(org), { headers, body: {} });
      expect(res.headers.get('x-origin'), method).toBeNull();
    }
    expect(origin.received).toEqual([]);
    const below = await callVia(origin.fetcher, 'GET', `${projectsPath(org)}/p/content`, { headers });
    expect(below.status, below.text).toBe(200);
    expect(origin.received.map((r) => r.path)).toEqual([`${projectsPath(org)}/p/content`]);
  });
});
