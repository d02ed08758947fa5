// /app/v1/.../api-keys under attack: every route refuses missing and bad tokens (401), tokens of
// another organization (404) and member tokens on writes (403), and a refusal writes nothing.
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/keys/hash';
import { storageState } from '../support/db';
import { adminHeaders, bearer, call, createOrgKey, pairHeaders, randomId, remember, token } from '../support/fixtures';
import {
  ADMIN_REQUIRED_BODY,
  type CreatedProjectKey,
  createProjectKey,
  INVALID_TOKEN_PROJECT_BODY,
  keysPath,
  NOT_FOUND_BODY,
  newProject,
  type Project,
} from '../support/project';
import { inAnHour } from '../support/tokens';

type Route = {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  label: string;
  write: boolean;
  successStatus: number;
  /** The path and body of a request acting on `target`, a key of project `p`. */
  request(p: Project, target: CreatedProjectKey): { path: string; body?: unknown };
};

const routes: Route[] = [
  {
    method: 'POST',
    label: 'POST {base}',
    write: true,
    successStatus: 201,
    request: (p) => ({ path: keysPath(p), body: { name: randomId('new') } }),
  },
  { method: 'GET', label: 'GET {base}', write: false, successStatus: 200, request: (p) => ({ path: keysPath(p) }) },
  { method: 'GET', label: 'GET {base}/{id}', write: false, successStatus: 200, request: (p, t) => ({ path: keysPath(p, t.id) }) },
  {
    method: 'PUT',
    label: 'PUT {base}/{id} (rename)',
    write: true,
    successStatus: 200,
    request: (p, t) => ({ path: keysPath(p, t.id), body: { name: 'renamed' } }),
  },
  {
    method: 'PUT',
    label: 'PUT {base}/{id} (revoke)',
    write: true,
    successStatus: 200,
    request: (p, t) => ({ path: keysPath(p, t.id), body: { status: 'revoked' } }),
  },
  { method: 'DELETE', label: 'DELETE {base}/{id}', write: true, successStatus: 200, request: (p, t) => ({ path: keysPath(p, t.id) }) },
];

type BadCredential = { label: string; headers(p: Project, target: CreatedProjectKey): Promise<Record<string, string>> };

const badCredentials: BadCredential[] = [
  { label: 'no credential', headers: async () => ({}) },
  { label: 'an expired admin token', headers: async (p) => bearer(await token({ org: p.org, exp: Math.floor(Date.now() / 1000) - 60 })) },
  {
    label: 'an admin token signed with another secret (forged)',
    headers: async (p) => bearer(await token({ org: p.org, exp: inAnHour() }, 'forged-secret-0123456789abcdef0123456789abcdef')),
  },
  { label: 'a garbage bearer token', headers: async () => bearer('not.a.jwt') },
  { label: 'an empty bearer', headers: async () => ({ authorization: 'Bearer ' }) },
  { label: 'the token without the Bearer scheme', headers: async (p) => ({ authorization: await token({ org: p.org }) }) },
  { label: 'an organization key pair instead of a token', headers: async (p) => pairHeaders(await createOrgKey(p.org, 'pair')) },
  { label: 'a project key in x-api-key', headers: async (_p, target) => ({ 'x-api-key': target.key }) },
  { label: 'a project key as the bearer token', headers: async (_p, target) => bearer(target.key) },
];

for (const route of routes) {
  describe(`${route.label}: access`, () => {
    it('works with an admin token of the organization', async () => {
      const p = newProject();
      const target = await createProjectKey(p, 'target');
      const { path, body } = route.request(p, target);
      const res = await call(route.method, path, { headers: await adminHeaders(p.org), body });
      if (typeof res.body?.key === 'string') await remember('project key', res.body.key);
      expect(res.status, res.text).toBe(route.successStatus);
    });

    for (const credential of badCredentials) {
      it(`refuses ${credential.label} with 401 UNAUTHORIZED and writes nothing`, async () => {
        const p = newProject();
        const target = await createProjectKey(p, 'target');
        const headers = await credential.headers(p, target);
        const { path, body } = route.request(p, target);
        const before = await storageState(p.org);
        const res = await call(route.method, path, { headers, body });
        expect(res.status, res.text).toBe(401);
        expect(res.body).toEqual(INVALID_TOKEN_PROJECT_BODY);
        expect(await storageState(p.org), 'a refused request changed D1').toEqual(before);
      });
    }

    for (const role of ['admin', 'member'] as const) {
      it(`answers a ${role} token of another organization with exactly 404 NOT_FOUND and writes nothing`, async () => {
        const p = newProject();
        const target = await createProjectKey(p, 'target');
        const { path, body } = route.request(p, target);
        const before = await storageState(p.org);
        const res = await call(route.method, path, { headers: await adminHeaders(randomId(), { role }), body });
        expect(res.status, res.text).toBe(404);
        expect(res.body).toEqual(NOT_FOUND_BODY);
        expect(await storageState(p.org), "another organization's token changed D1").toEqual(before);
      });
    }

    if (route.write) {
      it('refuses a member token with exactly 403 FORBIDDEN and writes nothing', async () => {
        const p = newProject();
        const target = await createProjectKey(p, 'target');
        const { path, body } = route.request(p, target);
        const before = await storageState(p.org);
        const res = await call(route.method, path, { headers: await adminHeaders(p.org, { role: 'member' }), body });
        expect(res.status, res.text).toBe(403);
        expect(res.body).toEqual(ADMIN_REQUIRED_BODY);
        expect(await storageState(p.org), "a member's refused change changed D1").toEqual(before);
      });
    } else {
      it('lets a member token read (200)', async () => {
        const p = newProject();
        const target = await createProjectKey(p, 'target');
        const { path } = route.request(p, target);
        const res = await call(route.method, path, { headers: await adminHeaders(p.org, { role: 'member' }) });
        expect(res.status, res.text).toBe(200);
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
