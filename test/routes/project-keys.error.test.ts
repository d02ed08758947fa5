// /app/v1/.../api-keys with bad input: invalid bodies and queries, taken names, unknown and
// foreign ids. Every refusal is in the project surface's shape and leaves D1 as it was.
import { describe, expect, it } from 'vitest';
import { auditRowsOfKey, storageState } from '../support/db';
import { adminHeaders, call, createOrgKey, randomId } from '../support/fixtures';
import {
  APIKEY_NOT_FOUND_BODY,
  createProjectKey,
  customKeyValue,
  deleteProjectKey,
  keysPath,
  newProject,
  postProjectKey,
  updateProjectKey,
  withoutKey,
} from '../support/project';

const CUSTOM_KEY_FORMAT = '32-128 characters of [A-Za-z0-9_-]';

function validationError(message: string, details: Array<{ field: string; message: string }>) {
  return { error: { code: 'VALIDATION_ERROR', message, details } };
}

describe('POST api-keys: the custom key', () => {
  const invalid: Array<{ label: string; value: () => Promise<string>; message: string }> = [
    { label: 'of 31 characters', value: async () => 'a'.repeat(31), message: CUSTOM_KEY_FORMAT },
    { label: 'of 129 characters', value: async () => 'a'.repeat(129), message: CUSTOM_KEY_FORMAT },
    { label: 'empty', value: async () => '', message: CUSTOM_KEY_FORMAT },
    { label: 'with a space', value: async () => `${'a'.repeat(20)} ${'b'.repeat(20)}`, message: CUSTOM_KEY_FORMAT },
    { label: 'with a dot', value: async () => `${'a'.repeat(20)}.${'b'.repeat(20)}`, message: CUSTOM_KEY_FORMAT },
    { label: 'with a slash', value: async () => `${'a'.repeat(20)}/${'b'.repeat(20)}`, message: CUSTOM_KEY_FORMAT },
    { label: 'with a non-ASCII letter', value: async () => `${'a'.repeat(20)}é${'b'.repeat(20)}`, message: CUSTOM_KEY_FORMAT },
    { label: 'with a newline', value: async () => `${'a'.repeat(20)}\n${'b'.repeat(20)}`, message: CUSTOM_KEY_FORMAT },
    ...[
      ['starting with kg_ (reserved for generated keys)', async () => `kg_${await customKeyValue(37)}`],
      ['shaped like a generated project key', async () => (await customKeyValue(39)).replace(/^./, 'kg_pk_').slice(0, 45)],
      ['shaped like an organization secret in upper case', async () => `KG_SK_${await customKeyValue(39)}`],
      ['with a kg- prefix', async () => `Kg-pk-${await customKeyValue(39)}`],
    ].map(([label, value]) => ({
      label: label as string,
      value: value as () => Promise<string>,
      message: 'must not start with "kg_" in any letter case (reserved for generated keys)',
    })),
    // Low entropy: right length and alphabet, but guessable.
    ...[
      ['of one repeated character', 'a'.repeat(32)],
      ['of two alternating characters', 'ab'.repeat(16)],
      ['of a run of the alphabet', 'abcdefghijklmnopqrstuvwxyzABCDEF'],
      ['of a repeated word', 'Password1234'.repeat(3)],
      ['of a few characters in blocks', 'aaaaaaaabbbbbbbbccccccccdddddddd'],
    ].map(([label, value]) => ({
      label: label!,
      value: async () => value!,
      message: 'too predictable: use a random value (e.g. 32 or more random base62 characters)',
    })),
  ];

  for (const { label, value, message } of invalid) {
    it(`refuses a custom key ${label} with 400 VALIDATION_ERROR naming apiKey, and stores nothing`, async () => {
      const p = newProject();
      const before = await storageState(p.org);
      const res = await postProjectKey(p, { name: 'custom', apiKey: await value() });
      expect(res.status, res.text).toBe(400);
      expect(res.body).toEqual(validationError('invalid request body', [{ field: 'apiKey', message }]));
      expect(await storageState(p.org)).toEqual(before);
    });
  }

  it('refuses a custom key that is not a string', async () => {
    const p = newProject();
    const res = await postProjectKey(p, { name: 'custom', apiKey: 1234567890123456 });
    expect(res.status, res.text).toBe(400);
    expect(res.body).toEqual(validationError('invalid request body', [{ field: 'apiKey', message: expect.any(String) }]));
  });

  it('refuses a custom key value that another key already uses, naming apiKey, without saying whose', async () => {
    const p = newProject();
    const value = await customKeyValue(48);
    const first = await createProjectKey(p, 'first', value);
    const elsewhere = newProject();
    const before = await storageState(elsewhere.org);
    const res = await postProjectKey(elsewhere, { name: 'copy', apiKey: value });
    expect(res.status, res.text).toBe(400);
    expect(res.body).toEqual(
      validationError('invalid request body', [{ field: 'apiKey', message: 'this value cannot be used; choose another' }]),
    );
    expect(res.text).not.toContain(p.org);
    expect(res.text).not.toContain(first.id);
    expect(await storageState(elsewhere.org)).toEqual(before);
  });
});

describe('POST api-keys: the body', () => {
  const invalid: Array<{ label: string; body: unknown; field: string }> = [
    { label: 'without a name', body: {}, field: 'name' },
    { label: 'with an empty name', body: { name: '' }, field: 'name' },
    { label: 'with a blank name', body: { name: '   ' }, field: 'name' },
    { label: 'with a name of 101 characters', body: { name: 'n'.repeat(101) }, field: 'name' },
    { label: 'with a name that is not a string', body: { name: 42 }, field: 'name' },
    { label: 'with an unknown field', body: { name: 'x', status: 'active' }, field: 'status' },
  ];
  for (const { label, body, field } of invalid) {
    it(`refuses a body ${label} with 400 naming "${field}"`, async () => {
      const p = newProject();
      const before = await storageState(p.org);
      const res = await postProjectKey(p, body);
      expect(res.status, res.text).toBe(400);
      expect(res.body).toEqual(validationError('invalid request body', [{ field, message: expect.any(String) }]));
      expect(await storageState(p.org)).toEqual(before);
    });
  }

  it('refuses malformed JSON with 400 VALIDATION_ERROR', async () => {
    const p = newProject();
    const res = await call('POST', keysPath(p), {
      headers: { ...(await adminHeaders(p.org)), 'content-type': 'application/json' },
      rawBody: '{"name": ',
    });
    expect(res.status, res.text).toBe(400);
    expect(res.body).toEqual({ error: { code: 'VALIDATION_ERROR', message: 'request body is not valid JSON' } });
  });

  it('refuses a project id that is not 1-64 characters of [A-Za-z0-9_-]', async () => {
    const org = randomId();
    for (const project of ['p'.repeat(65), 'has.dot']) {
      const res = await postProjectKey({ org, project }, { name: 'x' });
      expect(res.status, res.text).toBe(400);
      expect(res.body).toEqual(validationError('invalid path', [{ field: 'projectId', message: '1-64 characters of [A-Za-z0-9_-]' }]));
    }
  });
});

describe('names are unique within a project', () => {
  it('answers a taken name with exactly the 409 APIKEY_NAME_ALREADY_EXISTS body and stores nothing', async () => {
    const p = newProject();
    await createProjectKey(p, 'iOS app');
    const before = await storageState(p.org);
    const res = await postProjectKey(p, { name: 'iOS app' });
    expect(res.status, res.text).toBe(409);
    expect(res.text).toBe(
      '{"error":{"code":"APIKEY_NAME_ALREADY_EXISTS","message":"API key with name \\"iOS app\\" already exists","details":{"name":"iOS app"}}}',
    );
    expect(await storageState(p.org)).toEqual(before);
  });

  it('compares the trimmed name', async () => {
    const p = newProject();
    await createProjectKey(p, 'X');
    const res = await postProjectKey(p, { name: '  X ' });
    expect(res.status, res.text).toBe(409);
    expect(res.body).toEqual({
      error: { code: 'APIKEY_NAME_ALREADY_EXISTS', message: 'API key with name "X" already exists', details: { name: 'X' } },
    });
  });

  it('counts revoked keys: their name stays taken', async () => {
    const p = newProject();
    const revoked = await createProjectKey(p, 'retired');
    await updateProjectKey(p, revoked.id, { status: 'revoked' });
    const res = await postProjectKey(p, { name: 'retired' });
    expect(res.status, res.text).toBe(409);
  });

  it('refuses renaming a key to a taken name with the same 409, changing nothing and writing no entry', async () => {
    const p = newProject();
    await createProjectKey(p, 'taken');
    const other = await createProjectKey(p, 'other');
    const before = await storageState(p.org);
    const res = await call('PUT', keysPath(p, other.id), { headers: await adminHeaders(p.org), body: { name: 'taken' } });
    expect(res.status, res.text).toBe(409);
    expect(res.body).toEqual({
      error: { code: 'APIKEY_NAME_ALREADY_EXISTS', message: 'API key with name "taken" already exists', details: { name: 'taken' } },
    });
    expect(await storageState(p.org)).toEqual(before);
    expect((await auditRowsOfKey(other.id)).map((e) => e.action)).toEqual(['created']);
  });

  it('refuses a rename to a taken name combined with a revoke as a whole: the status does not change either', async () => {
    const p = newProject();
    await createProjectKey(p, 'taken');
    const other = await createProjectKey(p, 'other');
    const res = await call('PUT', keysPath(p, other.id), {
      headers: await adminHeaders(p.org),
      body: { name: 'taken', status: 'revoked' },
    });
    expect(res.status, res.text).toBe(409);
    const read = await call('GET', keysPath(p, other.id), { headers: await adminHeaders(p.org) });
    expect(read.body).toEqual(withoutKey(other));
    expect((await auditRowsOfKey(other.id)).map((e) => e.action)).toEqual(['created']);
  });
});

describe('GET api-keys: the query', () => {
  const invalid: Array<{ label: string; query: string; field: string }> = [
    { label: 'limit 0', query: 'limit=0', field: 'limit' },
    { label: 'limit 101', query: 'limit=101', field: 'limit' },
    { label: 'limit -1', query: 'limit=-1', field: 'limit' },
    { label: 'limit 1.5', query: 'limit=1.5', field: 'limit' },
    { label: 'limit abc', query: 'limit=abc', field: 'limit' },
    { label: 'an unknown status', query: 'status=deleted', field: 'status' },
  ];
  for (const { label, query, field } of invalid) {
    it(`refuses ${label} with 400 naming ${field}`, async () => {
      const p = newProject();
      const res = await call('GET', `${keysPath(p)}?${query}`, { headers: await adminHeaders(p.org) });
      expect(res.status, res.text).toBe(400);
      expect(res.body).toEqual(validationError('invalid query string', [{ field, message: expect.any(String) }]));
    });
  }

  const bogusCursors = ['nonsense', 'c1.', 'c1.!!!!', `c1.${btoa('seq:abc')}`, `c1.${btoa('id:5')}`, `c1.${'A'.repeat(70)}`, btoa('seq:5')];
  for (const lastKey of bogusCursors) {
    it(`refuses the bogus lastKey ${JSON.stringify(lastKey.slice(0, 24))} with 400 naming lastKey`, async () => {
      const p = newProject();
      await createProjectKey(p, 'one');
      const res = await call('GET', `${keysPath(p)}?lastKey=${encodeURIComponent(lastKey)}`, { headers: await adminHeaders(p.org) });
      expect(res.status, res.text).toBe(400);
      expect(res.body).toEqual({
        error: { code: 'VALIDATION_ERROR', message: expect.any(String), details: [{ field: 'lastKey', message: expect.any(String) }] },
      });
    });
  }
});

describe('PUT api-keys/{id}: the body', () => {
  const invalid: Array<{ label: string; body: unknown; field: string }> = [
    { label: 'empty', body: {}, field: '' },
    { label: 'with an unknown status', body: { status: 'deleted' }, field: 'status' },
    { label: 'with an empty name', body: { name: '' }, field: 'name' },
    { label: 'with a name of 101 characters', body: { name: 'n'.repeat(101) }, field: 'name' },
    { label: 'with an unknown field', body: { name: 'x', apiKey: 'a'.repeat(40) }, field: 'apiKey' },
  ];
  for (const { label, body, field } of invalid) {
    it(`refuses a body ${label} with 400 naming "${field}", changing nothing`, async () => {
      const p = newProject();
      const created = await createProjectKey(p, 'unchanged');
      const before = await storageState(p.org);
      const res = await call('PUT', keysPath(p, created.id), { headers: await adminHeaders(p.org), body });
      expect(res.status, res.text).toBe(400);
      expect(res.body).toEqual(validationError('invalid request body', [{ field, message: expect.any(String) }]));
      expect(await storageState(p.org)).toEqual(before);
    });
  }
});

describe('unknown and foreign ids answer exactly 404 APIKEY_NOT_FOUND', () => {
  type Case = { label: string; prepare(): Promise<{ org: string; project: string; id: string }> };
  const cases: Case[] = [
    {
      label: 'an unknown UUID',
      prepare: async () => ({ ...newProject(), id: crypto.randomUUID() }),
    },
    {
      label: 'an id that is not a UUID',
      prepare: async () => ({ ...newProject(), id: 'not-a-key' }),
    },
    {
      label: 'a key of another project of the organization',
      prepare: async () => {
        const p = newProject();
        const key = await createProjectKey(newProject(p.org), 'sibling');
        return { ...p, id: key.id };
      },
    },
    {
      label: "a key of another organization's project with the same project id",
      prepare: async () => {
        const p = newProject();
        const key = await createProjectKey({ org: randomId(), project: p.project }, 'foreign');
        return { ...p, id: key.id };
      },
    },
    {
      label: 'the id of an organization key of the same organization',
      prepare: async () => {
        const p = newProject();
        const orgKey = await createOrgKey(p.org, 'org key');
        return { ...p, id: orgKey.id };
      },
    },
    {
      label: 'a deleted key',
      prepare: async () => {
        const p = newProject();
        const key = await createProjectKey(p, 'deleted');
        await deleteProjectKey(p, key.id);
        return { ...p, id: key.id };
      },
    },
  ];

  const requests: Array<{ method: string; body?: unknown }> = [
    { method: 'GET' },
    { method: 'PUT', body: { name: 'renamed' } },
    { method: 'PUT', body: { status: 'revoked' } },
    { method: 'DELETE' },
  ];

  for (const c of cases) {
    for (const r of requests) {
      it(`${r.method}${r.body ? ` ${JSON.stringify(r.body)}` : ''} with ${c.label}`, async () => {
        const { org, project, id } = await c.prepare();
        const before = await storageState(org);
        const res = await call(r.method, keysPath({ org, project }, id), { headers: await adminHeaders(org), body: r.body });
        expect(res.status, res.text).toBe(404);
        expect(res.text).toBe(JSON.stringify(APIKEY_NOT_FOUND_BODY));
        expect(await storageState(org)).toEqual(before);
      });
    }
  }

  it('leaves the foreign key itself untouched', async () => {
    const owner = newProject();
    const key = await createProjectKey(owner, 'precious');
    const attacker = newProject();
    for (const r of requests) {
      const res = await call(r.method, keysPath(attacker, key.id), { headers: await adminHeaders(attacker.org), body: r.body });
      expect(res.status, res.text).toBe(404);
    }
    const read = await call('GET', keysPath(owner, key.id), { headers: await adminHeaders(owner.org) });
    expect(read.body).toEqual(withoutKey(key));
    expect((await auditRowsOfKey(key.id)).map((e) => e.action)).toEqual(['created']);
  });
});
