// Key names on both surfaces: characters that make one name display as another, or break a log
// line, are refused (400 naming the field, nothing stored); names are NFC-normalised; a project
// key's name is unique in its project whatever the letter case.
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { adminHeaders, call, randomId } from '../support/fixtures';
import { createProjectKey, keysPath, newProject, postProjectKey } from '../support/project';

const UNSAFE: Array<[string, string]> = [
  ['a newline', 'Prod\nuction'],
  ['a tab', 'Prod\tuction'],
  ['a NUL', 'Prod\u0000'],
  ['DEL', 'Prod\u007f'],
  ['a right-to-left override', 'Invoice\u202Efdp.exe'],
  ['a left-to-right isolate', 'Prod\u2066x\u2069'],
  ['a right-to-left mark', 'Prod\u200F'],
  ['a zero-width space', 'Pro\u200Bd'],
  ['a zero-width joiner', 'Pro\u200Dd'],
  ['a word joiner', 'Pro\u2060d'],
  ['a byte order mark', '\uFEFFProd'],
  ['a line separator', 'Prod\u2028'],
  ['a lone high surrogate', 'Prod\uD800'],
  ['a lone low surrogate', '\uDC00Prod'],
];

async function orgKeyNames(org: string): Promise<number> {
  const row = await env.DB.prepare('SELECT count(*) AS n FROM api_keys WHERE organization_id = ?1').bind(org).first<{ n: number }>();
  return row?.n ?? 0;
}

describe('unsafe characters in names', () => {
  for (const [label, name] of UNSAFE) {
    it(`refuses a name with ${label} on both surfaces with 400 naming "name", storing nothing`, async () => {
      const org = randomId();
      const orgKey = await call('POST', '/v1/keys', { headers: await adminHeaders(org), body: { name } });
      expect(orgKey.status, orgKey.text).toBe(400);
      expect(orgKey.body.details).toEqual([{ field: 'name', message: expect.stringContaining('must not contain') }]);

      const p = newProject(org);
      const projectKey = await postProjectKey(p, { name });
      expect(projectKey.status, projectKey.text).toBe(400);
      expect(projectKey.body.error.code).toBe('VALIDATION_ERROR');
      expect(projectKey.body.error.details).toEqual([{ field: 'name', message: expect.stringContaining('must not contain') }]);

      const existing = await createProjectKey(p, 'fine');
      const renamed = await call('PUT', keysPath(p, existing.id), { headers: await adminHeaders(org), body: { name } });
      expect(renamed.status, renamed.text).toBe(400);
      expect(renamed.body.error.details[0].field).toBe('name');
      expect(await orgKeyNames(org)).toBe(1);
    });
  }

  it('accepts names in any script, emoji included (no format characters)', async () => {
    const p = newProject();
    for (const name of ['Écran d’accueil', 'アプリ', 'تطبيق', '🚀 launch', 'Ünïcödé 1.2']) {
      const created = await createProjectKey(p, name);
      expect(created.name).toBe(name);
    }
  });
});

describe('NFC normalisation', () => {
  it('stores and answers names in NFC on both surfaces', async () => {
    const decomposed = 'Cafe\u0301 app';
    const composed = 'Caf\u00e9 app';
    const org = randomId();
    const orgKey = await call('POST', '/v1/keys', { headers: await adminHeaders(org), body: { name: decomposed } });
    expect(orgKey.status, orgKey.text).toBe(201);
    expect(orgKey.body.data.name).toBe(composed);
    const created = await createProjectKey(newProject(org), decomposed);
    expect(created.name).toBe(composed);
    const row = await env.DB.prepare('SELECT name FROM api_keys WHERE id = ?1').bind(created.id).first<{ name: string }>();
    expect(row?.name).toBe(composed);
  });

  it('counts a decomposed spelling as the same name (409)', async () => {
    const p = newProject();
    await createProjectKey(p, 'Caf\u00e9');
    const res = await postProjectKey(p, { name: 'Cafe\u0301' });
    expect(res.status, res.text).toBe(409);
    expect(res.body.error.code).toBe('APIKEY_NAME_ALREADY_EXISTS');
  });
});

describe('project key names ignore case', () => {
  it('refuses a name that differs only in letter case, on create and on rename (409)', async () => {
    const p = newProject();
    await createProjectKey(p, 'iOS App');
    for (const name of ['ios app', 'IOS APP', 'iOs aPP']) {
      const res = await postProjectKey(p, { name });
      expect(res.status, `${name}: ${res.text}`).toBe(409);
      expect(res.body).toEqual({
        error: { code: 'APIKEY_NAME_ALREADY_EXISTS', message: `API key with name "${name}" already exists`, details: { name } },
      });
    }
    const other = await createProjectKey(p, 'Android');
    const rename = await call('PUT', keysPath(p, other.id), { headers: await adminHeaders(p.org), body: { name: 'IOS app' } });
    expect(rename.status, rename.text).toBe(409);
  });

  it('lets a key change the case of its own name', async () => {
    const p = newProject();
    const created = await createProjectKey(p, 'web app');
    const res = await call('PUT', keysPath(p, created.id), { headers: await adminHeaders(p.org), body: { name: 'Web App' } });
    expect(res.status, res.text).toBe(200);
    expect(res.body.name).toBe('Web App');
  });

  it('allows the same name in another project', async () => {
    const org = randomId();
    await createProjectKey(newProject(org), 'Shared');
    const res = await postProjectKey(newProject(org), { name: 'SHARED' });
    expect(res.status, res.text).toBe(201);
  });
});
