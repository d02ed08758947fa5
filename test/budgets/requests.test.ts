// Request budgets per organization, project and key: exact in one isolate under concurrency,
// headers on every budgeted response, each surface's 429, per-key budgets only tighter,
// tenants apart, a new window, and the documented behaviour when the counter fails.
import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import { setOrganizationRateLimit, setProjectRateLimit } from '../../src/db/organizations';
import { adminHeaders, createOrgKey, pairHeaders, randomId } from '../support/fixtures';
import { apiKeyHeaders, clientPath, createProjectKey, keysPath, newProject } from '../support/project';
import { brokenBinding, callWith } from '../support/worker';

// Windows are fixed (aligned to the epoch): exactness tests use hour-long windows, so a burst
// straddles two of them about once in 36,000 runs of 100 ms.
const HOUR = { ORG_RATE_LIMIT: '1000000/3600s', PROJECT_RATE_LIMIT: '1000000/3600s' };
const NOW = () => new Date().toISOString();

/** Sends `count` requests at once. */
function burst(count: number, send: () => ReturnType<typeof callWith>) {
  return Promise.all(Array.from({ length: count }, send));
}

const statuses = (replies: Array<{ status: number }>) => replies.map((r) => r.status).sort();

describe('organization budget (organization keys)', () => {
  it('lets exactly the budget through 15 parallel requests; each answer says what is left, the rest get 429', async () => {
    const org = randomId();
    await setOrganizationRateLimit(env.DB, org, { requests: 10, windowSeconds: 3600 }, NOW());
    const pair = await createOrgKey(org);
    const replies = await burst(15, () => callWith(HOUR, 'GET', '/v1/companies', { headers: pairHeaders(pair) }));
    expect(statuses(replies)).toEqual([...Array(10).fill(200), ...Array(5).fill(429)]);
    const passed = replies.filter((r) => r.status === 200);
    // One isolate: every answer counts exactly.
    expect(passed.map((r) => Number(r.headers.get('x-ratelimit-remaining'))).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const windowEnd = Math.ceil(Date.now() / 3_600_000) * 3600;
    for (const reply of replies) {
      expect(reply.headers.get('x-ratelimit-limit')).toBe('10');
      expect(reply.headers.get('x-ratelimit-reset')).toBe(String(windowEnd));
      expect(reply.headers.get('ratelimit-policy')).toBe('"org";q=10;w=3600');
      expect(reply.headers.get('ratelimit')).toMatch(/^"org";r=\d+;t=\d+$/);
    }
    for (const refused of replies.filter((r) => r.status === 429)) {
      expect(refused.body).toEqual({ error: 'rate limit exceeded' });
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(3600);
      expect(refused.headers.get('x-ratelimit-remaining')).toBe('0');
    }
  });

  it('counts every organization key and the key-management routes together, and no other organization', async () => {
    const org = randomId();
    const other = randomId();
    await setOrganizationRateLimit(env.DB, org, { requests: 4, windowSeconds: 3600 }, NOW());
    await setOrganizationRateLimit(env.DB, other, { requests: 4, windowSeconds: 3600 }, NOW());
    const [a, b, c] = await Promise.all([createOrgKey(org, 'a'), createOrgKey(org, 'b'), createOrgKey(other, 'c')]);
    expect((await callWith(HOUR, 'GET', '/v1/companies', { headers: pairHeaders(a) })).status).toBe(200);
    expect((await callWith(HOUR, 'GET', '/v1/keys', { headers: pairHeaders(b) })).status).toBe(200);
    expect((await callWith(HOUR, 'GET', '/v1/companies', { headers: pairHeaders(b) })).status).toBe(200);
    const last = await callWith(HOUR, 'GET', '/v1/keys', { headers: pairHeaders(a) });
    expect(last.status).toBe(200);
    expect(last.headers.get('x-ratelimit-remaining')).toBe('0');
    expect((await callWith(HOUR, 'GET', '/v1/companies', { headers: pairHeaders(b) })).status).toBe(429);
    // The other organization's budget is untouched.
    const theirs = await callWith(HOUR, 'GET', '/v1/companies', { headers: pairHeaders(c) });
    expect(theirs.status).toBe(200);
    expect(theirs.headers.get('x-ratelimit-remaining')).toBe('3');
  });

  it('charges admin-JWT requests through the /app/v1 gateway to the organization, not key management with a JWT', async () => {
    const org = randomId();
    await setOrganizationRateLimit(env.DB, org, { requests: 2, windowSeconds: 3600 }, NOW());
    const headers = await adminHeaders(org);
    const path = `/app/v1/organizations/${org}/projects/web/content`;
    const first = await callWith(HOUR, 'GET', path, { headers });
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-policy')).toBe('"org";q=2;w=3600');
    // Key management with a JWT is budgeted by MANAGEMENT_WRITE_LIMIT, not here.
    const list = await callWith(HOUR, 'GET', '/v1/keys', { headers });
    expect(list.status).toBe(200);
    expect(list.headers.get('ratelimit-policy')).toBeNull();
    expect((await callWith(HOUR, 'GET', path, { headers })).status).toBe(200);
    const refused = await callWith(HOUR, 'GET', path, { headers });
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({
      error: {
        code: 'RATE_LIMITED',
        message: 'rate limit exceeded',
        details: { retryAfter: expect.any(Number), limit: 2, windowSeconds: 3600 },
      },
    });
  });

  it("an operator's change reaches the /app/v1 gateway after the isolate TTL, without a request waiting for D1", async () => {
    const org = randomId();
    await setOrganizationRateLimit(env.DB, org, { requests: 50, windowSeconds: 3600 }, NOW());
    const headers = await adminHeaders(org);
    const path = `/app/v1/organizations/${org}/projects/web/content`;
    expect((await callWith(HOUR, 'GET', path, { headers })).headers.get('ratelimit-policy')).toBe('"org";q=50;w=3600');
    await setOrganizationRateLimit(env.DB, org, { requests: 60, windowSeconds: 3600 }, NOW());
    const t0 = Date.now();
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(t0 + 5_000);
      expect((await callWith(HOUR, 'GET', path, { headers })).headers.get('ratelimit-policy'), 'within the TTL').toBe('"org";q=50;w=3600');
      vi.setSystemTime(t0 + 11_000);
      // Past the TTL: answered with the budget held, which is read again after the response.
      expect((await callWith(HOUR, 'GET', path, { headers })).headers.get('ratelimit-policy'), 'held').toBe('"org";q=50;w=3600');
      expect((await callWith(HOUR, 'GET', path, { headers })).headers.get('ratelimit-policy'), 'read again').toBe('"org";q=60;w=3600');
    } finally {
      vi.useRealTimers();
    }
  });

  it('uses ORG_RATE_LIMIT for organizations without their own budget', async () => {
    const pair = await createOrgKey(randomId());
    const reply = await callWith({ ORG_RATE_LIMIT: '3/3600s' }, 'GET', '/v1/companies', { headers: pairHeaders(pair) });
    expect(reply.headers.get('ratelimit-policy')).toBe('"org";q=3;w=3600');
  });
});

describe('project budget (client routes)', () => {
  it('is shared by every key of the project, answers 429 in the project shape, and exposes its headers to browsers', async () => {
    const p = newProject();
    await setProjectRateLimit(env.DB, p.org, p.project, { requests: 3, windowSeconds: 3600 }, NOW());
    const [one, two] = await Promise.all([createProjectKey(p), createProjectKey(p)]);
    const replies = await Promise.all([
      callWith(HOUR, 'GET', clientPath(p), { headers: apiKeyHeaders(one.key) }),
      callWith(HOUR, 'GET', clientPath(p), { headers: apiKeyHeaders(two.key) }),
      callWith(HOUR, 'GET', clientPath(p, 'tags'), { headers: apiKeyHeaders(one.key) }),
      callWith(HOUR, 'GET', clientPath(p), { headers: apiKeyHeaders(two.key) }),
    ]);
    expect(statuses(replies)).toEqual([200, 200, 200, 429]);
    const refused = replies.find((r) => r.status === 429)!;
    expect(refused.body).toEqual({
      error: {
        code: 'RATE_LIMITED',
        message: 'rate limit exceeded',
        details: { retryAfter: expect.any(Number), limit: 3, windowSeconds: 3600 },
      },
    });
    expect(refused.headers.get('retry-after')).toBe(String(refused.body.error.details.retryAfter));
    for (const reply of replies) {
      expect(reply.headers.get('ratelimit-policy')).toBe('"project";q=3;w=3600');
      expect(reply.headers.get('access-control-allow-origin')).toBe('*');
      const exposed = (reply.headers.get('access-control-expose-headers') ?? '').toLowerCase().split(/,\s*/);
      for (const name of [
        'x-ratelimit-limit',
        'x-ratelimit-remaining',
        'x-ratelimit-reset',
        'ratelimit-policy',
        'ratelimit',
        'retry-after',
      ]) {
        expect(exposed).toContain(name);
      }
    }
  });

  it('uses PROJECT_RATE_LIMIT for projects without their own budget, and keeps projects apart', async () => {
    const p = newProject();
    const q = newProject(p.org);
    const [a, b] = await Promise.all([createProjectKey(p), createProjectKey(q)]);
    const limits = { ...HOUR, PROJECT_RATE_LIMIT: '2/3600s' };
    expect((await callWith(limits, 'GET', clientPath(p), { headers: apiKeyHeaders(a.key) })).status).toBe(200);
    expect((await callWith(limits, 'GET', clientPath(p), { headers: apiKeyHeaders(a.key) })).status).toBe(200);
    expect((await callWith(limits, 'GET', clientPath(p), { headers: apiKeyHeaders(a.key) })).status).toBe(429);
    const other = await callWith(limits, 'GET', clientPath(q), { headers: apiKeyHeaders(b.key) });
    expect(other.status).toBe(200);
    expect(other.headers.get('x-ratelimit-remaining')).toBe('1');
  });
});

describe('per-key budgets', () => {
  it('an organization key with its own budget: both policies in the headers, the key nearest exhaustion in X-RateLimit-*', async () => {
    const org = randomId();
    await setOrganizationRateLimit(env.DB, org, { requests: 100, windowSeconds: 3600 }, NOW());
    const created = await callWith(HOUR, 'POST', '/v1/keys', {
      headers: await adminHeaders(org),
      body: { name: 'tight', rateLimit: { requests: 2, windowSeconds: 3600 } },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body.data.rateLimit).toEqual({ requests: 2, windowSeconds: 3600 });
    const headers = pairHeaders(created.body.data);
    const first = await callWith(HOUR, 'GET', '/v1/companies', { headers });
    expect(first.headers.get('ratelimit-policy')).toBe('"key";q=2;w=3600, "org";q=100;w=3600');
    expect(first.headers.get('ratelimit')).toMatch(/^"key";r=1;t=\d+, "org";r=99;t=\d+$/);
    expect(first.headers.get('x-ratelimit-limit')).toBe('2');
    expect(first.headers.get('x-ratelimit-remaining')).toBe('1');
    expect((await callWith(HOUR, 'GET', '/v1/companies', { headers })).status).toBe(200);
    const refused = await callWith(HOUR, 'GET', '/v1/companies', { headers });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('x-ratelimit-limit')).toBe('2');
    // The refused request did not spend the organization's budget.
    const sibling = await createOrgKey(org, 'sibling');
    const next = await callWith(HOUR, 'GET', '/v1/companies', { headers: pairHeaders(sibling) });
    expect(next.headers.get('ratelimit')).toMatch(/^"org";r=97;t=\d+$/);
  });

  it('a project key with its own budget is refused past it while the project budget goes on', async () => {
    const p = newProject();
    const res = await callWith(HOUR, 'POST', keysPath(p), {
      headers: await adminHeaders(p.org),
      body: { name: 'one a day', rateLimit: { requests: 1, windowSeconds: 86_400 } },
    });
    expect(res.status, res.text).toBe(201);
    expect(res.body.rateLimit).toEqual({ requests: 1, windowSeconds: 86_400 });
    const other = await createProjectKey(p);
    expect((await callWith(HOUR, 'GET', clientPath(p), { headers: apiKeyHeaders(res.body.key) })).status).toBe(200);
    const refused = await callWith(HOUR, 'GET', clientPath(p), { headers: apiKeyHeaders(res.body.key) });
    expect(refused.status).toBe(429);
    expect(refused.body.error.details).toMatchObject({ limit: 1, windowSeconds: 86_400 });
    expect((await callWith(HOUR, 'GET', clientPath(p), { headers: apiKeyHeaders(other.key) })).status).toBe(200);
  });

  it.each([
    ['more requests per window than the organization', { requests: 11, windowSeconds: 60 }],
    ['a higher rate than the organization (same requests, shorter window)', { requests: 10, windowSeconds: 30 }],
    ['a higher rate in a longer window', { requests: 10, windowSeconds: 61 }],
  ])('refuses a key budget looser than its parent with 400 on both surfaces, storing nothing: %s', async (_name, rateLimit) => {
    const org = randomId();
    const p = newProject(org);
    await setOrganizationRateLimit(env.DB, org, { requests: 10, windowSeconds: 60 }, NOW());
    await setProjectRateLimit(env.DB, org, p.project, { requests: 10, windowSeconds: 60 }, NOW());
    const headers = await adminHeaders(org);
    const looser = rateLimit.windowSeconds === 61 ? { requests: 11, windowSeconds: 61 } : rateLimit;
    const onOrg = await callWith(HOUR, 'POST', '/v1/keys', { headers, body: { name: 'loose', rateLimit: looser } });
    expect(onOrg.status, onOrg.text).toBe(400);
    expect(onOrg.body.details).toEqual([{ field: 'rateLimit', message: expect.stringContaining("organization's (10 requests per 60 s)") }]);
    const onProject = await callWith(HOUR, 'POST', keysPath(p), { headers, body: { name: 'loose', rateLimit: looser } });
    expect(onProject.status, onProject.text).toBe(400);
    expect(onProject.body.error.details).toEqual([{ field: 'rateLimit', message: expect.stringContaining("project's") }]);
    const stored = await env.DB.prepare('SELECT count(*) AS n FROM api_keys WHERE organization_id = ?1').bind(org).first<{ n: number }>();
    expect(stored?.n).toBe(0);
  });

  it.each([
    [{ requests: 0, windowSeconds: 60 }],
    [{ requests: 5, windowSeconds: 0 }],
    [{ requests: 5 }],
    [{ requests: 1.5, windowSeconds: 60 }],
    [{ requests: '5', windowSeconds: 60 }],
    [{ requests: 5, windowSeconds: 86_401 }],
    [{ requests: 5, windowSeconds: 60, burst: 2 }],
    ['5/60s'],
  ])('refuses a malformed rateLimit %j with 400 naming the field', async (rateLimit) => {
    const org = randomId();
    const res = await callWith(HOUR, 'POST', '/v1/keys', { headers: await adminHeaders(org), body: { name: 'x', rateLimit } });
    expect(res.status, res.text).toBe(400);
    expect(JSON.stringify(res.body.details)).toContain('rateLimit');
  });

  it('is set, changed and removed with PATCH and PUT; the change applies to the next request at once', async () => {
    const org = randomId();
    const pair = await createOrgKey(org);
    const headers = await adminHeaders(org);
    const set = await callWith(HOUR, 'PATCH', `/v1/keys/${pair.id}`, {
      headers,
      body: { rateLimit: { requests: 1, windowSeconds: 3600 } },
    });
    expect(set.status, set.text).toBe(200);
    expect(set.body.data.rateLimit).toEqual({ requests: 1, windowSeconds: 3600 });
    expect((await callWith(HOUR, 'GET', '/v1/companies', { headers: pairHeaders(pair) })).status).toBe(200);
    expect((await callWith(HOUR, 'GET', '/v1/companies', { headers: pairHeaders(pair) })).status).toBe(429);
    const removed = await callWith(HOUR, 'PATCH', `/v1/keys/${pair.id}`, { headers, body: { rateLimit: null } });
    expect(removed.body.data.rateLimit).toBeNull();
    expect((await callWith(HOUR, 'GET', '/v1/companies', { headers: pairHeaders(pair) })).status).toBe(200);

    const p = newProject(org);
    const key = await createProjectKey(p);
    const put = await callWith(HOUR, 'PUT', keysPath(p, key.id), { headers, body: { rateLimit: { requests: 5, windowSeconds: 60 } } });
    expect(put.status, put.text).toBe(200);
    expect(put.body.rateLimit).toEqual({ requests: 5, windowSeconds: 60 });
    const read = await callWith(HOUR, 'GET', keysPath(p, key.id), { headers });
    expect(read.body.rateLimit).toEqual({ requests: 5, windowSeconds: 60 });
    const audits = await env.DB.prepare('SELECT action FROM audit_entries WHERE key_id = ?1 ORDER BY seq')
      .bind(key.id)
      .all<{ action: string }>();
    expect(audits.results.map((a) => a.action)).toEqual(['created', 'updated']);
  });
});

describe('when the budget counter fails', () => {
  it('request budgets fail open, bounded: each isolate admits at most the budget per window on its own count', async () => {
    const org = randomId();
    await setOrganizationRateLimit(env.DB, org, { requests: 3, windowSeconds: 3600 }, NOW());
    const pair = await createOrgKey(org);
    const calls: string[] = [];
    const broken = { ...HOUR, BUDGETS: brokenBinding<Env['BUDGETS']>('BUDGETS', calls) };
    const replies = [];
    for (let i = 0; i < 5; i++) replies.push(await callWith(broken, 'GET', '/v1/companies', { headers: pairHeaders(pair) }));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 429, 429]);
    expect(replies[0]?.headers.get('x-ratelimit-remaining')).toBe('2');
    // Asked once, then spared for FAIL_OPEN_RETRY_MS.
    expect(calls).toEqual(['BUDGETS.getByName']);
  });

  it('a counter that hangs is given up after STORAGE_TIMEOUT_MS, and the request is answered', async () => {
    const org = randomId();
    const pair = await createOrgKey(org);
    const hanging = {
      getByName: () => ({ lease: () => new Promise(() => {}) }),
    } as unknown as Env['BUDGETS'];
    const started = Date.now();
    const reply = await callWith({ ...HOUR, BUDGETS: hanging, STORAGE_TIMEOUT_MS: '100' }, 'GET', '/v1/companies', {
      headers: pairHeaders(pair),
    });
    expect(reply.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('every response to a budgeted request carries the headers', () => {
  it('a refusal after the charge (403, 404 from the origin) too, on both key surfaces', async () => {
    const p = newProject();
    const key = await createProjectKey(p);
    const forbidden = await callWith(HOUR, 'POST', clientPath(p), { headers: apiKeyHeaders(key.key), body: {} });
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get('x-ratelimit-limit')).toBe('1000000');
    expect(forbidden.headers.get('ratelimit-policy')).toBe('"project";q=1000000;w=3600');
    const pair = await createOrgKey(p.org);
    const missing = await callWith(HOUR, 'GET', '/v1/companies/does-not-exist', { headers: pairHeaders(pair) });
    expect(missing.headers.get('ratelimit-policy')).toBe('"org";q=1000000;w=3600');
  });
});

describe('ORG_RATE_LIMIT and PROJECT_RATE_LIMIT "off"', () => {
  const OFF = { ORG_RATE_LIMIT: 'off', PROJECT_RATE_LIMIT: 'off' };

  it('charges no default budget (no headers), still counts usage, and still enforces budgets set per organization or key', async () => {
    const org = randomId();
    const pair = await createOrgKey(org);
    const free = await callWith(OFF, 'GET', '/v1/companies', { headers: pairHeaders(pair) });
    expect(free.status).toBe(200);
    expect(free.headers.get('ratelimit-policy')).toBeNull();
    expect(free.headers.get('x-ratelimit-limit')).toBeNull();
    const usage = await env.DB.prepare('SELECT requests FROM usage_hourly WHERE key_id = ?1').bind(pair.id).first();
    expect(usage).toEqual({ requests: 1 });

    const limited = randomId();
    await setOrganizationRateLimit(env.DB, limited, { requests: 1, windowSeconds: 3600 }, NOW());
    const theirs = await createOrgKey(limited);
    expect((await callWith(OFF, 'GET', '/v1/companies', { headers: pairHeaders(theirs) })).status).toBe(200);
    expect((await callWith(OFF, 'GET', '/v1/companies', { headers: pairHeaders(theirs) })).status).toBe(429);

    const p = newProject();
    const created = await callWith(OFF, 'POST', keysPath(p), {
      headers: await adminHeaders(p.org),
      body: { name: 'any budget', rateLimit: { requests: 1_000_000, windowSeconds: 1 } },
    });
    expect(created.status, created.text).toBe(201);
    const reply = await callWith(OFF, 'GET', clientPath(p), { headers: apiKeyHeaders(created.body.key) });
    expect(reply.headers.get('ratelimit-policy')).toBe('"key";q=1000000;w=1');
  });

  it.each(['1000', '10/0s', '0/60s', '10/60', '10/86401s', 'unlimited'])(
    'refuses ORG_RATE_LIMIT = %j as a configuration error (500, the var named in the log)',
    async (value) => {
      const res = await callWith({ ORG_RATE_LIMIT: value }, 'GET', '/v1/keys', { headers: await adminHeaders(randomId()) });
      expect(res.status).toBe(500);
    },
  );
});
