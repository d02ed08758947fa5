// /v1/keys refusals of bad input: not found, invalid bodies, oversized bodies and the key limit,
// each answered in the organization surface's shape and leaving nothing half-written in D1.
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { setKeyLimit } from '../../src/db/organizations';
import { MAX_BODY_BYTES } from '../../src/middleware/body-limit';
import { auditRowsOf, auditRowsOfKey, keyRow, storageState } from '../support/db';
import { adminHeaders, call, createOrgKey, pairHeaders, randomId } from '../support/fixtures';
import { callWith, send } from '../support/worker';

const NOT_FOUND = { error: 'key not found' };

/** Asserts a 400 in the organization shape whose details name `field`. */
function expectInvalidField(res: { status: number; body: any; text: string }, field: string) {
  expect(res.status, res.text).toBe(400);
  expect(res.body).toEqual({
    error: expect.any(String),
    details: expect.arrayContaining([{ field, message: expect.any(String) }]),
  });
}

describe('DELETE /v1/keys/{key} errors', () => {
  it('answers 404 for an unknown id, an unknown client ID and a well-formed unknown client ID', async () => {
    const org = randomId();
    const headers = await adminHeaders(org);
    const before = await storageState(org);
    for (const key of ['key_doesnotexist', 'nope', `kg_ci_${'A'.repeat(39)}`]) {
      const res = await call('DELETE', `/v1/keys/${key}`, { headers });
      expect(res.status, `${key}: ${res.text}`).toBe(404);
      expect(res.body).toEqual(NOT_FOUND);
    }
    expect(await storageState(org)).toEqual(before);
  });

  it('answers 404 for an already revoked key, by id and by client ID, without a second audit entry', async () => {
    const org = randomId();
    const pair = await createOrgKey(org);
    const headers = await adminHeaders(org);
    const first = await call('DELETE', `/v1/keys/${pair.id}`, { headers });
    expect(first.status, first.text).toBe(200);
    const before = await storageState(org);
    for (const key of [pair.id, pair.clientId]) {
      const again = await call('DELETE', `/v1/keys/${key}`, { headers });
      expect(again.status, again.text).toBe(404);
      expect(again.body).toEqual(NOT_FOUND);
    }
    expect(await storageState(org)).toEqual(before);
    expect((await auditRowsOfKey(pair.id)).map((e) => e.action)).toEqual(['created', 'revoked']);
    expect(await keyRow(pair.id)).toMatchObject({ status: 'revoked', revoked_at: first.body.data.revokedAt });
  });

  it('answers 404 for a key id whose case differs', async () => {
    const org = randomId();
    const pair = await createOrgKey(org);
    const res = await call('DELETE', `/v1/keys/${pair.id.toUpperCase()}`, { headers: await adminHeaders(org) });
    expect(res.status, res.text).toBe(404);
    expect(await keyRow(pair.id)).toMatchObject({ status: 'active' });
  });

  it('answers 400 naming the key for a path parameter over 128 characters', async () => {
    const org = randomId();
    const res = await call('DELETE', `/v1/keys/${'k'.repeat(129)}`, { headers: await adminHeaders(org) });
    expectInvalidField(res, 'key');
  });
});

describe('POST /v1/keys invalid bodies', () => {
  const cases: Array<{ label: string; body?: unknown; rawBody?: string; field: string }> = [
    { label: 'a missing name', body: {}, field: 'name' },
    { label: 'an empty name', body: { name: '' }, field: 'name' },
    { label: 'a name of spaces only', body: { name: '    ' }, field: 'name' },
    { label: 'a 101-character name', body: { name: 'n'.repeat(101) }, field: 'name' },
    { label: 'a number for name', body: { name: 42 }, field: 'name' },
    { label: 'null for name', body: { name: null }, field: 'name' },
    { label: 'an array for name', body: { name: ['a'] }, field: 'name' },
    { label: 'an object for name', body: { name: { first: 'a' } }, field: 'name' },
  ];
  for (const c of cases) {
    it(`answers 400 with details naming ${c.field} for ${c.label}`, async () => {
      const org = randomId();
      const before = await storageState(org);
      const res = await call('POST', '/v1/keys', { headers: await adminHeaders(org), body: c.body });
      expectInvalidField(res, c.field);
      expect(await storageState(org)).toEqual(before);
    });
  }

  it('answers 400 for unknown extra fields, naming them', async () => {
    const org = randomId();
    const before = await storageState(org);
    const res = await call('POST', '/v1/keys', {
      headers: await adminHeaders(org),
      body: { name: 'ok', organizationId: 'someone-else', apiKey: 'mine' },
    });
    expect(res.status, res.text).toBe(400);
    expect(res.body).toEqual({
      error: 'invalid request body',
      details: [
        { field: 'organizationId', message: 'unknown field' },
        { field: 'apiKey', message: 'unknown field' },
      ],
    });
    expect(await storageState(org)).toEqual(before);
  });

  const malformed: Array<{ label: string; rawBody: string }> = [
    { label: 'truncated JSON', rawBody: '{"name": "Production' },
    { label: 'a trailing comma', rawBody: '{"name": "x",}' },
    { label: 'single quotes', rawBody: "{'name': 'x'}" },
    { label: 'an empty body', rawBody: '' },
  ];
  for (const m of malformed) {
    it(`answers 400 {"error"} for ${m.label}, echoing nothing of the parser`, async () => {
      const org = randomId();
      const before = await storageState(org);
      const res = await call('POST', '/v1/keys', {
        headers: { ...(await adminHeaders(org)), 'content-type': 'application/json' },
        rawBody: m.rawBody,
      });
      expect(res.status, res.text).toBe(400);
      expect(res.body).toEqual({ error: 'request body is not valid JSON' });
      expect(await storageState(org)).toEqual(before);
    });
  }

  const notAnObject: Array<{ label: string; rawBody: string }> = [
    { label: 'a JSON array', rawBody: '[{"name": "x"}]' },
    { label: 'JSON null', rawBody: 'null' },
    { label: 'a JSON string', rawBody: '"x"' },
  ];
  for (const m of notAnObject) {
    it(`answers 400 with details for ${m.label}`, async () => {
      const org = randomId();
      const res = await call('POST', '/v1/keys', {
        headers: { ...(await adminHeaders(org)), 'content-type': 'application/json' },
        rawBody: m.rawBody,
      });
      expect(res.status, res.text).toBe(400);
      expect(res.body).toEqual({ error: expect.any(String), details: expect.any(Array) });
      expect(await storageState(org)).toEqual(untouched());
    });
  }

  const wrongTypes: Array<{ label: string; headers: Record<string, string> }> = [
    { label: 'a text/plain content type', headers: { 'content-type': 'text/plain' } },
    { label: 'a form content type', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
    { label: 'no content type', headers: {} },
  ];
  for (const w of wrongTypes) {
    it(`answers 400 {"error"} for a JSON body sent with ${w.label}, writing nothing`, async () => {
      const org = randomId();
      const res = await call('POST', '/v1/keys', { headers: { ...(await adminHeaders(org)), ...w.headers }, rawBody: '{"name":"x"}' });
      expect(res.status, res.text).toBe(400);
      expect(res.body).toEqual({
        error: 'request body must be JSON',
        details: [{ field: 'content-type', message: 'send content-type: application/json' }],
      });
      expect(await storageState(org)).toEqual(untouched());
    });
  }
});

/** The storage state of an organization nothing was ever written to. */
function untouched() {
  return expect.objectContaining({ keys: [], audit: [] });
}

describe('POST /v1/keys body size', () => {
  /** A JSON body of exactly `bytes` bytes: a valid name and an unknown padding field. */
  function bodyOf(bytes: number): string {
    const shell = JSON.stringify({ name: 'big', pad: '' });
    return JSON.stringify({ name: 'big', pad: 'p'.repeat(bytes - shell.length) });
  }

  it(`answers 413 for a body one byte over ${MAX_BODY_BYTES} bytes, writing nothing`, async () => {
    const org = randomId();
    const res = await call('POST', '/v1/keys', { headers: await adminHeaders(org), rawBody: bodyOf(MAX_BODY_BYTES + 1) });
    expect(res.status, res.text).toBe(413);
    expect(res.body).toEqual({ error: expect.stringContaining(String(MAX_BODY_BYTES)) });
    expect(await storageState(org)).toEqual(untouched());
  });

  it('judges a body of exactly the limit by its content (400 for its unknown field), not its size', async () => {
    const org = randomId();
    const raw = bodyOf(MAX_BODY_BYTES);
    expect(new TextEncoder().encode(raw).byteLength).toBe(MAX_BODY_BYTES);
    const res = await call('POST', '/v1/keys', {
      headers: { ...(await adminHeaders(org)), 'content-type': 'application/json' },
      rawBody: raw,
    });
    expect(res.status, res.text).toBe(400);
  });

  it('answers 413 for an oversized body streamed without a content length', async () => {
    const org = randomId();
    const chunk = new TextEncoder().encode('x'.repeat(4096));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= MAX_BODY_BYTES * 2) return controller.close();
        sent += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    const request = new Request('https://keygate.test/v1/keys', {
      method: 'POST',
      headers: { ...(await adminHeaders(org)), 'content-type': 'application/json' },
      body: stream,
    });
    expect(request.headers.has('content-length')).toBe(false);
    const res = await send(request);
    expect(res.status, res.text).toBe(413);
    expect(await storageState(org)).toEqual(untouched());
  });
});

describe('POST /v1/keys key limit', () => {
  it('answers 422 naming the limit when the organization is full, with no key or audit entry written', async () => {
    const org = randomId();
    await setKeyLimit(env.DB, org, 2, new Date().toISOString());
    const caller = await createOrgKey(org, 'one');
    await createOrgKey(org, 'two');
    const before = await storageState(org);
    const res = await call('POST', '/v1/keys', { headers: pairHeaders(caller), body: { name: 'three' } });
    expect(res.status, res.text).toBe(422);
    expect(res.body).toEqual({ error: expect.stringMatching(/\b2\b.*delete unused keys/), details: { limit: 2 } });
    expect(await storageState(org)).toEqual(before);
    expect((await auditRowsOf(org)).filter((e) => e.action === 'created')).toHaveLength(2);
  });

  it('frees a slot when a key is revoked', async () => {
    const org = randomId();
    await setKeyLimit(env.DB, org, 1, new Date().toISOString());
    const only = await createOrgKey(org, 'only');
    const full = await call('POST', '/v1/keys', { headers: await adminHeaders(org), body: { name: 'second' } });
    expect(full.status, full.text).toBe(422);
    expect((await call('DELETE', `/v1/keys/${only.id}`, { headers: await adminHeaders(org) })).status).toBe(200);
    const res = await call('POST', '/v1/keys', { headers: await adminHeaders(org), body: { name: 'second' } });
    expect(res.status, res.text).toBe(201);
  });

  it('refuses every create for an organization whose limit is 0', async () => {
    const org = randomId();
    await setKeyLimit(env.DB, org, 0, new Date().toISOString());
    const res = await call('POST', '/v1/keys', { headers: await adminHeaders(org), body: { name: 'none allowed' } });
    expect(res.status, res.text).toBe(422);
    expect(res.body).toMatchObject({ error: expect.stringMatching(/\b0\b.*delete unused keys/) });
    expect(await storageState(org)).toEqual(untouched());
  });

  it('applies DEFAULT_KEY_LIMIT to organizations without their own limit', async () => {
    const org = randomId();
    const headers = await adminHeaders(org);
    const limited = { DEFAULT_KEY_LIMIT: '1' };
    expect((await callWith(limited, 'POST', '/v1/keys', { headers, body: { name: 'first' } })).status).toBe(201);
    const res = await callWith(limited, 'POST', '/v1/keys', { headers, body: { name: 'second' } });
    expect(res.status, res.text).toBe(422);
    expect(res.body).toEqual({ error: expect.stringMatching(/\b1\b.*delete unused keys/), details: { limit: 1 } });
  });
});
