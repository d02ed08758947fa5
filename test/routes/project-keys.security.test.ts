// The project surface under attack: every route (api-keys, projects, audit-log) runs the shared
// suite (test/support/auth-suite.ts): missing and bad tokens 401, another organization 404, member
// tokens on admin routes 403, and a refusal writes nothing; a project key is never an admin credential.
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/keys/hash';
import { runAuthSuite } from '../support/auth-suite';
import { storageState } from '../support/db';
import { adminHeaders, bearer, call, randomId } from '../support/fixtures';
import {
  type CreatedProjectKey,
  createProjectKey,
  INVALID_TOKEN_PROJECT_BODY,
  keysPath,
  newProject,
  type Project,
} from '../support/project';

type Route = {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  adminOnly: boolean;
  successStatus: 200 | 201;
  /** The path and body of a request acting on `target`, a key of project `p`. */
  request(p: Project, target: CreatedProjectKey): { path: string; body?: unknown };
};

const routes: Route[] = [
  {
    method: 'POST',
    path: 'POST {base}',
    adminOnly: true,
    successStatus: 201,
    request: (p) => ({ path: keysPath(p), body: { name: randomId('new') } }),
  },
  { method: 'GET', path: 'GET {base}', adminOnly: false, successStatus: 200, request: (p) => ({ path: keysPath(p) }) },
  { method: 'GET', path: 'GET {base}/{id}', adminOnly: false, successStatus: 200, request: (p, t) => ({ path: keysPath(p, t.id) }) },
  {
    method: 'PUT',
    path: 'PUT {base}/{id} (rename)',
    adminOnly: true,
    successStatus: 200,
    request: (p, t) => ({ path: keysPath(p, t.id), body: { name: 'renamed' } }),
  },
  {
    method: 'PUT',
    path: 'PUT {base}/{id} (revoke)',
    adminOnly: true,
    successStatus: 200,
    request: (p, t) => ({ path: keysPath(p, t.id), body: { status: 'revoked' } }),
  },
  { method: 'DELETE', path: 'DELETE {base}/{id}', adminOnly: true, successStatus: 200, request: (p, t) => ({ path: keysPath(p, t.id) }) },
  {
    method: 'GET',
    path: 'GET /app/v1/organizations/{org}/projects',
    adminOnly: false,
    successStatus: 200,
    request: (p) => ({ path: `/app/v1/organizations/${p.org}/projects` }),
  },
  {
    method: 'GET',
    path: 'GET /app/v1/organizations/{org}/audit-log',
    adminOnly: true,
    successStatus: 200,
    request: (p) => ({ path: `/app/v1/organizations/${p.org}/audit-log` }),
  },
];

for (const route of routes) {
  runAuthSuite({
    surface: 'project',
    method: route.method,
    path: route.path,
    adminOnly: route.adminOnly,
    successStatus: route.successStatus,
    async prepare(tenant) {
      const p = newProject(tenant.org);
      const target = await createProjectKey(p, 'target');
      return { ...route.request(p, target), projectKey: target.key };
    },
  });

  describe(`${route.path}: a project key is no admin credential`, () => {
    for (const [label, headers] of [
      ['in x-api-key', (key: string) => ({ 'x-api-key': key })],
      ['as the bearer token', (key: string) => bearer(key)],
    ] as const) {
      it(`refuses the project key ${label} with 401 UNAUTHORIZED and writes nothing`, async () => {
        const p = newProject();
        const target = await createProjectKey(p, 'target');
        const { path, body } = route.request(p, target);
        const before = await storageState(p.org);
        const res = await call(route.method, path, { headers: headers(target.key), body });
        expect(res.status, res.text).toBe(401);
        expect(res.body).toEqual(INVALID_TOKEN_PROJECT_BODY);
        expect(await storageState(p.org), 'a refused request changed D1').toEqual(before);
      });
    }
  });
}

describe('the key is shown once', () => {
  it('never returns the key or its hash after the create response', async () => {
    const p = newProject();
    const created = await createProjectKey(p, 'secret');
    const hash = await sha256Hex(created.key);
    const answers = [
      await call('GET', keysPath(p), { headers: await adminHeaders(p.org) }),
      await call('GET', keysPath(p, created.id), { headers: await adminHeaders(p.org) }),
      await call('PUT', keysPath(p, created.id), { headers: await adminHeaders(p.org), body: { name: 'renamed secret' } }),
      await call('PUT', keysPath(p, created.id), { headers: await adminHeaders(p.org), body: { status: 'revoked' } }),
      await call('GET', `/app/v1/organizations/${p.org}/audit-log`, { headers: await adminHeaders(p.org) }),
      await call('DELETE', keysPath(p, created.id), { headers: await adminHeaders(p.org) }),
    ];
    for (const res of answers) {
      expect(res.status, res.text).toBe(200);
      expect(res.text).not.toContain(created.key);
      expect(res.text).not.toContain(hash);
      expect(res.text).not.toContain(created.key.slice(6, 20));
    }
  });

  it('a member reads the metadata but never the key', async () => {
    const p = newProject();
    const created = await createProjectKey(p, 'member view');
    const res = await call('GET', keysPath(p), { headers: await adminHeaders(p.org, { role: 'member' }) });
    expect(res.status, res.text).toBe(200);
    expect(res.body.data).toEqual([expect.objectContaining({ id: created.id, name: 'member view' })]);
    expect(Object.keys(res.body.data[0])).not.toContain('key');
    expect(res.text).not.toContain(created.key);
  });
});
