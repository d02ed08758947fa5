// Usage: counts equal the requests sent (after the flush), per key on both surfaces and per
// organization and project; every bucket of a range, zeros included; ranges over 90 days
// refused; tenants apart; batched writes; the Analytics Engine data points.
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { setOrganizationRateLimit } from '../../src/db/organizations';
import type { Config } from '../../src/env';
import { UsageRecorder } from '../../src/usage/recorder';
import { adminHeaders, createOrgKey, pairHeaders, randomId } from '../support/fixtures';
import { apiKeyHeaders, clientPath, createProjectKey, keysPath, newProject } from '../support/project';
import { overriding } from '../support/proxy';
import { callWith } from '../support/worker';

const HOUR = { ORG_RATE_LIMIT: '1000000/3600s', PROJECT_RATE_LIMIT: '1000000/3600s' };
const currentHour = () => new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000).toISOString();
const ISO_HOUR = /^\d{4}-\d{2}-\d{2}T\d{2}:00:00\.000Z$/;

type Bucket = { start: string; requests: number; rateLimited: number };
const totals = (data: Bucket[]) =>
  data.reduce((t, b) => ({ requests: t.requests + b.requests, rateLimited: t.rateLimited + b.rateLimited }), {
    requests: 0,
    rateLimited: 0,
  });

describe('usage of an organization key (GET /v1/keys/{key}/usage)', () => {
  it('counts accepted and rate-limited requests in the current hour, every other hour of the last 24 zero', async () => {
    const org = randomId();
    await setOrganizationRateLimit(env.DB, org, { requests: 5, windowSeconds: 3600 }, new Date().toISOString());
    const pair = await createOrgKey(org);
    // callWith returns once the request's deferred work (the usage write among it) is done.
    for (let i = 0; i < 7; i++) await callWith(HOUR, 'GET', '/v1/companies', { headers: pairHeaders(pair) });
    const res = await callWith(HOUR, 'GET', `/v1/keys/${pair.id}/usage`, { headers: await adminHeaders(org) });
    expect(res.status, res.text).toBe(200);
    expect(Object.keys(res.body)).toEqual(['data']);
    expect(res.body.data).toHaveLength(24);
    for (const bucket of res.body.data) expect(Object.keys(bucket).sort()).toEqual(['rateLimited', 'requests', 'start']);
    expect(res.body.data.map((b: Bucket) => b.start).every((s: string) => ISO_HOUR.test(s))).toBe(true);
    const last = res.body.data.at(-1);
    expect(last).toEqual({ start: currentHour(), requests: 5, rateLimited: 2 });
    expect(totals(res.body.data)).toEqual({ requests: 5, rateLimited: 2 });
    // The key can read its own usage, by id or client ID (this request counts too, once written).
    const own = await callWith(HOUR, 'GET', `/v1/keys/${pair.clientId}/usage?granularity=day`, { headers: await adminHeaders(org) });
    expect(own.status).toBe(200);
    expect(own.body.data).toHaveLength(30);
    expect(own.body.data.at(-1).start).toMatch(/T00:00:00\.000Z$/);
    expect(totals(own.body.data)).toEqual({ requests: 5, rateLimited: 2 });
  });

  it("answers 404 for another organization's key, exactly as for an unknown one", async () => {
    const mine = randomId();
    const theirs = await createOrgKey(randomId());
    for (const ref of [theirs.id, theirs.clientId, 'key_unknown']) {
      const res = await callWith(HOUR, 'GET', `/v1/keys/${ref}/usage`, { headers: await adminHeaders(mine) });
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ error: 'key not found' });
    }
  });

  it.each([
    ['granularity=minute', 'granularity'],
    ['from=yesterday', 'from'],
    ['from=2026-01-01T00:00:00Z&to=2026-04-02T00:00:00Z', 'from'],
    ['from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z', 'to'],
    ['from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z', 'to'],
  ])('refuses ?%s with 400 naming %s', async (query, field) => {
    const org = randomId();
    const pair = await createOrgKey(org);
    const res = await callWith(HOUR, 'GET', `/v1/keys/${pair.id}/usage?${query}`, { headers: await adminHeaders(org) });
    expect(res.status, res.text).toBe(400);
    expect(JSON.stringify(res.body.details)).toContain(field);
  });

  it('serves any range of at most 90 days, every bucket present', async () => {
    const org = randomId();
    const pair = await createOrgKey(org);
    const res = await callWith(HOUR, 'GET', `/v1/keys/${pair.id}/usage?granularity=day&from=2026-01-01T12:00:00Z&to=2026-04-01T00:00:00Z`, {
      headers: await adminHeaders(org),
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body.data).toHaveLength(90);
    expect(res.body.data[0]).toEqual({ start: '2026-01-01T00:00:00.000Z', requests: 0, rateLimited: 0 });
    expect(res.body.data.at(-1).start).toBe('2026-03-31T00:00:00.000Z');
  });
});

describe('usage of project keys, projects and organizations', () => {
  it('per key, per project and per organization, each equal to the requests sent; other tenants see nothing of it', async () => {
    const p = newProject();
    const q = newProject(p.org);
    const [a, b] = await Promise.all([createProjectKey(p), createProjectKey(q)]);
    const pair = await createOrgKey(p.org);
    for (let i = 0; i < 3; i++) await callWith(HOUR, 'GET', clientPath(p), { headers: apiKeyHeaders(a.key) });
    for (let i = 0; i < 2; i++) await callWith(HOUR, 'GET', clientPath(q, 'tags'), { headers: apiKeyHeaders(b.key) });
    await callWith(HOUR, 'GET', '/v1/companies', { headers: pairHeaders(pair) });
    // An admin JWT through the gateway counts for the organization (no key).
    const admin = await adminHeaders(p.org);
    await callWith(HOUR, 'GET', `/app/v1/organizations/${p.org}/projects/${p.project}/content`, { headers: admin });

    const key = await callWith(HOUR, 'GET', `${keysPath(p, a.id)}/usage`, { headers: admin });
    expect(key.status, key.text).toBe(200);
    expect(key.body.granularity).toBe('hour');
    expect(totals(key.body.data)).toEqual({ requests: 3, rateLimited: 0 });

    const project = await callWith(HOUR, 'GET', `/app/v1/organizations/${p.org}/usage?projectId=${q.project}`, { headers: admin });
    expect(project.status, project.text).toBe(200);
    expect(totals(project.body.data)).toEqual({ requests: 2, rateLimited: 0 });

    const organization = await callWith(HOUR, 'GET', `/app/v1/organizations/${p.org}/usage?granularity=day`, {
      headers: await adminHeaders(p.org, { role: 'member' }),
    });
    expect(organization.status, organization.text).toBe(200);
    expect(organization.body.granularity).toBe('day');
    expect(organization.body.data).toHaveLength(30);
    expect(totals(organization.body.data)).toEqual({ requests: 3 + 2 + 1 + 1, rateLimited: 0 });

    // Another organization: 404 for the key, its own (empty) usage for the organization path of its token.
    const stranger = await adminHeaders(randomId());
    expect((await callWith(HOUR, 'GET', `${keysPath(p, a.id)}/usage`, { headers: stranger })).status).toBe(404);
    expect((await callWith(HOUR, 'GET', `/app/v1/organizations/${p.org}/usage`, { headers: stranger })).status).toBe(404);
  });

  it('counts a known key refused for another project as a refusal, not as a request', async () => {
    const p = newProject();
    const q = newProject(p.org);
    const a = await createProjectKey(p);
    const wrong = await callWith(HOUR, 'GET', clientPath(q), { headers: apiKeyHeaders(a.key) });
    expect(wrong.status).toBe(401);
    const row = await env.DB.prepare('SELECT requests, rate_limited, refused FROM usage_hourly WHERE key_id = ?1').bind(a.id).first();
    expect(row).toEqual({ requests: 0, rate_limited: 0, refused: 1 });
  });
});

describe('the usage recorder', () => {
  const config = { usageFlushMs: 50 } as Config;

  it('writes 500 requests of 3 keys in one D1 batch, added up per key and hour', async () => {
    const org = randomId();
    const recorder = new UsageRecorder();
    const batches: number[] = [];
    const db = overriding(env.DB, {
      batch: (statements: D1PreparedStatement[]) => {
        batches.push(statements.length);
        return env.DB.batch(statements);
      },
    });
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < 500; i++) {
      recorder.record(
        { db, config, waitUntil: (p) => pending.push(p) },
        { organizationId: org, projectId: null, keyId: `k${i % 3}` },
        i % 10 === 0 ? 'rate_limited' : 'accepted',
      );
    }
    expect(pending).toHaveLength(1);
    await Promise.all(pending);
    expect(batches).toHaveLength(1);
    const { results } = await env.DB.prepare(
      'SELECT key_id, requests, rate_limited FROM usage_hourly WHERE organization_id = ?1 ORDER BY key_id',
    )
      .bind(org)
      .all();
    expect(results).toEqual([
      { key_id: 'k0', requests: 150, rate_limited: 17 },
      { key_id: 'k1', requests: 150, rate_limited: 17 },
      { key_id: 'k2', requests: 150, rate_limited: 16 },
    ]);
  });

  it('a failed write loses its counts (logged), never counts them twice', async () => {
    const org = randomId();
    const recorder = new UsageRecorder();
    const failing = overriding(env.DB, {
      batch: () => Promise.reject(new Error('D1_ERROR: lost')),
    });
    const pending: Promise<unknown>[] = [];
    recorder.record(
      { db: failing, config, waitUntil: (p) => pending.push(p) },
      { organizationId: org, projectId: null, keyId: 'k' },
      'accepted',
    );
    await Promise.all(pending);
    expect(recorder.pending).toBe(0);
    recorder.record(
      { db: env.DB, config, waitUntil: (p) => pending.push(p) },
      { organizationId: org, projectId: null, keyId: 'k' },
      'accepted',
    );
    await Promise.all(pending);
    const row = await env.DB.prepare('SELECT requests FROM usage_hourly WHERE organization_id = ?1').bind(org).first();
    expect(row).toEqual({ requests: 1 });
  });
});

describe('Analytics Engine (USAGE_EVENTS)', () => {
  it('writes one data point per counted request when a dataset is bound, and nothing breaks when it throws', async () => {
    const p = newProject();
    const a = await createProjectKey(p);
    const points: AnalyticsEngineDataPoint[] = [];
    const dataset = { writeDataPoint: (point: AnalyticsEngineDataPoint) => points.push(point) };
    for (let i = 0; i < 3; i++) {
      const res = await callWith({ ...HOUR, USAGE_EVENTS: dataset } as Partial<Env>, 'GET', clientPath(p), {
        headers: apiKeyHeaders(a.key),
      });
      expect(res.status).toBe(200);
    }
    expect(points).toHaveLength(3);
    expect(points[0]).toEqual({ blobs: ['accepted', 'api', p.org, p.project, a.id], doubles: [1], indexes: [p.org] });
    const throwing = {
      writeDataPoint: () => {
        throw new Error('dataset unavailable');
      },
    };
    const res = await callWith({ ...HOUR, USAGE_EVENTS: throwing } as Partial<Env>, 'GET', clientPath(p), {
      headers: apiKeyHeaders(a.key),
    });
    expect(res.status).toBe(200);
  });
});

describe('GET /app/v1/organizations/{o}/limits', () => {
  it('shows the key limit, active keys, the request budget and projects with their own, to admins and members only of that organization', async () => {
    const org = randomId();
    const p = newProject(org);
    await Promise.all([createOrgKey(org), createProjectKey(p)]);
    const plain = await callWith(HOUR, 'GET', `/app/v1/organizations/${org}/limits`, {
      headers: await adminHeaders(org, { role: 'member' }),
    });
    expect(plain.status, plain.text).toBe(200);
    expect(plain.body).toEqual({ keyLimit: 100, activeKeys: 2, rateLimit: { requests: 1_000_000, windowSeconds: 3600 }, projects: [] });
    await setOrganizationRateLimit(env.DB, org, { requests: 50, windowSeconds: 10 }, new Date().toISOString());
    await env.DB.prepare(
      `INSERT INTO projects (organization_id, project_id, rate_limit_requests, rate_limit_window_seconds, created_at, updated_at) VALUES (?1, ?2, 5, 60, ?3, ?3)`,
    )
      .bind(org, p.project, new Date().toISOString())
      .run();
    const set = await callWith(HOUR, 'GET', `/app/v1/organizations/${org}/limits`, { headers: await adminHeaders(org) });
    expect(set.body).toEqual({
      keyLimit: 100,
      activeKeys: 2,
      rateLimit: { requests: 50, windowSeconds: 10 },
      projects: [{ projectId: p.project, rateLimit: { requests: 5, windowSeconds: 60 } }],
    });
    const other = await callWith(HOUR, 'GET', `/app/v1/organizations/${org}/limits`, { headers: await adminHeaders(randomId()) });
    expect(other.status).toBe(404);
  });
});
