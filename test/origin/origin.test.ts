// End to end through Keygate to the reference origin (examples/origin, in this isolate, over
// ORIGIN_DB with its schema.sql and seed.sql): each credential sees exactly what it should.
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { createOriginApp } from '../../examples/origin/src/index';
import { adminHeaders, createOrgKey, pairHeaders, randomId } from '../support/fixtures';
import { callVia, referenceOrigin, seedOriginDb } from '../support/origin';
import { apiKeyHeaders, clientPath, createProjectKey, INVALID_API_KEY_BODY, ISO, newProject, type Project } from '../support/project';
import { callWith } from '../support/worker';

beforeAll(seedOriginDb);

const origin = referenceOrigin();
const ACME_APP: Project = { org: 'acme', project: 'mobile-app' };
const appPath = (p: Project, rest: string) => `/app/v1/organizations/${p.org}/projects/${p.project}/${rest}`;

const welcome = {
  id: 'cnt_welcome',
  title: 'Welcome to Acme',
  body: 'Everything you need to launch.',
  status: 'published',
  createdAt: '2026-04-01T10:00:00.000Z',
  updatedAt: '2026-04-01T10:00:00.000Z',
};
const pricing = {
  id: 'cnt_pricing',
  title: 'Pricing',
  body: 'Rockets from 99 credits.',
  status: 'published',
  createdAt: '2026-04-02T10:00:00.000Z',
  updatedAt: '2026-04-02T10:00:00.000Z',
};
const launchDraft = {
  id: 'cnt_launch_draft',
  title: 'Spring launch (draft)',
  body: 'Not announced yet.',
  status: 'draft',
  createdAt: '2026-04-03T10:00:00.000Z',
  updatedAt: '2026-04-03T10:00:00.000Z',
};

describe('organization keys: /v1/companies', () => {
  it("lists only the key's own organization's companies", async () => {
    const acme = await createOrgKey('acme', randomId('acme key'));
    const res = await callVia(origin, 'GET', '/v1/companies', { headers: pairHeaders(acme) });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({
      data: [
        { id: 'cmp_acme_1', name: 'Acme Rockets', domain: 'rockets.acme.test', createdAt: '2026-01-05T09:00:00.000Z' },
        { id: 'cmp_acme_2', name: 'Acme Anvils', domain: 'anvils.acme.test', createdAt: '2026-02-11T09:00:00.000Z' },
      ],
    });
    const globex = await createOrgKey('globex', randomId('globex key'));
    const other = await callVia(origin, 'GET', '/v1/companies', { headers: pairHeaders(globex) });
    expect(other.body).toEqual({
      data: [{ id: 'cmp_globex_1', name: 'Globex Chemicals', domain: 'chem.globex.test', createdAt: '2026-03-01T09:00:00.000Z' }],
    });
  });

  it("reads its own company by id and gets 404 for another organization's", async () => {
    const acme = await createOrgKey('acme', randomId('acme key'));
    const own = await callVia(origin, 'GET', '/v1/companies/cmp_acme_2', { headers: pairHeaders(acme) });
    expect(own.status, own.text).toBe(200);
    expect(own.body.data.id).toBe('cmp_acme_2');
    const foreign = await callVia(origin, 'GET', '/v1/companies/cmp_globex_1', { headers: pairHeaders(acme) });
    expect(foreign.status, foreign.text).toBe(404);
    expect(foreign.body).toEqual({ error: 'company not found' });
  });

  it('cannot be steered to another organization with spoofed identity headers', async () => {
    const org = randomId();
    const pair = await createOrgKey(org, 'spoofer');
    const res = await callVia(origin, 'GET', '/v1/companies', { headers: { ...pairHeaders(pair), 'x-keygate-org-id': 'acme' } });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({ data: [] });
  });

  it('cannot read project content at the origin', async () => {
    const pair = await createOrgKey('acme', randomId('acme key'));
    const res = await callVia(origin, 'GET', appPath(ACME_APP, 'content'), { headers: pairHeaders(pair) });
    expect(res.status, res.text).toBe(401);
  });
});

describe('project keys: published content of their project only', () => {
  it('lists published content, newest first, without drafts', async () => {
    const key = await createProjectKey(ACME_APP, randomId('mobile key'));
    const res = await callVia(origin, 'GET', clientPath(ACME_APP, 'content'), { headers: apiKeyHeaders(key.key) });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({ data: [pricing, welcome] });
  });

  it('gets 404 for a draft by id, 200 for a published item', async () => {
    const key = await createProjectKey(ACME_APP, randomId('mobile key'));
    const draft = await callVia(origin, 'GET', clientPath(ACME_APP, 'content/cnt_launch_draft'), { headers: apiKeyHeaders(key.key) });
    expect(draft.status, draft.text).toBe(404);
    expect(draft.body).toEqual({ error: { code: 'NOT_FOUND', message: 'content not found' } });
    const published = await callVia(origin, 'GET', clientPath(ACME_APP, 'content/cnt_welcome'), { headers: apiKeyHeaders(key.key) });
    expect(published.body).toEqual({ data: welcome });
  });

  it('sees only its own project: another project of the organization has other content', async () => {
    const website = await createProjectKey({ org: 'acme', project: 'website' }, randomId('website key'));
    const res = await callVia(origin, 'GET', clientPath({ org: 'acme', project: 'website' }, 'content'), {
      headers: apiKeyHeaders(website.key),
    });
    expect(res.body.data.map((c: { id: string }) => c.id)).toEqual(['cnt_web_home']);
    const globex = await createProjectKey({ org: 'globex', project: 'mobile-app' }, randomId('globex key'));
    const other = await callVia(origin, 'GET', clientPath({ org: 'globex', project: 'mobile-app' }, 'content'), {
      headers: apiKeyHeaders(globex.key),
    });
    expect(other.body.data.map((c: { id: string }) => c.id)).toEqual(['cnt_globex_news']);
  });

  it("is refused on another project's path before reaching the origin", async () => {
    const key = await createProjectKey(ACME_APP, randomId('mobile key'));
    const res = await callVia(origin, 'GET', clientPath({ org: 'acme', project: 'website' }, 'content'), {
      headers: apiKeyHeaders(key.key),
    });
    expect(res.status, res.text).toBe(401);
    expect(res.body).toEqual(INVALID_API_KEY_BODY);
  });

  it('still sees published content only when it claims x-keygate-visibility: all', async () => {
    const key = await createProjectKey(ACME_APP, randomId('mobile key'));
    const res = await callVia(origin, 'GET', clientPath(ACME_APP, 'content'), {
      headers: { ...apiKeyHeaders(key.key), 'x-keygate-visibility': 'all', 'x-keygate-role': 'admin', 'x-keygate-user-id': 'root' },
    });
    expect(res.body.data.map((c: { status: string }) => c.status)).toEqual(['published', 'published']);
  });

  it('reads the catalog and runs a saved search over published content', async () => {
    const key = await createProjectKey(ACME_APP, randomId('mobile key'));
    const read = async (rest: string) => {
      const res = await callVia(origin, 'GET', clientPath(ACME_APP, rest), { headers: apiKeyHeaders(key.key) });
      expect(res.status, `${rest}: ${res.text}`).toBe(200);
      return res.body.data;
    };
    expect((await read('content-types')).map((i: { id: string }) => i.id)).toEqual(['ct_article']);
    expect((await read('tags')).map((i: { id: string }) => i.id)).toEqual(['tag_launch']);
    expect(await read('packages/pkg_starter')).toEqual({
      id: 'pkg_starter',
      name: 'Starter kit',
      version: '1.2.0',
      createdAt: '2026-04-01T09:00:00.000Z',
    });
    expect((await read('assets')).map((i: { id: string }) => i.id)).toEqual(['ast_logo']);
    expect((await read('saved-searches')).map((i: { id: string }) => i.id)).toEqual(['ss_pricing']);
    const run = await callVia(origin, 'POST', clientPath(ACME_APP, 'saved-searches/ss_pricing/execute'), {
      headers: apiKeyHeaders(key.key),
      body: {},
    });
    expect(run.status, run.text).toBe(200);
    expect(run.body).toEqual({ data: [pricing] });
  });

  it('cannot create content', async () => {
    const key = await createProjectKey(ACME_APP, randomId('mobile key'));
    const res = await callVia(origin, 'POST', clientPath(ACME_APP, 'content'), {
      headers: apiKeyHeaders(key.key),
      body: { title: 'sneaky' },
    });
    expect(res.status, res.text).toBe(403);
    expect(res.body.error.code).toBe('FORBIDDEN');
  });
});

describe('admin JWTs: drafts too, and content changes', () => {
  it('an admin sees drafts', async () => {
    const res = await callVia(origin, 'GET', appPath(ACME_APP, 'content'), { headers: await adminHeaders('acme') });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({ data: [launchDraft, pricing, welcome] });
    const draft = await callVia(origin, 'GET', appPath(ACME_APP, 'content/cnt_launch_draft'), { headers: await adminHeaders('acme') });
    expect(draft.body).toEqual({ data: launchDraft });
  });

  it("an admin of another organization gets 404 from Keygate, not the origin's data", async () => {
    const res = await callVia(origin, 'GET', appPath(ACME_APP, 'content'), { headers: await adminHeaders('globex') });
    expect(res.status, res.text).toBe(404);
    expect(res.body).toEqual({ error: { code: 'NOT_FOUND', message: 'not found' } });
  });

  it("an admin of another organization cannot reach this organization's content through path variants", async () => {
    const globex = await adminHeaders('globex');
    for (const path of [
      `/app/v1//organizations/acme/projects/mobile-app/content`,
      `/app/v1/organizations//acme/projects/mobile-app/content`,
      `/app/v1/organizations/%61cme/projects/mobile-app/content`,
      `/app/v1/organizations/ACME/projects/mobile-app/content`,
      `/app/v1/organizations/globex/../acme/projects/mobile-app/content`,
    ]) {
      const res = await callVia(origin, 'GET', path, { headers: globex });
      expect(res.status, `${path}: ${res.text}`).not.toBe(200);
      expect(res.text, path).not.toContain('cnt_');
    }
  });

  it('an admin creates a draft (the default) and publishes it; then the project key sees it', async () => {
    const p = newProject();
    const key = await createProjectKey(p, 'reader');
    const admin = await adminHeaders(p.org);
    const created = await callVia(origin, 'POST', appPath(p, 'content'), {
      headers: admin,
      body: { title: 'Launch day', body: 'Tomorrow.' },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toEqual({
      data: {
        id: expect.stringMatching(/^cnt_/),
        title: 'Launch day',
        body: 'Tomorrow.',
        status: 'draft',
        createdAt: expect.stringMatching(ISO),
        updatedAt: created.body.data.createdAt,
      },
    });
    const id: string = created.body.data.id;

    const hidden = await callVia(origin, 'GET', clientPath(p, 'content'), { headers: apiKeyHeaders(key.key) });
    expect(hidden.body).toEqual({ data: [] });
    const hiddenById = await callVia(origin, 'GET', clientPath(p, `content/${id}`), { headers: apiKeyHeaders(key.key) });
    expect(hiddenById.status, hiddenById.text).toBe(404);
    const adminView = await callVia(origin, 'GET', appPath(p, 'content'), { headers: admin });
    expect(adminView.body).toEqual({ data: [created.body.data] });

    const published = await callVia(origin, 'POST', appPath(p, `content/${id}/publish`), { headers: admin });
    expect(published.status, published.text).toBe(200);
    expect(published.body).toEqual({ data: { ...created.body.data, status: 'published', updatedAt: expect.stringMatching(ISO) } });

    const visible = await callVia(origin, 'GET', clientPath(p, 'content'), { headers: apiKeyHeaders(key.key) });
    expect(visible.body).toEqual({ data: [published.body.data] });
    const otherProject = await createProjectKey(newProject(p.org), 'other project');
    const elsewhere = await callVia(origin, 'GET', clientPath({ org: p.org, project: otherProject.projectId }, 'content'), {
      headers: apiKeyHeaders(otherProject.key),
    });
    expect(elsewhere.body).toEqual({ data: [] });
  });

  it('an admin may create published content directly', async () => {
    const p = newProject();
    const key = await createProjectKey(p, 'reader');
    const created = await callVia(origin, 'POST', appPath(p, 'content'), {
      headers: await adminHeaders(p.org),
      body: { title: 'Live', status: 'published' },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body.data).toMatchObject({ title: 'Live', body: '', status: 'published' });
    const visible = await callVia(origin, 'GET', clientPath(p, 'content'), { headers: apiKeyHeaders(key.key) });
    expect(visible.body.data.map((c: { id: string }) => c.id)).toEqual([created.body.data.id]);
  });

  it('an admin updates content; a member may not; a key cannot; bad input is a 400', async () => {
    const p = newProject();
    const key = await createProjectKey(p, 'reader');
    const admin = await adminHeaders(p.org);
    const created = await callVia(origin, 'POST', appPath(p, 'content'), { headers: admin, body: { title: 'Draft title' } });
    const id: string = created.body.data.id;

    const updated = await callVia(origin, 'PUT', appPath(p, `content/${id}`), {
      headers: admin,
      body: { title: 'Final title', body: 'Text.' },
    });
    expect(updated.status, updated.text).toBe(200);
    expect(updated.body).toEqual({
      data: { ...created.body.data, title: 'Final title', body: 'Text.', updatedAt: expect.stringMatching(ISO) },
    });

    const member = await callVia(origin, 'PUT', appPath(p, `content/${id}`), {
      headers: await adminHeaders(p.org, { sub: 'mallory', role: 'member' }),
      body: { title: 'by a member' },
    });
    expect(member.status, member.text).toBe(403);
    expect(member.body).toEqual({ error: { code: 'FORBIDDEN', message: 'only admins may update content' } });
    const byKey = await callVia(origin, 'PUT', clientPath(p, `content/${id}`), {
      headers: apiKeyHeaders(key.key),
      body: { title: 'by a key' },
    });
    expect(byKey.status, byKey.text).toBe(403);
    for (const body of [{ title: '' }, { status: 'archived' }, { body: 42 }]) {
      const bad = await callVia(origin, 'PUT', appPath(p, `content/${id}`), { headers: admin, body });
      expect(bad.status, `${JSON.stringify(body)}: ${bad.text}`).toBe(400);
    }
    const missing = await callVia(origin, 'PUT', appPath(p, 'content/cnt_nope'), { headers: admin, body: { title: 'x' } });
    expect(missing.status, missing.text).toBe(404);

    const adminView = await callVia(origin, 'GET', appPath(p, `content/${id}`), { headers: admin });
    expect(adminView.body.data).toMatchObject({ title: 'Final title', body: 'Text.', status: 'draft' });
  });

  it('a member reads drafts but can neither create nor publish', async () => {
    const p = newProject();
    const admin = await adminHeaders(p.org);
    const member = await adminHeaders(p.org, { sub: 'mallory', role: 'member' });
    const draft = await callVia(origin, 'POST', appPath(p, 'content'), { headers: admin, body: { title: 'Secret plan' } });
    expect(draft.status, draft.text).toBe(201);

    const created = await callVia(origin, 'POST', appPath(p, 'content'), { headers: member, body: { title: 'by a member' } });
    expect(created.status, created.text).toBe(403);
    expect(created.body).toEqual({ error: { code: 'FORBIDDEN', message: 'only admins may create content' } });
    const published = await callVia(origin, 'POST', appPath(p, `content/${draft.body.data.id}/publish`), { headers: member });
    expect(published.status, published.text).toBe(403);
    expect(published.body).toEqual({ error: { code: 'FORBIDDEN', message: 'only admins may publish content' } });

    const read = await callVia(origin, 'GET', appPath(p, 'content'), { headers: member });
    expect(read.body.data).toEqual([draft.body.data]);
    expect(read.body.data[0].status).toBe('draft');
  });

  it('a member cannot become an admin with a spoofed x-keygate-role', async () => {
    const p = newProject();
    const member = await adminHeaders(p.org, { role: 'member' });
    const res = await callVia(origin, 'POST', appPath(p, 'content'), {
      headers: { ...member, 'x-keygate-role': 'admin' },
      body: { title: 'spoofed' },
    });
    expect(res.status, res.text).toBe(403);
  });
});

describe('the reference origin on its own', () => {
  it('refuses requests that did not come through Keygate', async () => {
    const app = createOriginApp();
    const direct = await app.fetch(new Request('https://origin.internal/v1/companies'), { ORIGIN_DB: env.ORIGIN_DB });
    expect(direct.status).toBe(401);
    expect(await direct.json()).toEqual({ error: 'requests must come through Keygate' });
  });

  it('with KEYGATE_SHARED_SECRET set, refuses requests without the secret Keygate adds', async () => {
    const app = createOriginApp();
    const shared = 'operator-shared-secret';
    const headers = { 'x-keygate-org-id': 'acme', 'x-keygate-key-kind': 'org', 'x-keygate-key-id': 'key_x' };
    const without = await app.fetch(new Request('https://origin.internal/v1/companies', { headers }), {
      ORIGIN_DB: env.ORIGIN_DB,
      KEYGATE_SHARED_SECRET: shared,
    });
    expect(without.status).toBe(401);
    const withSecret = await app.fetch(
      new Request('https://origin.internal/v1/companies', { headers: { ...headers, 'x-keygate-secret': shared } }),
      {
        ORIGIN_DB: env.ORIGIN_DB,
        KEYGATE_SHARED_SECRET: shared,
      },
    );
    expect(withSecret.status).toBe(200);
  });

  it('accepts Keygate-forwarded requests when Keygate and the origin share the secret', async () => {
    const org = randomId();
    const pair = await createOrgKey(org, 'shared');
    const shared = 'operator-shared-secret-2';
    const app = createOriginApp();
    const guarded = {
      fetch: (input: RequestInfo | URL, init?: RequestInit) =>
        app.fetch(new Request(input, init), { ORIGIN_DB: env.ORIGIN_DB, KEYGATE_SHARED_SECRET: shared }),
    } as unknown as Fetcher;
    const ok = await callWith({ ORIGIN: guarded, ORIGIN_SHARED_SECRET: shared } as Partial<Env>, 'GET', '/v1/companies', {
      headers: pairHeaders(pair),
    });
    expect(ok.status, ok.text).toBe(200);
    const refused = await callWith({ ORIGIN: guarded } as Partial<Env>, 'GET', '/v1/companies', {
      headers: { ...pairHeaders(pair), 'x-keygate-secret': shared },
    });
    expect(refused.status, refused.text).toBe(401);
  });
});
