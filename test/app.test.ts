// The app as a whole: unknown routes, the OpenAPI document, failing closed when D1 is down,
// request ids, and unexpected failures answered without internal detail.
import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import { sha256Hex } from '../src/keys/hash';
import { INVALID_PAIR_BODY } from './support/auth-suite';
import { storageState } from './support/db';
import { adminHeaders, call, createOrgKey, pairHeaders, randomId } from './support/fixtures';
import { brokenBinding, callWith, unreachableD1 } from './support/worker';

/** Words that would show a client something of the implementation. */
const INTERNAL = /D1|SQL|SELECT|secret_hash|api_keys|stack|TypeError|Error:|KEY_CACHE|invalid configuration|at \w+ \(/;

describe('unknown routes', () => {
  for (const [method, path] of [
    ['GET', '/nope'],
    ['POST', '/v2/keys'],
    ['GET', '/healthz'],
  ] as const) {
    it(`answers ${method} ${path} with 404 {"error":"not found"}`, async () => {
      const res = await call(method, path);
      expect(res.status, res.text).toBe(404);
      expect(res.body).toEqual({ error: 'not found' });
    });
  }
});

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document of the key routes and /health', async () => {
    const res = await call('GET', '/openapi.json');
    expect(res.status, res.text).toBe(200);
    expect(res.body.openapi).toMatch(/^3\.1\.\d+$/);
    expect(res.body.paths['/v1/keys']).toEqual(expect.objectContaining({ post: expect.any(Object), get: expect.any(Object) }));
    expect(res.body.paths['/v1/keys/{key}']).toEqual(expect.objectContaining({ delete: expect.any(Object) }));
    expect(res.body.paths['/health']).toEqual(expect.objectContaining({ get: expect.any(Object) }));
  });

  it('documents the statuses and security of the key routes', async () => {
    const { body } = await call('GET', '/openapi.json');
    const post = body.paths['/v1/keys'].post;
    expect(Object.keys(post.responses).sort()).toEqual(['201', '400', '401', '403', '413', '422', '429', '500', '503']);
    expect(Object.keys(body.paths['/v1/keys/{key}'].delete.responses)).toEqual(expect.arrayContaining(['200', '401', '403', '404']));
    expect(post.security).toEqual([{ clientId: [], apiKey: [] }, { adminJwt: [] }]);
    expect(body.components.securitySchemes).toMatchObject({
      clientId: { type: 'apiKey', in: 'header', name: 'x-metal-client-id' },
      apiKey: { type: 'apiKey', in: 'header', name: 'x-metal-api-key' },
      adminJwt: { type: 'http', scheme: 'bearer' },
    });
  });

  it('names every operation, lists servers and a license, and documents every gateway method and multi-segment path', async () => {
    const { body } = await call('GET', '/openapi.json');
    expect(body.info.license.name).toBe('MIT');
    expect(body.servers.length).toBeGreaterThan(0);
    const operations = Object.entries(body.paths).flatMap(([path, item]) =>
      Object.entries(item as Record<string, { operationId?: string }>).map(([method, op]) => ({ path, method, id: op.operationId })),
    );
    expect(operations.filter((o) => !o.id)).toEqual([]);
    expect(new Set(operations.map((o) => o.id)).size).toBe(operations.length);
    expect(body.paths['/health'].get.security).toEqual([]);
    for (const prefix of ['/v1/{path}', '/app/v1/{path}']) {
      expect(Object.keys(body.paths[prefix]).sort()).toEqual(['delete', 'get', 'head', 'patch', 'post', 'put']);
    }
    const client = '/api/v1/organizations/{organizationId}/projects/{projectId}';
    expect(Object.keys(body.paths[`${client}/{resource}/{rest}`]).sort()).toEqual(['get', 'head']);
    expect(Object.keys(body.paths[`${client}/saved-searches/{id}/execute`])).toEqual(['post']);
    expect(Object.keys(body.paths['/v1/keys/{key}']).sort()).toEqual(['delete', 'patch']);
  });

  it('takes the request body from the zod schema that validates it (name of 1–100 characters, nothing else)', async () => {
    const { body } = await call('GET', '/openapi.json');
    const schema = body.components.schemas.CreateOrgKeyRequest;
    expect(schema).toMatchObject({
      type: 'object',
      properties: { name: { type: 'string', minLength: 1, maxLength: 100 } },
      required: ['name'],
      additionalProperties: false,
    });
    expect(Object.keys(body.components.schemas.OrgKey.properties).sort()).toEqual([
      'clientId',
      'createdAt',
      'createdBy',
      'expiresAt',
      'id',
      'keyLastFour',
      'lastUsedAt',
      'leakSource',
      'leakedAt',
      'name',
      'permissions',
      'rateLimit',
      'rolledFrom',
      'rolledTo',
    ]);
  });
});

describe('when D1 cannot be reached', () => {
  const brokenD1s: Array<[string, () => D1Database]> = [
    ['a D1 binding that throws on every call', () => brokenBinding<D1Database>('DB')],
    ['a D1 binding whose queries reject', unreachableD1],
  ];

  for (const [label, brokenDb] of brokenD1s) {
    describe(label, () => {
      it('answers 503 to a valid pair that is not in KV, never 200, with no internal detail', async () => {
        const org = randomId();
        const pair = await createOrgKey(org);
        expect(await env.KEY_CACHE.get(`key:v1:${await sha256Hex(pair.apiKey)}`), 'the pair must not be cached').toBeNull();
        const res = await callWith({ DB: brokenDb() }, 'GET', '/v1/keys', { headers: pairHeaders(pair) });
        expect(res.status, res.text).toBe(503);
        expect(res.body).toEqual({ error: 'service temporarily unavailable', requestId: res.headers.get('x-request-id') });
        expect(res.headers.get('retry-after')).toBe('1');
        expect(res.text).not.toMatch(INTERNAL);
      });

      it('answers 503 to a pair that is cached but cannot be listed', async () => {
        const org = randomId();
        const pair = await createOrgKey(org);
        expect((await callWith({}, 'GET', '/v1/keys', { headers: pairHeaders(pair) })).status).toBe(200);
        const res = await callWith({ DB: brokenDb() }, 'GET', '/v1/keys', { headers: pairHeaders(pair) });
        expect(res.status, res.text).toBe(503);
        expect(res.text).not.toMatch(INTERNAL);
      });

      it('answers 503 to creates and revokes with a JWT, and nothing is written', async () => {
        const org = randomId();
        const pair = await createOrgKey(org);
        const before = await storageState(org);
        const headers = await adminHeaders(org);
        const created = await callWith({ DB: brokenDb() }, 'POST', '/v1/keys', { headers, body: { name: 'during an outage' } });
        expect(created.status, created.text).toBe(503);
        expect(created.text).not.toMatch(INTERNAL);
        const revoked = await callWith({ DB: brokenDb() }, 'DELETE', `/v1/keys/${pair.id}`, { headers });
        expect(revoked.status, revoked.text).toBe(503);
        expect(revoked.text).not.toMatch(INTERNAL);
        expect(await storageState(org)).toEqual(before);
      });

      it('still refuses a malformed pair with 401 (it never reaches D1)', async () => {
        const res = await callWith({ DB: brokenDb() }, 'GET', '/v1/keys', {
          headers: { 'x-metal-client-id': 'kg_ci_nope', 'x-metal-api-key': 'kg_sk_nope' },
        });
        expect(res.status, res.text).toBe(401);
        expect(res.body).toEqual(INVALID_PAIR_BODY);
      });
    });
  }

  it('keeps /health up', async () => {
    const res = await callWith({ DB: brokenBinding<D1Database>('DB') }, 'GET', '/health');
    expect(res.status, res.text).toBe(200);
  });
});

describe('request ids', () => {
  const hostile = ['<script>alert(1)</script>', 'abc def', '../../etc/passwd', 'x'.repeat(256), 'id;drop table api_keys', '"quoted"'];
  for (const value of hostile) {
    it(`does not echo the hostile x-request-id ${JSON.stringify(value.slice(0, 30))}`, async () => {
      const res = await call('GET', '/health', { headers: { 'x-request-id': value } });
      expect(res.status).toBe(200);
      const id = res.headers.get('x-request-id');
      expect(id).not.toBe(value);
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.text).not.toContain(value);
    });
  }

  it("never takes a client's well-formed X-Request-Id for its own (bodies, headers and logs carry Keygate's)", async () => {
    const value = crypto.randomUUID();
    const ok = await call('GET', '/health', { headers: { 'x-request-id': value } });
    expect(ok.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(ok.headers.get('x-request-id')).not.toBe(value);
    const failed = await callWith({ DB: unreachableD1() }, 'GET', '/v1/keys', {
      headers: { ...(await adminHeaders(randomId())), 'x-request-id': value },
    });
    expect(failed.status, failed.text).toBe(503);
    expect(failed.body.requestId).not.toBe(value);
    expect(failed.body.requestId).toBe(failed.headers.get('x-request-id'));
  });

  it('gives every response an id, different per request', async () => {
    const first = await call('GET', '/health');
    const second = await call('GET', '/health');
    expect(first.headers.get('x-request-id')).toBeTruthy();
    expect(first.headers.get('x-request-id')).not.toBe(second.headers.get('x-request-id'));
  });

  it('does not echo a hostile id in a 5xx body either', async () => {
    const value = '<img src=x onerror=alert(1)>';
    const res = await callWith({ DB: unreachableD1() }, 'GET', '/v1/keys', {
      headers: { ...(await adminHeaders(randomId())), 'x-request-id': value },
    });
    expect(res.status, res.text).toBe(503);
    expect(res.body.requestId).toBe(res.headers.get('x-request-id'));
    expect(res.text).not.toContain(value);
  });
});

describe('unexpected failures', () => {
  it('answers 500 with a request id and nothing internal when ORIGIN_URL is malformed (parsed with the configuration)', async () => {
    const org = randomId();
    const pair = await createOrgKey(org);
    for (const bad of ['not a url', 'ftp://origin.example/', 'javascript:alert(1)']) {
      const forwarded = await callWith({ ORIGIN: undefined, ORIGIN_URL: bad }, 'GET', '/v1/companies', { headers: pairHeaders(pair) });
      expect(forwarded.status, forwarded.text).toBe(500);
      expect(forwarded.body).toEqual({ error: 'internal error', requestId: forwarded.headers.get('x-request-id') });
      expect(forwarded.text).not.toContain(bad);
    }
  });

  it('answers 500 with a request id and nothing internal when the configuration is invalid', async () => {
    const pair = await createOrgKey(randomId());
    const res = await callWith({ KEY_CACHE_TTL_SECONDS: '5' }, 'GET', '/v1/keys', { headers: pairHeaders(pair) });
    expect(res.status, res.text).toBe(500);
    expect(res.body).toEqual({ error: 'internal error', requestId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(res.body.requestId).toBe(res.headers.get('x-request-id'));
    expect(res.text).not.toMatch(INTERNAL);
    expect(res.text).not.toContain('KEY_CACHE_TTL_SECONDS');
  });

  it('tells the operator, in the log only, which setting is invalid', async () => {
    const errors = vi.spyOn(console, 'error');
    try {
      const res = await callWith({ KEY_CACHE_TTL_SECONDS: '5' }, 'GET', '/health');
      expect(res.status, res.text).toBe(500);
      const logged = errors.mock.calls.map((args) => args.join(' ')).join('\n');
      expect(logged).toMatch(/invalid configuration: KEY_CACHE_TTL_SECONDS/);
    } finally {
      errors.mockRestore();
    }
  });

  it('answers 500 when neither JWT_SECRET nor JWT_JWKS_URL is set, naming neither', async () => {
    const res = await callWith({ JWT_SECRET: '', JWT_JWKS_URL: '' }, 'GET', '/v1/keys');
    expect(res.status, res.text).toBe(500);
    expect(res.body).toEqual({ error: 'internal error', requestId: expect.any(String) });
    expect(res.text).not.toMatch(/JWT/);
  });
});

describe('the first request without credentials', () => {
  it('names the expected headers when /v1/keys gets no credential, with the same body as every refused pair', async () => {
    const none = await call('GET', '/v1/keys');
    expect(none.status).toBe(401);
    expect(none.body).toEqual({ error: 'invalid api key or clientId' });
    expect(none.headers.get('www-authenticate')).toBe('ApiKey headers="x-metal-client-id x-metal-api-key", Bearer');
    const wrong = await call('GET', '/v1/keys', { headers: { 'x-metal-client-id': 'kg_ci_x', 'x-metal-api-key': 'kg_sk_x' } });
    expect(wrong.body).toEqual({ error: 'invalid api key or clientId' });
    expect(wrong.headers.get('www-authenticate')).toBeNull();
  });
});
