// The gateway: what reaches the origin for each surface (identity headers, never credentials,
// never a client's x-keygate-*), what is never forwarded, and the origin by binding or by URL.
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { adminHeaders, bearer, call, createOrgKey, pairHeaders, type Reply, randomId, remember, revokeOrgKey } from '../support/fixtures';
import { callVia, recordingOrigin, throwingOrigin } from '../support/origin';
import {
  apiKeyHeaders,
  clientPath,
  createProjectKey,
  INVALID_TOKEN_PROJECT_BODY,
  keysPath,
  NOT_FOUND_BODY,
  newProject,
} from '../support/project';
import { callWith } from '../support/worker';

/** Credentials and spoofed identity a hostile client adds to every request. */
const HOSTILE_HEADERS = {
  'x-keygate-org-id': 'evil-org',
  'x-keygate-project-id': 'evil-project',
  'x-keygate-key-id': 'evil-key',
  'x-keygate-key-kind': 'org',
  'x-keygate-permissions': '*',
  'x-keygate-visibility': 'all',
  'x-keygate-role': 'admin',
  'x-keygate-user-id': 'root',
  'x-keygate-secret': 'guessed',
  'X-Keygate-Anything-Else': 'dropped too',
  'cf-access-jwt-assertion': 'some.access.jwt',
};

/** Headers of an ordinary client that should arrive untouched. */
const ORDINARY_HEADERS = { accept: 'application/json', 'accept-language': 'de-CH', 'x-request-trace': 'trace-123' };

const ORG_KEY_BODY = { error: 'invalid api key or clientId' };

describe('what the origin receives', () => {
  it('/v1/* with an organization key: the org identity, no credentials, the client headers', async () => {
    const org = randomId();
    const pair = await createOrgKey(org, 'gateway');
    const origin = recordingOrigin();
    const res = await callVia(origin.fetcher, 'GET', '/v1/companies', {
      headers: {
        ...pairHeaders(pair),
        ...HOSTILE_HEADERS,
        ...ORDINARY_HEADERS,
        'x-api-key': 'kg_pk_whatever',
        authorization: 'Bearer abc',
      },
    });
    expect(res.status, res.text).toBe(200);
    expect(origin.received).toHaveLength(1);
    expect(origin.received[0]!.headers).toEqual({
      ...ORDINARY_HEADERS,
      'x-keygate-org-id': org,
      'x-keygate-key-id': pair.id,
      'x-keygate-key-kind': 'org',
      'x-keygate-permissions': 'keys:read,keys:write,api:read,api:write',
    });
  });

  it('/api/v1/... with a project key: the project identity, published only', async () => {
    const p = newProject();
    const key = await createProjectKey(p, 'gateway');
    const origin = recordingOrigin();
    const res = await callVia(origin.fetcher, 'GET', clientPath(p, 'content'), {
      headers: {
        ...apiKeyHeaders(key.key),
        ...HOSTILE_HEADERS,
        ...ORDINARY_HEADERS,
        'x-metal-api-key': 'x',
        'x-metal-client-id': 'y',
        authorization: 'Bearer abc',
      },
    });
    expect(res.status, res.text).toBe(200);
    expect(origin.received).toHaveLength(1);
    expect(origin.received[0]!.headers).toEqual({
      ...ORDINARY_HEADERS,
      'x-keygate-org-id': p.org,
      'x-keygate-project-id': p.project,
      'x-keygate-key-id': key.id,
      'x-keygate-key-kind': 'project',
      'x-keygate-permissions': 'content.read,packages.read,assets.read',
      'x-keygate-visibility': 'published',
    });
  });

  for (const role of ['admin', 'member'] as const) {
    it(`/app/v1/... with a ${role} JWT: the user identity, everything visible`, async () => {
      const p = newProject();
      const origin = recordingOrigin();
      const res = await callVia(origin.fetcher, 'GET', `/app/v1/organizations/${p.org}/projects/${p.project}/content`, {
        headers: {
          ...(await adminHeaders(p.org, { sub: 'erin', role })),
          ...HOSTILE_HEADERS,
          ...ORDINARY_HEADERS,
          'x-api-key': 'x',
          'x-metal-api-key': 'y',
          'x-metal-client-id': 'z',
        },
      });
      expect(res.status, res.text).toBe(200);
      expect(origin.received).toHaveLength(1);
      expect(origin.received[0]!.headers).toEqual({
        ...ORDINARY_HEADERS,
        'x-keygate-org-id': p.org,
        'x-keygate-user-id': 'erin',
        'x-keygate-role': role,
        'x-keygate-visibility': 'all',
      });
    });
  }

  it('/app/v1/* outside any organization path is forwarded with the token organization', async () => {
    const org = randomId();
    const origin = recordingOrigin();
    const res = await callVia(origin.fetcher, 'GET', '/app/v1/me', { headers: await adminHeaders(org, { sub: 'frank' }) });
    expect(res.status, res.text).toBe(200);
    expect(origin.received.map((r) => [r.path, r.headers['x-keygate-org-id'], r.headers['x-keygate-user-id']])).toEqual([
      ['/app/v1/me', org, 'frank'],
    ]);
  });

  it('drops x-keygate-* headers sent in any letter case and with several values', async () => {
    const org = randomId();
    const pair = await createOrgKey(org, 'case');
    const origin = recordingOrigin();
    const headers = new Headers(pairHeaders(pair));
    headers.append('X-KEYGATE-ORG-ID', 'evil-1');
    headers.append('x-keygate-org-id', 'evil-2');
    headers.append('X-Keygate-Visibility', 'all');
    const res = await callVia(origin.fetcher, 'GET', '/v1/companies', { headers: Object.fromEntries(headers) });
    expect(res.status, res.text).toBe(200);
    expect(origin.received[0]!.headers['x-keygate-org-id']).toBe(org);
    expect(
      Object.keys(origin.received[0]!.headers)
        .filter((h) => h.startsWith('x-keygate-'))
        .sort(),
    ).toEqual(['x-keygate-key-id', 'x-keygate-key-kind', 'x-keygate-org-id', 'x-keygate-permissions']);
  });

  it('passes method, path, query and body through intact', async () => {
    const org = randomId();
    const pair = await createOrgKey(org, 'intact');
    const origin = recordingOrigin();
    const path = '/v1/companies/cmp%201/notes/%C3%A9t%C3%A9';
    const search = '?b=2&a=1&a=3&q=hello%20world&plus=a+b&empty=&flag';
    const cases: Array<{ method: string; body?: unknown; rawBody?: string; headers?: Record<string, string>; expected: string | null }> = [
      { method: 'GET', expected: null },
      { method: 'POST', body: { name: 'Acme', nested: { n: 1 } }, expected: '{"name":"Acme","nested":{"n":1}}' },
      { method: 'PUT', rawBody: 'plain text body', headers: { 'content-type': 'text/plain' }, expected: 'plain text body' },
      { method: 'PATCH', body: [1, 2, 3], expected: '[1,2,3]' },
      { method: 'DELETE', expected: null },
    ];
    for (const c of cases) {
      const res = await callVia(origin.fetcher, c.method, `${path}${search}`, {
        headers: { ...pairHeaders(pair), ...c.headers },
        body: c.body,
        rawBody: c.rawBody,
      });
      expect(res.status, res.text).toBe(200);
      const received = origin.received.at(-1)!;
      expect({ method: received.method, path: received.path, search: received.search }).toEqual({ method: c.method, path, search });
      expect(received.body ?? null, `${c.method} body`).toBe(c.expected);
    }
  });

  it("returns the origin's answer as it is: status, headers and body", async () => {
    const org = randomId();
    const pair = await createOrgKey(org, 'answer');
    const origin = recordingOrigin(
      () => new Response('short and stout', { status: 418, headers: { 'x-teapot': 'yes', 'content-type': 'text/plain' } }),
    );
    const res = await callVia(origin.fetcher, 'GET', '/v1/teapot', { headers: pairHeaders(pair) });
    expect(res.status, res.text).toBe(418);
    expect(res.text).toBe('short and stout');
    expect(res.headers.get('x-teapot')).toBe('yes');
  });

  it('reaches the ORIGIN service binding of the test pool (another Worker) with the same headers', async () => {
    const org = randomId();
    const pair = await createOrgKey(org, 'binding');
    const res = await call('GET', '/v1/companies?page=2', { headers: { ...pairHeaders(pair), ...HOSTILE_HEADERS } });
    expect(res.status, res.text).toBe(200);
    expect(res.headers.get('x-recording-origin')).toBe('yes');
    expect(res.body).toEqual({
      method: 'GET',
      path: '/v1/companies',
      search: '?page=2',
      headers: {
        'x-keygate-org-id': org,
        'x-keygate-key-id': pair.id,
        'x-keygate-key-kind': 'org',
        'x-keygate-permissions': 'keys:read,keys:write,api:read,api:write',
      },
      body: '',
    });
  });
});

describe('what is never forwarded', () => {
  const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

  for (const path of ['/v1/keys', '/v1/keys/', '/v1/keys/key_abc', '/v1/keys/key_abc/extra', '/v1/keys?x=1']) {
    it(`${path} with a key pair, any method`, async () => {
      const org = randomId();
      const pair = await createOrgKey(org, 'owned');
      const origin = recordingOrigin();
      for (const method of METHODS) {
        const res = await callVia(origin.fetcher, method, path, {
          headers: pairHeaders(pair),
          body: method === 'GET' || method === 'DELETE' ? undefined : { name: 'n' },
        });
        expect(res.headers.get('x-origin'), `${method} ${path} was answered by the origin`).toBeNull();
      }
      expect(origin.received, 'Keygate-owned paths reached the origin').toEqual([]);
    });
  }

  const ownedAppPaths = (org: string, project: string) => [
    keysPath({ org, project }),
    `${keysPath({ org, project })}/`,
    keysPath({ org, project }, crypto.randomUUID()),
    `${keysPath({ org, project }, 'x')}/extra`,
    `/app/v1/organizations/${org}/audit-log`,
    `/app/v1/organizations/${org}/audit-log/`,
    `/app/v1/organizations/${org}/audit-log/extra`,
  ];
  it('the api-keys and audit-log paths with an admin JWT, any method', async () => {
    const p = newProject();
    const origin = recordingOrigin();
    for (const path of ownedAppPaths(p.org, p.project)) {
      for (const method of METHODS) {
        const res = await callVia(origin.fetcher, method, path, {
          headers: await adminHeaders(p.org),
          body: method === 'GET' || method === 'DELETE' ? undefined : { name: randomId('n') },
        });
        if (typeof res.body?.key === 'string') await remember('project key', res.body.key);
        expect(res.headers.get('x-origin'), `${method} ${path} was answered by the origin`).toBeNull();
      }
    }
    expect(origin.received, 'Keygate-owned paths reached the origin').toEqual([]);
  });

  it('anything under another organization with an admin JWT: 404 NOT_FOUND', async () => {
    const org = randomId();
    const origin = recordingOrigin();
    for (const rest of ['projects/p/content', 'settings', 'projects']) {
      const res = await callVia(origin.fetcher, 'GET', `/app/v1/organizations/${randomId()}/${rest}`, { headers: await adminHeaders(org) });
      expect(res.status, res.text).toBe(404);
      expect(res.body).toEqual(NOT_FOUND_BODY);
    }
    expect(origin.received).toEqual([]);
  });

  const refusedPairs: Array<{ label: string; headers(org: string): Promise<Record<string, string>> }> = [
    { label: 'no credential', headers: async () => ({}) },
    { label: 'only the secret', headers: async (org) => ({ 'x-metal-api-key': (await createOrgKey(org, 'half')).apiKey }) },
    { label: 'an admin JWT (the /v1 surface takes key pairs)', headers: (org) => adminHeaders(org) },
    { label: 'a project key', headers: async (org) => apiKeyHeaders((await createProjectKey(newProject(org), 'pk')).key) },
    {
      label: 'a revoked key pair',
      headers: async (org) => {
        const pair = await createOrgKey(org, 'revoked');
        await revokeOrgKey(pair);
        return pairHeaders(pair);
      },
    },
  ];
  for (const { label, headers } of refusedPairs) {
    it(`/v1/* with ${label}: 401 {"error":"invalid api key or clientId"}`, async () => {
      const org = randomId();
      const origin = recordingOrigin();
      const res = await callVia(origin.fetcher, 'GET', '/v1/companies', { headers: await headers(org) });
      expect(res.status, res.text).toBe(401);
      expect(res.body).toEqual(ORG_KEY_BODY);
      expect(origin.received).toEqual([]);
    });
  }

  const refusedTokens: Array<{ label: string; headers(org: string): Promise<Record<string, string>> }> = [
    { label: 'no credential', headers: async () => ({}) },
    { label: 'a key pair (the /app surface takes JWTs)', headers: async (org) => pairHeaders(await createOrgKey(org, 'pair')) },
    { label: 'a garbage token', headers: async () => bearer('garbage') },
  ];
  for (const { label, headers } of refusedTokens) {
    it(`/app/v1/* with ${label}: 401`, async () => {
      const org = randomId();
      const origin = recordingOrigin();
      const res = await callVia(origin.fetcher, 'GET', `/app/v1/organizations/${org}/projects/p/content`, { headers: await headers(org) });
      expect(res.status, res.text).toBe(401);
      expect(res.body).toEqual(INVALID_TOKEN_PROJECT_BODY);
      expect(origin.received).toEqual([]);
    });
  }
});

describe('path variants of Keygate-owned routes', () => {
  it('refuses paths with an empty segment (400, in the surface shape) instead of forwarding them', async () => {
    const org = randomId();
    const pair = await createOrgKey(org, 'variants');
    const admin = await adminHeaders(org);
    const origin = recordingOrigin();
    const cases: Array<[string, Record<string, string>]> = [
      ['/v1//keys', pairHeaders(pair)],
      ['/v1/companies//cmp_1', pairHeaders(pair)],
      [`/app/v1//organizations/${randomId()}/projects/p/content`, admin],
      [`/app/v1/organizations/${org}//audit-log`, admin],
    ];
    for (const [path, headers] of cases) {
      const res = await callVia(origin.fetcher, 'GET', path, { headers });
      expect(res.status, `${path}: ${res.text}`).toBe(400);
      const message = path.startsWith('/app/') ? res.body.error.message : res.body.error;
      expect(message).toBe('invalid path');
    }
    expect(origin.received, 'a // path reached the origin').toEqual([]);
  });

  it('keeps /v1/Keys and other letter cases of owned paths away from the origin', async () => {
    const org = randomId();
    const pair = await createOrgKey(org, 'case');
    const origin = recordingOrigin();
    for (const path of ['/v1/Keys', '/v1/KEYS/key_abc']) {
      const res = await callVia(origin.fetcher, 'GET', path, { headers: pairHeaders(pair) });
      expect(res.status, `${path}: ${res.text}`).toBe(404);
    }
    const res = await callVia(origin.fetcher, 'GET', `/app/v1/organizations/${org}/Audit-Log`, { headers: await adminHeaders(org) });
    expect(res.status, res.text).toBe(404);
    expect(origin.received).toEqual([]);
  });

  it('checks the organization of /app/v1/Organizations/{id} whatever the letter case', async () => {
    const origin = recordingOrigin();
    const res = await callVia(origin.fetcher, 'GET', `/app/v1/Organizations/${randomId()}/projects/p/content`, {
      headers: await adminHeaders(randomId()),
    });
    expect(res.status, res.text).toBe(404);
    expect(origin.received).toEqual([]);
  });
});

describe('which origin', () => {
  /** Headers the runtime adds to any outgoing HTTP request, not Keygate's doing. */
  const transport = (headers: Record<string, string>) => {
    const { host: _host, 'cf-worker': _cfWorker, 'content-length': _length, ...rest } = headers;
    return rest;
  };

  it('uses ORIGIN_URL (path and query appended) when there is no ORIGIN binding', async () => {
    const org = randomId();
    const pair = await createOrgKey(org, 'by url');
    for (const base of [`${env.TEST_ORIGIN_URL}base`, `${env.TEST_ORIGIN_URL}base/`]) {
      const res = await callWith({ ORIGIN: undefined, ORIGIN_URL: base }, 'GET', '/v1/companies/cmp_1?a=1&b=2', {
        headers: { ...pairHeaders(pair), ...HOSTILE_HEADERS, accept: 'application/json' },
      });
      expect(res.status, res.text).toBe(200);
      expect(res.body.echo).toBe('origin-url');
      expect(res.body.url).toBe('https://origin.keygate.test/base/v1/companies/cmp_1?a=1&b=2');
      expect(transport(res.body.headers)).toEqual({
        accept: 'application/json',
        'x-keygate-org-id': org,
        'x-keygate-key-id': pair.id,
        'x-keygate-key-kind': 'org',
        'x-keygate-permissions': 'keys:read,keys:write,api:read,api:write',
      });
    }
  });

  it('sends ORIGIN_SHARED_SECRET as x-keygate-secret, replacing any the client sent', async () => {
    const p = newProject();
    const key = await createProjectKey(p, 'shared secret');
    const overrides = {
      ORIGIN: undefined,
      ORIGIN_URL: env.TEST_ORIGIN_URL,
      ORIGIN_SHARED_SECRET: 'shared-secret-of-the-operator',
    } as Partial<Env>;
    const res = await callWith(overrides, 'GET', clientPath(p, 'tags'), {
      headers: { ...apiKeyHeaders(key.key), 'x-keygate-secret': 'guessed' },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body.url).toBe(`https://origin.keygate.test${clientPath(p, 'tags')}`);
    expect(res.body.headers['x-keygate-secret']).toBe('shared-secret-of-the-operator');
  });

  it('prefers the ORIGIN binding when ORIGIN_URL is set too', async () => {
    const org = randomId();
    const pair = await createOrgKey(org, 'both');
    const origin = recordingOrigin();
    const res = await callWith({ ORIGIN: origin.fetcher, ORIGIN_URL: env.TEST_ORIGIN_URL }, 'GET', '/v1/companies', {
      headers: pairHeaders(pair),
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({ origin: 'recorded' });
    expect(origin.received).toHaveLength(1);
  });

  it('answers 503 SERVICE_UNAVAILABLE on every surface when no origin is configured', async () => {
    const p = newProject();
    const pair = await createOrgKey(p.org, 'no origin');
    const key = await createProjectKey(p, 'no origin');
    const none = { ORIGIN: undefined, ORIGIN_URL: '' };
    const orgRes = await callWith(none, 'GET', '/v1/companies', { headers: pairHeaders(pair) });
    expect(orgRes.status, orgRes.text).toBe(503);
    expect(orgRes.body).toEqual({ error: 'no origin is configured', requestId: expect.any(String) });
    expect(orgRes.headers.get('retry-after')).toBe('1');
    const projectBody = { error: { code: 'SERVICE_UNAVAILABLE', message: 'no origin is configured', requestId: expect.any(String) } };
    const clientRes = await callWith(none, 'GET', clientPath(p, 'content'), { headers: apiKeyHeaders(key.key) });
    expect(clientRes.status, clientRes.text).toBe(503);
    expect(clientRes.body).toEqual(projectBody);
    const appRes = await callWith(none, 'GET', `/app/v1/organizations/${p.org}/projects/${p.project}/content`, {
      headers: await adminHeaders(p.org),
    });
    expect(appRes.status, appRes.text).toBe(503);
    expect(appRes.body).toEqual(projectBody);
  });

  it('still authenticates first when no origin is configured', async () => {
    const res = await callWith({ ORIGIN: undefined, ORIGIN_URL: '' }, 'GET', '/v1/companies');
    expect(res.status, res.text).toBe(401);
    expect(res.body).toEqual(ORG_KEY_BODY);
  });

  it('answers 502 BAD_GATEWAY when the origin throws, without its error text', async () => {
    const p = newProject();
    const pair = await createOrgKey(p.org, 'bad gateway');
    const key = await createProjectKey(p, 'bad gateway');
    const calls: string[] = [];
    const origin = throwingOrigin(calls);
    const answers: Reply[] = [
      await callVia(origin, 'GET', '/v1/companies', { headers: pairHeaders(pair) }),
      await callVia(origin, 'GET', clientPath(p, 'assets'), { headers: apiKeyHeaders(key.key) }),
      await callVia(origin, 'POST', `/app/v1/organizations/${p.org}/projects/${p.project}/content`, {
        headers: await adminHeaders(p.org),
        body: { title: 't' },
      }),
    ];
    expect(calls).toHaveLength(3);
    expect(answers.map((r) => r.status)).toEqual([502, 502, 502]);
    expect(answers[0]!.body).toEqual({ error: 'the origin could not be reached', requestId: expect.any(String) });
    for (const res of answers.slice(1)) {
      expect(res.body).toEqual({
        error: { code: 'BAD_GATEWAY', message: 'the origin could not be reached', requestId: expect.any(String) },
      });
    }
    for (const res of answers) expect(res.text).not.toContain('exploded');
  });
});
