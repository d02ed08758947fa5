// Paths that Keygate and an origin could read differently, on every surface, with credentials
// that would otherwise be accepted: each is refused with 400 in its surface's shape and never
// reaches the recording origin. Also: every route Keygate registers under a gateway prefix is
// answered by Keygate, never forwarded.
import { describe, expect, it } from 'vitest';
import { createApp, ownedRouteTemplates } from '../../src/app';
import { pathProblem } from '../../src/gateway/path';
import { adminHeaders, createOrgKey, pairHeaders, randomId } from '../support/fixtures';
import { callVia, recordingOrigin } from '../support/origin';
import { apiKeyHeaders, createProjectKey, newProject } from '../support/project';

type Surface = 'org' | 'project';

/** Raw path suffixes, each a class the issue names; `{o}` is the caller's organization, `{x}` another one. */
const ORG_PATHS = [
  '/v1/keys;x',
  '/v1/keys%2Fkey_x',
  '/v1/keys%2fkey_x',
  '/v1/keys%3Bx',
  '/v1/keys%00',
  '/v1/keys%5C',
  '/v1/keys%5cx',
  '/v1/keys%0a',
  '/v1/keys%7F',
  '/v1//keys',
  '/v1/keys/',
  '/v1/companies/',
  '/v1/companies//c1',
  '/v1/companies/..;/keys',
  '/v1/companies/%2e%2e%2fkeys',
  '/v1/companies/%252e%252e/keys',
  '/v1/companies/%252E%252E%252Fkeys',
  '/v1/companies/%25%32%65%25%32%65/keys',
  '/v1/companies/%c0%ae%c0%ae/keys',
  '/v1/companies/%',
  '/v1/companies/%zz',
  '/v1/companies/c1%3bjsessionid=x',
  '/v1/companies;/c1',
];

const APP_PATHS = [
  '/app/v1/organizations%2F{x}/projects/p/content',
  '/app/v1/organizations;/{x}/projects/p/content',
  '/app/v1/organizations/{o};/projects/p/content',
  '/app/v1/organizations/{o}%2F..%2F{x}/projects/p/content',
  '/app/v1/organizations/{o}/projects/p/api-keys;x',
  '/app/v1/organizations/{o}/projects/p/api-keys%2Fx',
  '/app/v1/organizations/{o}/audit-log;x',
  '/app/v1/organizations/{o}/audit-log%00',
  '/app/v1/organizations/{o}/projects/p/content/..;/api-keys',
  '/app/v1//organizations/{x}/projects/p/content',
  '/app/v1/organizations/{o}/projects/p/content/',
];

const API_PATHS = [
  'content/..;/api-keys',
  'content/%2e%2e%2fdrafts',
  'content/%252e%252e/drafts',
  'content%2Fdrafts',
  'content%2fdrafts',
  'content%5Cdrafts',
  'content;x',
  'content/c1;x',
  'content//c1',
  'content/',
  'content/%00',
  'content/c1%0d%0aX-Injected:1',
  'saved-searches//execute',
];

function messageOf(surface: Surface, body: any): unknown {
  return surface === 'project' ? body?.error?.message : body?.error;
}

describe('hostile paths are refused, never forwarded', () => {
  it('under /v1 (organization key): 400 {"error": "invalid path"}', async () => {
    const org = randomId();
    const pair = await createOrgKey(org, 'hostile');
    const origin = recordingOrigin();
    for (const path of ORG_PATHS) {
      for (const method of ['GET', 'POST', 'DELETE']) {
        const res = await callVia(origin.fetcher, method, path, { headers: pairHeaders(pair) });
        expect(res.status, `${method} ${path}: ${res.text}`).toBe(400);
        expect(messageOf('org', res.body), `${method} ${path}`).toBe('invalid path');
        expect(res.body.details?.[0]?.field).toBe('path');
      }
    }
    expect(
      origin.received.map((r) => r.url),
      'a hostile path reached the origin',
    ).toEqual([]);
  });

  it('under /app/v1 (admin JWT): 400 VALIDATION_ERROR "invalid path"', async () => {
    const org = randomId();
    const other = randomId();
    const origin = recordingOrigin();
    const headers = await adminHeaders(org);
    for (const template of APP_PATHS) {
      const path = template.replaceAll('{o}', org).replaceAll('{x}', other);
      for (const method of ['GET', 'PUT']) {
        const res = await callVia(origin.fetcher, method, path, { headers, body: method === 'PUT' ? { name: 'x' } : undefined });
        expect(res.status, `${method} ${path}: ${res.text}`).toBe(400);
        expect(res.body.error?.code).toBe('VALIDATION_ERROR');
        expect(messageOf('project', res.body), path).toBe('invalid path');
      }
    }
    expect(
      origin.received.map((r) => r.url),
      'a hostile path reached the origin',
    ).toEqual([]);
  });

  it('under /api/v1 (project key): 400 VALIDATION_ERROR "invalid path", readable by the page (CORS)', async () => {
    const p = newProject();
    const key = await createProjectKey(p, 'hostile');
    const origin = recordingOrigin();
    for (const rest of API_PATHS) {
      const path = `/api/v1/organizations/${p.org}/projects/${p.project}/${rest}`;
      const method = rest.endsWith('execute') ? 'POST' : 'GET';
      const res = await callVia(origin.fetcher, method, path, { headers: apiKeyHeaders(key.key) });
      expect(res.status, `${path}: ${res.text}`).toBe(400);
      expect(messageOf('project', res.body), path).toBe('invalid path');
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
    }
    expect(
      origin.received.map((r) => r.url),
      'a hostile path reached the origin',
    ).toEqual([]);
  });

  it('dot segments the URL parser resolves (%2e%2e) reach Keygate resolved, and Keygate answers them itself', async () => {
    const org = randomId();
    const pair = await createOrgKey(org, 'resolved');
    const origin = recordingOrigin();
    for (const path of ['/v1/companies/%2e%2e/keys', '/v1/companies/%2E%2E/keys', '/v1/companies/.%2e/keys', '/v1/companies/./../keys']) {
      const res = await callVia(origin.fetcher, 'GET', path, { headers: pairHeaders(pair) });
      expect(res.status, `${path}: ${res.text}`).toBe(200);
      expect(
        res.body.data.map((k: { id: string }) => k.id),
        path,
      ).toContain(pair.id);
    }
    expect(
      origin.received.map((r) => r.url),
      'a resolved path reached the origin',
    ).toEqual([]);
  });

  it('lets plain, percent-encoded and unicode paths through, meaning to the origin what they mean to Keygate', async () => {
    const org = randomId();
    const pair = await createOrgKey(org, 'fine');
    const origin = recordingOrigin();
    const fine = [
      '/v1/companies',
      '/v1/companies/c1',
      '/v1/companies/%C3%A9t%C3%A9',
      '/v1/companies/a%20b',
      '/v1/companies/c.1',
      '/v1/companies/...',
      '/v1/.well-known',
    ];
    for (const path of fine) {
      const res = await callVia(origin.fetcher, 'GET', path, { headers: pairHeaders(pair) });
      expect(res.status, `${path}: ${res.text}`).toBe(200);
      expect(origin.received.at(-1)?.path).toBe(path);
    }
  });

  it('answers owned paths written with escapes of plain letters itself (they route as Keygate reads them)', async () => {
    const org = randomId();
    const pair = await createOrgKey(org, 'escaped');
    const origin = recordingOrigin();
    const res = await callVia(origin.fetcher, 'GET', '/v1/%6Beys', { headers: pairHeaders(pair) });
    expect(res.status, res.text).toBe(200);
    expect(res.body.data.map((k: { id: string }) => k.id)).toContain(pair.id);
    expect(origin.received).toEqual([]);
  });
});

describe('pathProblem', () => {
  const table: Array<[string, string | null]> = [
    ['/', null],
    ['/health', null],
    ['/v1/companies/c-1_x.y~z', null],
    ['/v1/keys;x', 'semicolon'],
    ['/v1/keys%3b', 'semicolon'],
    ['/v1/a%2Fb', 'encoded slash or backslash'],
    ['/v1/a%5cb', 'encoded slash or backslash'],
    ['/v1/a\\b', 'encoded slash or backslash'],
    ['/v1/./x', 'dot segment'],
    ['/v1/../x', 'dot segment'],
    ['/v1/%2E/x', 'dot segment'],
    ['/v1/%2e./x', 'dot segment'],
    ['/v1/%252e%252e/x', 'double encoding'],
    ['/v1/a%25b', 'double encoding'],
    ['/v1/%c0%ae', 'invalid percent-encoding'],
    ['/v1/%e', 'invalid percent-encoding'],
    ['/v1/a%00', 'control character'],
    ['/v1/a\tb', 'control character'],
    ['/v1//x', 'empty segment'],
    ['/v1/x/', 'empty segment'],
  ];
  for (const [path, problem] of table) {
    it(`${JSON.stringify(path)} → ${problem ?? 'fine'}`, () => {
      expect(pathProblem(path)).toBe(problem);
    });
  }
});

describe("Keygate's own routes", () => {
  it('every route registered under /v1 or /app/v1 is answered by Keygate, in any letter case, never forwarded', async () => {
    // Not the gateway's own catch-alls, which the other routes must win against.
    const templates = ownedRouteTemplates(createApp().routes);
    // The resources the contract names; a route added later is covered by the same loop.
    expect(templates).toEqual(
      expect.arrayContaining([
        '/v1/keys/*',
        '/app/v1/organizations/:organizationId/projects/:projectId/api-keys',
        '/app/v1/organizations/:organizationId/projects/:projectId/api-keys/:id',
        '/app/v1/organizations/:organizationId/audit-log',
      ]),
    );
    const org = randomId();
    const pair = await createOrgKey(org, 'owned');
    const admin = await adminHeaders(org);
    const origin = recordingOrigin();
    for (const template of templates) {
      const concrete = template
        .replace(/\/\*$/, '/key_x')
        .replace(':organizationId', org)
        .replace(/:[A-Za-z]+/g, 'x');
      for (const path of [concrete, concrete.toUpperCase().replace(org.toUpperCase(), org)]) {
        for (const method of ['GET', 'POST', 'PATCH', 'DELETE']) {
          const headers = path.startsWith('/v1/') ? pairHeaders(pair) : admin;
          const res = await callVia(origin.fetcher, method, path, {
            headers,
            body: method === 'GET' || method === 'DELETE' ? undefined : {},
          });
          expect(res.headers.get('x-origin'), `${method} ${path} reached the origin`).toBeNull();
        }
      }
    }
    expect(origin.received.map((r) => `${r.method} ${r.path}`)).toEqual([]);
  });
});
