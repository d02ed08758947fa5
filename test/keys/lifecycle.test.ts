// Key lifecycle: expiry at the exact millisecond in every tier, rolls with a grace period on both
// surfaces, and scoped organization keys (every permission set against every kind of route, no
// escalation through create or roll).
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { auditRowsOfKey, keyRow } from '../support/db';
import { adminHeaders, type OrgKeyPair, pairHeaders, randomId, remember } from '../support/fixtures';
import { recordingOrigin } from '../support/origin';
import { apiKeyHeaders, cacheKeyOf, clientPath, createProjectKey, keysPath, newProject } from '../support/project';
import { callWith } from '../support/worker';

const HOUR = { ORG_RATE_LIMIT: '1000000/3600s', PROJECT_RATE_LIMIT: '1000000/3600s' };

afterEach(() => {
  vi.useRealTimers();
});

/** Moves Date (only Date: timers keep running) to `ms`. */
function clockAt(ms: number): void {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(ms);
}

async function createOrgKeyWith(org: string, body: Record<string, unknown>, headers?: Record<string, string>) {
  const res = await callWith(HOUR, 'POST', '/v1/keys', { headers: headers ?? (await adminHeaders(org)), body: { name: 'k', ...body } });
  if (res.status === 201) await remember('organization secret', res.body.data.apiKey);
  return res;
}

const pairOf = (res: { body: { data: OrgKeyPair } }) => pairHeaders(res.body.data);
const companies = (headers: Record<string, string>, overrides: Partial<Env> = {}) =>
  callWith({ ...HOUR, ...overrides }, 'GET', '/v1/companies', { headers });

describe('expiry', () => {
  it('refuses an organization key from its expiry millisecond on, in the isolate tier, in KV and in D1', async () => {
    const start = Date.now();
    clockAt(start);
    const created = await createOrgKeyWith(randomId(), { expiresIn: 60 });
    expect(created.status, created.text).toBe(201);
    const expiresAt = Date.parse(created.body.data.expiresAt);
    expect(expiresAt).toBe(start + 60_000);
    const headers = pairOf(created);
    // Warm every tier: this isolate's memory, and KV (filled after the first use).
    expect((await companies(headers)).status).toBe(200);
    clockAt(expiresAt - 1);
    expect((await companies(headers)).status, 'the last millisecond').toBe(200);
    expect((await companies(headers, { ISOLATE_CACHE_TTL_SECONDS: '0' })).status, 'from KV, the last millisecond').toBe(200);
    clockAt(expiresAt);
    const isolate = await companies(headers);
    expect(isolate.status, 'isolate tier at expiry').toBe(401);
    expect(isolate.body).toEqual({ error: 'invalid api key or clientId' });
    expect((await companies(headers, { ISOLATE_CACHE_TTL_SECONDS: '0' })).status, 'KV at expiry').toBe(401);
    // D1 alone: another isolate's tier, and KV emptied.
    await env.KEY_CACHE.delete(await cacheKeyOf(created.body.data.apiKey));
    const d1 = await companies(headers, { ISOLATE_CACHE_MAX_ENTRIES: '10007' });
    expect(d1.status, 'D1 at expiry').toBe(401);
    clockAt(expiresAt - 1);
    expect((await companies(headers, { ISOLATE_CACHE_MAX_ENTRIES: '10011' })).status, 'D1, the last millisecond').toBe(200);
  });

  it('refuses an expired project key like an unknown one, and it stops counting against the key limit', async () => {
    const p = newProject();
    const admin = await adminHeaders(p.org);
    const start = Date.now();
    clockAt(start);
    const limited = { ...HOUR, DEFAULT_KEY_LIMIT: '1' };
    const first = await callWith(limited, 'POST', keysPath(p), {
      headers: admin,
      body: { name: 'short', expiresAt: new Date(start + 120_000).toISOString() },
    });
    expect(first.status, first.text).toBe(201);
    expect(first.body.expiresAt).toBe(new Date(start + 120_000).toISOString());
    expect((await callWith(limited, 'POST', keysPath(p), { headers: admin, body: { name: 'second' } })).status).toBe(422);
    expect((await callWith(limited, 'GET', clientPath(p), { headers: apiKeyHeaders(first.body.key) })).status).toBe(200);
    clockAt(start + 120_000);
    const refused = await callWith(limited, 'GET', clientPath(p), { headers: apiKeyHeaders(first.body.key) });
    expect(refused.status).toBe(401);
    expect(refused.body).toEqual({ error: { code: 'UNAUTHORIZED', message: 'Invalid or missing API key' } });
    const second = await callWith(limited, 'POST', keysPath(p), { headers: admin, body: { name: 'second' } });
    expect(second.status, second.text).toBe(201);
  });

  it.each([
    [{ expiresIn: 59 }, 'expiresIn'],
    [{ expiresIn: 60.5 }, 'expiresIn'],
    [{ expiresIn: '3600' }, 'expiresIn'],
    [{ expiresIn: 31_622_401 }, 'expiresIn'],
    [{ expiresAt: '2020-01-01T00:00:00Z' }, 'expiresAt'],
    [{ expiresAt: 'tomorrow' }, 'expiresAt'],
    [{ expiresAt: '2099-01-01T00:00:00Z' }, 'expiresAt'],
    [{ expiresIn: 3600, expiresAt: '2099-01-01T00:00:00Z' }, 'expiresIn'],
  ])('refuses %j with 400 naming %s, on both surfaces, storing nothing', async (body, field) => {
    const p = newProject();
    const onOrg = await createOrgKeyWith(p.org, body);
    expect(onOrg.status, onOrg.text).toBe(400);
    expect(JSON.stringify(onOrg.body.details)).toContain(field);
    const onProject = await callWith(HOUR, 'POST', keysPath(p), { headers: await adminHeaders(p.org), body: { name: 'x', ...body } });
    expect(onProject.status, onProject.text).toBe(400);
    expect(JSON.stringify(onProject.body.error.details)).toContain(field);
    const stored = await env.DB.prepare('SELECT count(*) AS n FROM api_keys WHERE organization_id = ?1').bind(p.org).first<{ n: number }>();
    expect(stored?.n).toBe(0);
  });

  it('shows expiresAt (null: never) in list rows', async () => {
    const org = randomId();
    await createOrgKeyWith(org, { name: 'never' });
    await createOrgKeyWith(org, { name: 'soon', expiresIn: 3600 });
    const list = await callWith(HOUR, 'GET', '/v1/keys', { headers: await adminHeaders(org) });
    const byName = Object.fromEntries(list.body.data.map((k: { name: string; expiresAt: string | null }) => [k.name, k.expiresAt]));
    expect(byName.never).toBeNull();
    expect(byName.soon).toMatch(/^\d{4}-/);
  });
});

describe('roll (organization keys)', () => {
  it('returns a new pair; both work during the grace; the old one is refused after it; audit and links', async () => {
    const org = randomId();
    const start = Date.now();
    clockAt(start);
    const created = await createOrgKeyWith(org, {
      permissions: ['keys:read', 'api:read'],
      rateLimit: { requests: 50, windowSeconds: 60 },
      expiresIn: 86_400,
    });
    const old = created.body.data;
    const rolled = await callWith(HOUR, 'POST', `/v1/keys/${old.clientId}/roll`, {
      headers: await adminHeaders(org),
      body: { expireCurrentInSeconds: 600 },
    });
    expect(rolled.status, rolled.text).toBe(201);
    const fresh = rolled.body.data;
    await remember('organization secret', fresh.apiKey);
    expect(fresh).toMatchObject({
      name: old.name,
      permissions: ['keys:read', 'api:read'],
      rolledFrom: old.id,
      rateLimit: { requests: 50, windowSeconds: 60 },
      expiresAt: new Date(start + 86_400_000).toISOString(),
    });
    expect(fresh.id).not.toBe(old.id);
    expect(fresh.clientId).not.toBe(old.clientId);
    expect(fresh.apiKey).toMatch(/^kg_sk_/);
    expect((await companies(pairHeaders(old))).status).toBe(200);
    expect((await companies(pairHeaders(fresh))).status).toBe(200);
    const list = await callWith(HOUR, 'GET', '/v1/keys', { headers: await adminHeaders(org) });
    const listedOld = list.body.data.find((k: { id: string }) => k.id === old.id);
    expect(listedOld).toMatchObject({ rolledTo: fresh.id, expiresAt: new Date(start + 600_000).toISOString() });
    clockAt(start + 600_000);
    expect((await companies(pairHeaders(old))).status, 'the grace is over').toBe(401);
    expect((await companies(pairHeaders(fresh))).status).toBe(200);
    expect((await auditRowsOfKey(old.id)).map((a) => a.action)).toEqual(['created', 'rolled']);
    expect((await auditRowsOfKey(fresh.id)).map((a) => a.action)).toEqual(['created']);
  });

  it('grace 0 (or no body) refuses the old key at once; rolling it again, or a revoked key, is 409 and changes nothing', async () => {
    const org = randomId();
    const admin = await adminHeaders(org);
    const old = (await createOrgKeyWith(org, {})).body.data;
    expect((await companies(pairHeaders(old))).status).toBe(200);
    const rolled = await callWith(HOUR, 'POST', `/v1/keys/${old.id}/roll`, { headers: admin });
    expect(rolled.status, rolled.text).toBe(201);
    await remember('organization secret', rolled.body.data.apiKey);
    expect((await companies(pairHeaders(old))).status).toBe(401);
    const again = await callWith(HOUR, 'POST', `/v1/keys/${old.id}/roll`, { headers: admin, body: { expireCurrentInSeconds: 60 } });
    expect(again.status).toBe(409);
    expect(again.body.error).toContain('already rolled');
    const revoked = (await createOrgKeyWith(org, {})).body.data;
    expect((await callWith(HOUR, 'DELETE', `/v1/keys/${revoked.id}`, { headers: admin })).status).toBe(200);
    expect((await callWith(HOUR, 'POST', `/v1/keys/${revoked.id}/roll`, { headers: admin })).status).toBe(409);
    const keys = await env.DB.prepare('SELECT count(*) AS n FROM api_keys WHERE organization_id = ?1').bind(org).first<{ n: number }>();
    expect(keys?.n).toBe(3);
    expect(
      (await callWith(HOUR, 'POST', `/v1/keys/${old.id}/roll`, { headers: admin, body: { expireCurrentInSeconds: 604_801 } })).status,
    ).toBe(400);
    expect((await callWith(HOUR, 'POST', '/v1/keys/key_unknown/roll', { headers: admin })).status).toBe(404);
  });
});

describe('roll of an expired key', () => {
  it('is refused with 409 on both surfaces, and changes nothing', async () => {
    const p = newProject();
    const admin = await adminHeaders(p.org);
    const start = Date.now();
    clockAt(start);
    const org = (await createOrgKeyWith(p.org, { expiresIn: 60 })).body.data;
    const project = await callWith(HOUR, 'POST', keysPath(p), { headers: admin, body: { name: 'short', expiresIn: 60 } });
    clockAt(start + 60_000);
    const onOrg = await callWith(HOUR, 'POST', `/v1/keys/${org.id}/roll`, { headers: admin });
    expect(onOrg.status, onOrg.text).toBe(409);
    expect(onOrg.body).toEqual({ error: 'an expired key cannot be rolled', details: { reason: 'expired' } });
    const onProject = await callWith(HOUR, 'POST', `${keysPath(p, project.body.id)}/roll`, { headers: admin });
    expect(onProject.status, onProject.text).toBe(409);
    expect(onProject.body.error).toMatchObject({ code: 'CONFLICT', details: { reason: 'expired' } });
    const count = await env.DB.prepare('SELECT count(*) AS n FROM api_keys WHERE organization_id = ?1').bind(p.org).first<{ n: number }>();
    expect(count?.n).toBe(2);
  });
});

describe('roll (project keys)', () => {
  it('keeps the name for the new key, renames the old one, both work during the grace, 409 on a second roll', async () => {
    const p = newProject();
    const admin = await adminHeaders(p.org);
    const old = await createProjectKey(p, 'iOS app');
    const rolled = await callWith(HOUR, 'POST', `${keysPath(p, old.id)}/roll`, {
      headers: admin,
      body: { expireCurrentInSeconds: 7_776_000 },
    });
    expect(rolled.status, rolled.text).toBe(201);
    await remember('project key', rolled.body.key);
    expect(rolled.body).toMatchObject({ name: 'iOS app', rolledFrom: old.id, status: 'active', rolledTo: null });
    expect((await callWith(HOUR, 'GET', clientPath(p), { headers: apiKeyHeaders(old.key) })).status).toBe(200);
    expect((await callWith(HOUR, 'GET', clientPath(p), { headers: apiKeyHeaders(rolled.body.key) })).status).toBe(200);
    const before = await callWith(HOUR, 'GET', keysPath(p, old.id), { headers: admin });
    expect(before.body.name).toMatch(/^iOS app \(rolled \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\)$/);
    expect(before.body.rolledTo).toBe(rolled.body.id);
    expect((await callWith(HOUR, 'POST', `${keysPath(p, old.id)}/roll`, { headers: admin })).status).toBe(409);
    expect(
      (await callWith(HOUR, 'POST', `${keysPath(p, old.id)}/roll`, { headers: admin, body: { expireCurrentInSeconds: 7_776_001 } })).status,
    ).toBe(400);
    const member = await adminHeaders(p.org, { role: 'member' });
    expect((await callWith(HOUR, 'POST', `${keysPath(p, rolled.body.id)}/roll`, { headers: member })).status).toBe(403);
    expect((await keyRow(rolled.body.id))?.rolled_from).toBe(old.id);
  });
});

describe('scoped organization keys', () => {
  const SETS = [
    ['keys:read'],
    ['keys:write'],
    ['api:read'],
    ['api:write'],
    ['keys:read', 'api:read'],
    ['keys:read', 'keys:write', 'api:read', 'api:write'],
  ];
  const ROUTES: Array<{ method: string; path: string; needs: string; body?: unknown }> = [
    { method: 'GET', path: '/v1/keys', needs: 'keys:read' },
    { method: 'POST', path: '/v1/keys', needs: 'keys:write', body: { name: 'child', permissions: [] } },
    { method: 'GET', path: '/v1/companies', needs: 'api:read' },
    { method: 'HEAD', path: '/v1/companies', needs: 'api:read' },
    { method: 'POST', path: '/v1/companies', needs: 'api:write', body: { name: 'x' } },
    { method: 'DELETE', path: '/v1/companies/c1', needs: 'api:write' },
  ];

  it.each(SETS)(
    'a key holding %j passes exactly the routes its permissions allow; the rest get 403 naming the permission',
    async (...permissions) => {
      const org = randomId();
      const created = await createOrgKeyWith(org, { permissions });
      expect(created.status, created.text).toBe(201);
      expect(created.body.data.permissions).toEqual(permissions);
      for (const route of ROUTES) {
        // The child a key creates holds a subset of its own permissions.
        const body = route.body && route.path === '/v1/keys' ? { name: 'child', permissions } : route.body;
        const res = await callWith(HOUR, route.method, route.path, { headers: pairOf(created), body });
        const allowed = permissions.includes(route.needs);
        if (allowed) expect(res.status, `${route.method} ${route.path}: ${res.text}`).toBeLessThan(400);
        else {
          expect(res.status, `${route.method} ${route.path}`).toBe(403);
          if (route.method !== 'HEAD') expect(res.body).toEqual({ error: `this API key lacks the ${route.needs} permission` });
        }
      }
    },
  );

  it('a key cannot create or roll a key with a permission it lacks', async () => {
    const org = randomId();
    const writer = await createOrgKeyWith(org, { permissions: ['keys:write', 'api:read'] });
    const headers = pairOf(writer);
    const wider = await callWith(HOUR, 'POST', '/v1/keys', { headers, body: { name: 'wider', permissions: ['api:write'] } });
    expect(wider.status).toBe(403);
    expect(wider.body).toEqual({ error: 'this API key lacks the api:write permission' });
    const defaulted = await callWith(HOUR, 'POST', '/v1/keys', { headers, body: { name: 'all four by default' } });
    expect(defaulted.status).toBe(403);
    const narrower = await callWith(HOUR, 'POST', '/v1/keys', { headers, body: { name: 'narrow', permissions: ['api:read'] } });
    expect(narrower.status, narrower.text).toBe(201);
    await remember('organization secret', narrower.body.data.apiKey);
    const full = (await createOrgKeyWith(org, {})).body.data;
    const roll = await callWith(HOUR, 'POST', `/v1/keys/${full.id}/roll`, { headers });
    expect(roll.status).toBe(403);
    expect((await companies(pairHeaders(full))).status, 'the refused roll changed nothing').toBe(200);
    const count = await env.DB.prepare('SELECT count(*) AS n FROM api_keys WHERE organization_id = ?1').bind(org).first<{ n: number }>();
    expect(count?.n).toBe(3);
  });

  it('forwards x-keygate-permissions for organization keys (old keys holding "*" as all four)', async () => {
    const org = randomId();
    const origin = recordingOrigin();
    const scoped = await createOrgKeyWith(org, { permissions: ['api:read'] });
    await callWith({ ...HOUR, ORIGIN: origin.fetcher }, 'GET', '/v1/companies', { headers: pairOf(scoped) });
    expect(origin.received[0]?.headers['x-keygate-permissions']).toBe('api:read');
    const legacy = (await createOrgKeyWith(org, {})).body.data;
    await env.DB.prepare(`UPDATE api_keys SET permissions = '["*"]' WHERE id = ?1`).bind(legacy.id).run();
    await callWith({ ...HOUR, ORIGIN: origin.fetcher, ISOLATE_CACHE_MAX_ENTRIES: '10009' }, 'GET', '/v1/companies', {
      headers: pairHeaders(legacy),
    });
    expect(origin.received[1]?.headers['x-keygate-permissions']).toBe('keys:read,keys:write,api:read,api:write');
  });

  it.each([[[]], [['keys:admin']], [['api:read', 'api:read']], ['api:read']])('refuses permissions %j with 400', async (permissions) => {
    const res = await createOrgKeyWith(randomId(), { permissions });
    expect(res.status, res.text).toBe(400);
    expect(JSON.stringify(res.body.details)).toContain('permissions');
  });
});
