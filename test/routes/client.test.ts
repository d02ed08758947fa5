// /api/v1/organizations/{org}/projects/{project}/...: the project key policy (method x first
// segment), the one 401 for every refused key, and revocation through a warm KV cache.
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { generateKey } from '../../src/keys/format';
import { poll } from '../support/db';
import { adminHeaders, bearer, call, createOrgKey, randomId, remember, withAlteredChecksum } from '../support/fixtures';
import { callVia, recordingOrigin, sharedEnvCaller } from '../support/origin';
import {
  apiKeyHeaders,
  cachedRecord,
  cacheKeyOf,
  clientPath,
  createProjectKey,
  customKeyValue,
  deleteProjectKey,
  INVALID_API_KEY_BODY,
  keysPath,
  newProject,
  type Project,
  updateProjectKey,
} from '../support/project';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
const READS = new Set<string>(['GET', 'HEAD']);
/** The first segments a project key may read. */
const READABLE = ['content', 'content-types', 'tags', 'saved-searches', 'packages', 'assets'];
/** Anything else: unknown, Keygate's own. (Empty segments never get this far: test/gateway/hostile-paths.test.ts.) */
const UNREADABLE: Array<{ label: string; rest: string }> = [
  { label: 'drafts', rest: 'drafts' },
  { label: 'api-keys', rest: 'api-keys' },
  { label: 'audit-log', rest: 'audit-log' },
  { label: 'Content (case differs)', rest: 'Content' },
];

const FORBIDDEN_RESOURCE = { error: { code: 'FORBIDDEN', message: 'this resource is not available to API keys' } };
const READ_ONLY = { error: { code: 'FORBIDDEN', message: 'API keys are read-only' } };

async function keyed(): Promise<{ p: Project; key: string; id: string }> {
  const p = newProject();
  const created = await createProjectKey(p, 'client');
  return { p, key: created.key, id: created.id };
}

/** Asserts that the request reached the origin exactly as sent, once, and its answer came back. */
function expectForwarded(
  res: { status: number; text: string; body: unknown },
  origin: ReturnType<typeof recordingOrigin>,
  expected: { method: string; path: string; search?: string },
) {
  expect(res.status, res.text).toBe(200);
  if (expected.method !== 'HEAD') expect(res.body).toEqual({ origin: 'recorded' });
  expect(origin.received.map((r) => [r.method, r.path, r.search])).toEqual([[expected.method, expected.path, expected.search ?? '']]);
}

function expectRefused(
  res: { status: number; text: string; body: unknown },
  method: string,
  body: unknown,
  origin: ReturnType<typeof recordingOrigin>,
) {
  expect(res.status, res.text).toBe(403);
  // A HEAD answer has no body.
  if (method !== 'HEAD') expect(res.body).toEqual(body);
  expect(origin.received, 'a refused request reached the origin').toEqual([]);
}

describe('the client policy: method x first segment', () => {
  for (const method of METHODS) {
    for (const segment of READABLE) {
      const allowed = READS.has(method);
      it(`${method} .../${segment} is ${allowed ? 'forwarded' : '403 FORBIDDEN'}`, async () => {
        const { p, key } = await keyed();
        const origin = recordingOrigin();
        const body = method === 'GET' || method === 'HEAD' ? undefined : { q: 1 };
        const res = await callVia(origin.fetcher, method, clientPath(p, segment), { headers: apiKeyHeaders(key), body });
        if (allowed) expectForwarded(res, origin, { method, path: clientPath(p, segment) });
        else expectRefused(res, method, READ_ONLY, origin);
      });

      if (allowed) {
        it(`${method} .../${segment}/{id}?query is forwarded with path and query intact`, async () => {
          const { p, key } = await keyed();
          const origin = recordingOrigin();
          const res = await callVia(origin.fetcher, method, `${clientPath(p, `${segment}/item_1`)}?page=2&tag=a&tag=b`, {
            headers: apiKeyHeaders(key),
          });
          expectForwarded(res, origin, { method, path: clientPath(p, `${segment}/item_1`), search: '?page=2&tag=a&tag=b' });
        });
      }
    }

    for (const { label, rest } of UNREADABLE) {
      it(`${method} .../${label} is 403 FORBIDDEN`, async () => {
        const { p, key } = await keyed();
        const origin = recordingOrigin();
        const res = await callVia(origin.fetcher, method, clientPath(p, rest), { headers: apiKeyHeaders(key) });
        expectRefused(res, method, FORBIDDEN_RESOURCE, origin);
      });
    }

    it(`${method} on the project itself (no trailing slash) is 403 FORBIDDEN`, async () => {
      const { p, key } = await keyed();
      const origin = recordingOrigin();
      const res = await callVia(origin.fetcher, method, `/api/v1/organizations/${p.org}/projects/${p.project}`, {
        headers: apiKeyHeaders(key),
      });
      expectRefused(res, method, FORBIDDEN_RESOURCE, origin);
    });
  }

  it('forwards POST .../saved-searches/{id}/execute with its body', async () => {
    const { p, key } = await keyed();
    const origin = recordingOrigin();
    const path = clientPath(p, 'saved-searches/ss_1/execute');
    const res = await callVia(origin.fetcher, 'POST', `${path}?dry=1`, { headers: apiKeyHeaders(key), body: { params: { q: 'launch' } } });
    expectForwarded(res, origin, { method: 'POST', path, search: '?dry=1' });
    expect(origin.received[0]?.body).toBe('{"params":{"q":"launch"}}');
    expect(origin.received[0]?.headers['content-type']).toBe('application/json');
  });

  const notExecute = [
    { method: 'POST', rest: 'saved-searches/ss_1', body: READ_ONLY },
    { method: 'POST', rest: 'saved-searches/ss_1/execute/again', body: READ_ONLY },
    { method: 'POST', rest: 'saved-searches/execute', body: READ_ONLY },
    { method: 'POST', rest: 'content/cnt_1/execute', body: READ_ONLY },
    { method: 'POST', rest: 'drafts/ss_1/execute', body: FORBIDDEN_RESOURCE },
    { method: 'PUT', rest: 'saved-searches/ss_1/execute', body: READ_ONLY },
    { method: 'PATCH', rest: 'saved-searches/ss_1/execute', body: READ_ONLY },
    { method: 'DELETE', rest: 'saved-searches/ss_1/execute', body: READ_ONLY },
  ];
  for (const { method, rest, body } of notExecute) {
    it(`refuses ${method} .../${rest} with 403`, async () => {
      const { p, key } = await keyed();
      const origin = recordingOrigin();
      const res = await callVia(origin.fetcher, method, clientPath(p, rest), { headers: apiKeyHeaders(key), body: {} });
      expectRefused(res, method, body, origin);
    });
  }

  it('checks each segment against the permissions the key holds', async () => {
    const { p, key, id } = await keyed();
    // The key has not been used yet, so nothing is cached: the next lookup reads this row.
    await env.DB.prepare('UPDATE api_keys SET permissions = ?1 WHERE id = ?2')
      .bind(JSON.stringify(['content.read']), id)
      .run();
    const origin = recordingOrigin();
    const content = await callVia(origin.fetcher, 'GET', clientPath(p, 'tags'), { headers: apiKeyHeaders(key) });
    expect(content.status, content.text).toBe(200);
    expect(origin.received[0]?.headers['x-keygate-permissions']).toBe('content.read');
    for (const [segment, permission] of [
      ['packages', 'packages.read'],
      ['assets', 'assets.read'],
    ]) {
      const res = await callVia(origin.fetcher, 'GET', clientPath(p, segment), { headers: apiKeyHeaders(key) });
      expect(res.status, res.text).toBe(403);
      expect(res.body).toEqual({ error: { code: 'FORBIDDEN', message: `this API key lacks the ${permission} permission` } });
    }
    expect(origin.received).toHaveLength(1);
  });

  it('authenticates before applying the policy: a forbidden request without a key is 401', async () => {
    const { p } = await keyed();
    const origin = recordingOrigin();
    const res = await callVia(origin.fetcher, 'DELETE', clientPath(p, 'drafts'));
    expect(res.status, res.text).toBe(401);
    expect(res.body).toEqual(INVALID_API_KEY_BODY);
  });
});

describe('every refused x-api-key gets the same 401', () => {
  type Case = { label: string; headers(p: Project, key: string): Promise<Record<string, string>> };
  const cases: Case[] = [
    { label: 'a missing key', headers: async () => ({}) },
    { label: 'an empty key', headers: async () => ({ 'x-api-key': '' }) },
    { label: 'a malformed key', headers: async () => ({ 'x-api-key': 'not a key' }) },
    { label: 'a key of 31 characters', headers: async (_p, key) => ({ 'x-api-key': key.slice(0, 31) }) },
    { label: 'the key with one checksum character altered', headers: async (_p, key) => ({ 'x-api-key': withAlteredChecksum(key) }) },
    { label: 'the key with a trailing character', headers: async (_p, key) => ({ 'x-api-key': `${key}x` }) },
    {
      label: 'an unknown well-formed generated key',
      headers: async () => {
        const unknown = generateKey('project');
        await remember('unissued project key', unknown);
        return { 'x-api-key': unknown };
      },
    },
    { label: 'an unknown custom key', headers: async () => ({ 'x-api-key': await customKeyValue(40) }) },
    {
      label: 'a revoked key',
      headers: async (p) => {
        const revoked = await createProjectKey(p, 'revoked');
        await updateProjectKey(p, revoked.id, { status: 'revoked' });
        return { 'x-api-key': revoked.key };
      },
    },
    {
      label: 'a deleted key',
      headers: async (p) => {
        const deleted = await createProjectKey(p, 'deleted');
        await deleteProjectKey(p, deleted.id);
        return { 'x-api-key': deleted.key };
      },
    },
    {
      label: 'a key of another project of the organization',
      headers: async (p) => ({ 'x-api-key': (await createProjectKey(newProject(p.org), 'sibling')).key }),
    },
    {
      label: 'a key of another organization with the same project id',
      headers: async (p) => ({ 'x-api-key': (await createProjectKey({ org: randomId(), project: p.project }, 'foreign')).key }),
    },
    { label: 'an organization secret', headers: async (p) => ({ 'x-api-key': (await createOrgKey(p.org, 'secret')).apiKey }) },
    { label: 'an organization client ID', headers: async (p) => ({ 'x-api-key': (await createOrgKey(p.org, 'client id')).clientId }) },
    { label: 'the key as a bearer token instead of x-api-key', headers: async (_p, key) => bearer(key) },
    { label: 'an admin JWT instead of a key', headers: async (p) => adminHeaders(p.org) },
  ];

  for (const c of cases) {
    for (const [method, rest] of [
      ['GET', 'content'],
      ['POST', 'saved-searches/ss_1/execute'],
    ] as const) {
      it(`${method} .../${rest} with ${c.label}`, async () => {
        const { p, key } = await keyed();
        const headers = await c.headers(p, key);
        const origin = recordingOrigin();
        const res = await callVia(origin.fetcher, method, clientPath(p, rest), { headers, body: method === 'POST' ? {} : undefined });
        expect(res.status, res.text).toBe(401);
        expect(res.text).toBe(JSON.stringify(INVALID_API_KEY_BODY));
        expect(origin.received, 'a refused request reached the origin').toEqual([]);
      });
    }
  }

  it("refuses a valid key on its own project's path under another organization", async () => {
    const { p, key } = await keyed();
    const res = await call('GET', clientPath({ org: randomId(), project: p.project }), { headers: apiKeyHeaders(key) });
    expect(res.status, res.text).toBe(401);
    expect(res.body).toEqual(INVALID_API_KEY_BODY);
  });
});

describe('revoke, reactivate and delete through a warm cache', () => {
  it('refuses a revoked key at once, accepts it again once reactivated, and refuses it for good once deleted', async () => {
    const { p, key, id } = await keyed();
    const origin = recordingOrigin();
    // One env object for every request, admin and client alike: one isolate's caches.
    const send = sharedEnvCaller({ ORIGIN: origin.fetcher });
    const use = () => send('GET', clientPath(p, 'content'), { headers: apiKeyHeaders(key) });
    const change = async (method: 'PUT' | 'DELETE', body?: unknown) => {
      const res = await send(method, keysPath(p, id), { headers: await adminHeaders(p.org), body });
      expect(res.status, res.text).toBe(200);
    };
    const cacheKey = await cacheKeyOf(key);

    expect(await env.KEY_CACHE.get(cacheKey), 'cached before any use').toBeNull();
    const first = await use();
    expect(first.status, first.text).toBe(200);
    expect(await cachedRecord(key), 'the first use fills KV').toEqual({
      id,
      kind: 'project',
      organizationId: p.org,
      projectId: p.project,
      clientId: null,
      permissions: ['content.read', 'packages.read', 'assets.read'],
      rateLimit: null,
      parentRateLimit: null,
      expiresAt: null,
      // The position of the key change feed its D1 read saw (src/cache/feed.ts).
      feedPosition: expect.any(Number),
    });
    const warm = await use();
    expect(warm.status, warm.text).toBe(200);

    await change('PUT', { status: 'revoked' });
    expect(await env.KEY_CACHE.get(cacheKey), 'revoking left the KV entry behind').toBeNull();
    const revoked = await use();
    expect(revoked.status, revoked.text).toBe(401);
    expect(revoked.body).toEqual(INVALID_API_KEY_BODY);
    expect(await env.KEY_CACHE.get(cacheKey), 'a refused key was cached').toBeNull();

    await change('PUT', { status: 'active' });
    const reactivated = await use();
    expect(reactivated.status, reactivated.text).toBe(200);
    expect(await cachedRecord(key), 'the reactivated key is cached again on use').not.toBeNull();

    await change('DELETE');
    expect(await env.KEY_CACHE.get(cacheKey), 'deleting left the KV entry behind').toBeNull();
    const deleted = await use();
    expect(deleted.status, deleted.text).toBe(401);
    expect(deleted.body).toEqual(INVALID_API_KEY_BODY);
    expect(origin.received.map((r) => r.method)).toEqual(['GET', 'GET', 'GET']);
  });

  it('refuses a key revoked right after use through the default Worker at once', async () => {
    const { p, key, id } = await keyed();
    const used = await call('GET', clientPath(p, 'tags'), { headers: apiKeyHeaders(key) });
    expect(used.status, used.text).toBe(200);
    expect(
      await poll(
        () => cachedRecord(key),
        (record) => record !== null,
        5_000,
      ),
      'the use never filled KV',
    ).not.toBeNull();
    await updateProjectKey(p, id, { status: 'revoked' });
    const refused = await call('GET', clientPath(p, 'tags'), { headers: apiKeyHeaders(key) });
    expect(refused.status, refused.text).toBe(401);
    await updateProjectKey(p, id, { status: 'active' });
    const again = await call('GET', clientPath(p, 'tags'), { headers: apiKeyHeaders(key) });
    expect(again.status, again.text).toBe(200);
    await deleteProjectKey(p, id);
    const gone = await call('GET', clientPath(p, 'tags'), { headers: apiKeyHeaders(key) });
    expect(gone.status, gone.text).toBe(401);
  });

  it('a rename keeps the key working', async () => {
    const { p, key, id } = await keyed();
    const send = sharedEnvCaller({ ORIGIN: recordingOrigin().fetcher });
    expect((await send('GET', clientPath(p), { headers: apiKeyHeaders(key) })).status).toBe(200);
    const renamed = await send('PUT', keysPath(p, id), { headers: await adminHeaders(p.org), body: { name: 'renamed' } });
    expect(renamed.status, renamed.text).toBe(200);
    const res = await send('GET', clientPath(p), { headers: apiKeyHeaders(key) });
    expect(res.status, res.text).toBe(200);
  });

  it('revoking one key leaves the other keys of the project working', async () => {
    const { p, key, id } = await keyed();
    const other = await createProjectKey(p, 'other');
    const send = sharedEnvCaller({ ORIGIN: recordingOrigin().fetcher });
    for (const k of [key, other.key]) expect((await send('GET', clientPath(p), { headers: apiKeyHeaders(k) })).status).toBe(200);
    const revoke = await send('PUT', keysPath(p, id), { headers: await adminHeaders(p.org), body: { status: 'revoked' } });
    expect(revoke.status, revoke.text).toBe(200);
    expect((await send('GET', clientPath(p), { headers: apiKeyHeaders(key) })).status).toBe(401);
    expect((await send('GET', clientPath(p), { headers: apiKeyHeaders(other.key) })).status).toBe(200);
    expect(await cachedRecord(other.key)).not.toBeNull();
  });
});
