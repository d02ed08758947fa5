// Key-management writes per organization (MANAGEMENT_WRITE_LIMIT), counted exactly by a
// BudgetCounter Durable Object: never more writes than the budget, even in parallel; 429 in each
// surface's shape with Retry-After and X-RateLimit-*; other organizations and reads untouched; a
// new window brings the budget back; a counter that fails refuses the write (503).
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { auditRowsOf, keyRowsOf } from '../support/db';
import { adminHeaders, randomId } from '../support/fixtures';
import { keysPath, newProject } from '../support/project';
import { brokenBinding, callWith } from '../support/worker';

const budget = (limit: string) => ({ MANAGEMENT_WRITE_LIMIT: limit });

// Windows are fixed (aligned to the epoch), so a burst can straddle two of them: the exactness
// tests use hour-long windows, where that happens about once in 36,000 runs of 100 ms.

async function createOrgKeys(org: string, count: number, limit: string) {
  const headers = await adminHeaders(org);
  return Promise.all(
    Array.from({ length: count }, (_, i) => callWith(budget(limit), 'POST', '/v1/keys', { headers, body: { name: `key ${i}` } })),
  );
}

describe('the BudgetCounter', () => {
  it('lets exactly the limit through 20 parallel takes, and says what is left', async () => {
    const counter = env.BUDGETS.getByName(`test:${crypto.randomUUID()}`);
    const results = await Promise.all(Array.from({ length: 20 }, () => counter.take(7, 3600)));
    expect(results.filter((r) => r.allowed)).toHaveLength(7);
    expect(
      results
        .filter((r) => r.allowed)
        .map((r) => r.remaining)
        .sort((a, b) => a - b),
    ).toEqual([0, 1, 2, 3, 4, 5, 6]);
    for (const r of results) expect(r.resetAt % 3_600_000).toBe(0);
  });
});

describe('key-management writes per organization', () => {
  it('never writes more than the budget, even in parallel: the rest get 429 with Retry-After and X-RateLimit-*', async () => {
    const org = randomId();
    const answers = await createOrgKeys(org, 6, '3/3600s');
    const created = answers.filter((a) => a.status === 201);
    const refused = answers.filter((a) => a.status === 429);
    expect(answers.map((a) => a.status).sort(), answers.map((a) => a.text).join('\n')).toEqual([201, 201, 201, 429, 429, 429]);
    for (const res of refused) {
      expect(res.body).toEqual({ error: 'rate limit exceeded' });
      const retryAfter = Number(res.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(3600);
      expect(res.headers.get('x-ratelimit-remaining')).toBe('0');
    }
    for (const res of [...created, ...refused]) {
      expect(res.headers.get('x-ratelimit-limit')).toBe('3');
      expect(Number(res.headers.get('x-ratelimit-reset')) * 1000).toBeGreaterThan(Date.now());
    }
    expect(created.map((a) => a.headers.get('x-ratelimit-remaining')).sort()).toEqual(['0', '1', '2']);
    expect(await keyRowsOf(org)).toHaveLength(3);
    expect(await auditRowsOf(org)).toHaveLength(3);

    // Another organization has a budget of its own; reads are not budgeted.
    const other = await createOrgKeys(randomId(), 1, '3/3600s');
    expect(other[0]?.status).toBe(201);
    const list = await callWith(budget('3/3600s'), 'GET', '/v1/keys', { headers: await adminHeaders(org) });
    expect(list.status).toBe(200);
    expect(list.headers.get('x-ratelimit-limit')).toBeNull();
  });

  it('on the project surface: 429 RATE_LIMITED with retryAfter, limit and window; every kind of write counts', async () => {
    const p = newProject();
    const headers = await adminHeaders(p.org);
    const limit = budget('2/3600s');
    const created = await callWith(limit, 'POST', keysPath(p), { headers, body: { name: 'one' } });
    expect(created.status, created.text).toBe(201);
    const renamed = await callWith(limit, 'PUT', keysPath(p, created.body.id), { headers, body: { name: 'uno' } });
    expect(renamed.status, renamed.text).toBe(200);
    const refused = await callWith(limit, 'DELETE', keysPath(p, created.body.id), { headers });
    expect(refused.status, refused.text).toBe(429);
    expect(refused.body).toEqual({
      error: {
        code: 'RATE_LIMITED',
        message: 'rate limit exceeded',
        details: { retryAfter: Number(refused.headers.get('retry-after')), limit: 2, windowSeconds: 3600 },
      },
    });
    expect((await keyRowsOf(p.org)).map((k) => k.name)).toEqual(['uno']);
  });

  it('gives the budget back when the window ends', async () => {
    const org = randomId();
    // One write a second: within three writes in a row two share a window, and the second is refused.
    let refused: Awaited<ReturnType<typeof createOrgKeys>>[number] | undefined;
    for (let i = 0; i < 3 && !refused; i++) {
      const [res] = await createOrgKeys(org, 1, '1/1s');
      if (res?.status === 429) refused = res;
      else expect(res?.status, res?.text).toBe(201);
    }
    expect(refused, 'no write was refused').toBeDefined();
    expect(Number(refused?.headers.get('retry-after'))).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 1_050));
    const [next] = await createOrgKeys(org, 1, '1/1s');
    expect(next?.status, next?.text).toBe(201);
  });

  it('refuses the write with 503 when the counter cannot be reached, writing nothing', async () => {
    const org = randomId();
    const res = await callWith({ ...budget('5/60s'), BUDGETS: brokenBinding<Env['BUDGETS']>('BUDGETS') }, 'POST', '/v1/keys', {
      headers: await adminHeaders(org),
      body: { name: 'not now' },
    });
    expect(res.status, res.text).toBe(503);
    expect(res.body).toEqual({ error: 'service temporarily unavailable', requestId: res.headers.get('x-request-id') });
    expect(await keyRowsOf(org)).toEqual([]);
  });
});
