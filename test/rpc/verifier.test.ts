// KeygateVerifier over RPC, called the way another Worker calls it: the auxiliary rpc-client
// Worker (vitest.config.ts) holds a service binding to this Worker's KeygateVerifier entrypoint.
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { generateKey } from '../../src/keys/format';
import type { VerifyAnswer } from '../../src/rpc/verifier';
import { keyRow, poll } from '../support/db';
import { call, createOrgKey, randomId, remember, revokeOrgKey, withAlteredChecksum } from '../support/fixtures';
import {
  apiKeyHeaders,
  cachedRecord,
  clientPath,
  createProjectKey,
  customKeyValue,
  deleteProjectKey,
  newProject,
  updateProjectKey,
} from '../support/project';

const PROJECT_PERMISSIONS = ['content.read', 'packages.read', 'assets.read'];

/** Calls env.KEYGATE.verify(argument) inside the rpc-client Worker. */
async function verify(argument: unknown): Promise<VerifyAnswer> {
  const res = await env.RPC_CLIENT.fetch('https://rpc-client.test/verify', { method: 'POST', body: JSON.stringify(argument) });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return JSON.parse(text) as VerifyAnswer;
}

describe('KeygateVerifier.verify over a service binding', () => {
  it('answers the identity of a valid organization key pair', async () => {
    const org = randomId();
    const pair = await createOrgKey(org, 'rpc');
    expect(await verify({ kind: 'org', clientId: pair.clientId, apiKey: pair.apiKey })).toEqual({
      valid: true,
      identity: {
        kind: 'org',
        keyId: pair.id,
        organizationId: org,
        projectId: null,
        permissions: ['keys:read', 'keys:write', 'api:read', 'api:write'],
      },
    });
  });

  it('answers the identity of a valid project key, with or without the expected project', async () => {
    const p = newProject();
    const key = await createProjectKey(p, 'rpc');
    const identity = { kind: 'project', keyId: key.id, organizationId: p.org, projectId: p.project, permissions: PROJECT_PERMISSIONS };
    expect(await verify({ kind: 'project', apiKey: key.key })).toEqual({ valid: true, identity });
    expect(await verify({ kind: 'project', apiKey: key.key, organizationId: p.org, projectId: p.project })).toEqual({
      valid: true,
      identity,
    });
  });

  it('verifies custom project keys too', async () => {
    const p = newProject();
    const key = await createProjectKey(p, 'custom', await customKeyValue(64));
    expect(await verify({ kind: 'project', apiKey: key.key, projectId: p.project })).toMatchObject({
      valid: true,
      identity: { keyId: key.id },
    });
  });

  it('refuses a project key of another project or organization as wrong_project', async () => {
    const p = newProject();
    const key = await createProjectKey(p, 'rpc');
    expect(await verify({ kind: 'project', apiKey: key.key, organizationId: p.org, projectId: randomId('prj') })).toEqual({
      valid: false,
      reason: 'wrong_project',
    });
    expect(await verify({ kind: 'project', apiKey: key.key, projectId: randomId('prj') })).toEqual({
      valid: false,
      reason: 'wrong_project',
    });
    expect(await verify({ kind: 'project', apiKey: key.key, organizationId: randomId(), projectId: p.project })).toEqual({
      valid: false,
      reason: 'wrong_project',
    });
  });

  it('refuses a revoked project key, also after its record was cached, and accepts it again once reactivated', async () => {
    const p = newProject();
    const key = await createProjectKey(p, 'rpc');
    expect(await verify({ kind: 'project', apiKey: key.key })).toMatchObject({ valid: true });
    expect(
      await poll(
        () => cachedRecord(key.key),
        (record) => record !== null,
        5_000,
      ),
      'the use never filled KV',
    ).not.toBeNull();
    await updateProjectKey(p, key.id, { status: 'revoked' });
    expect(await verify({ kind: 'project', apiKey: key.key })).toEqual({ valid: false, reason: 'unknown' });
    await updateProjectKey(p, key.id, { status: 'active' });
    expect(await verify({ kind: 'project', apiKey: key.key })).toMatchObject({ valid: true, identity: { keyId: key.id } });
  });

  it('refuses over RPC at once a key revoked over HTTP after both surfaces used it', async () => {
    const p = newProject();
    const key = await createProjectKey(p, 'both surfaces');
    const used = await call('GET', clientPath(p, 'content'), { headers: apiKeyHeaders(key.key) });
    expect(used.status, used.text).toBe(200);
    expect(await verify({ kind: 'project', apiKey: key.key })).toMatchObject({ valid: true });
    expect(
      await poll(
        () => cachedRecord(key.key),
        (record) => record !== null,
        5_000,
      ),
      'the use never filled KV',
    ).not.toBeNull();
    await updateProjectKey(p, key.id, { status: 'revoked' });
    expect(await verify({ kind: 'project', apiKey: key.key })).toEqual({ valid: false, reason: 'unknown' });
    const refused = await call('GET', clientPath(p, 'content'), { headers: apiKeyHeaders(key.key) });
    expect(refused.status, refused.text).toBe(401);
  });

  it('refuses a deleted project key', async () => {
    const p = newProject();
    const key = await createProjectKey(p, 'rpc');
    expect(await verify({ kind: 'project', apiKey: key.key })).toMatchObject({ valid: true });
    await deleteProjectKey(p, key.id);
    expect(await verify({ kind: 'project', apiKey: key.key })).toEqual({ valid: false, reason: 'unknown' });
  });

  it('refuses a revoked organization key pair', async () => {
    const pair = await createOrgKey(randomId(), 'rpc');
    expect(await verify({ kind: 'org', clientId: pair.clientId, apiKey: pair.apiKey })).toMatchObject({ valid: true });
    await revokeOrgKey(pair);
    expect(await verify({ kind: 'org', clientId: pair.clientId, apiKey: pair.apiKey })).toEqual({ valid: false, reason: 'unknown' });
  });

  it('refuses malformed keys as malformed', async () => {
    const pair = await createOrgKey(randomId(), 'rpc');
    const p = newProject();
    const key = await createProjectKey(p, 'rpc');
    const cases: unknown[] = [
      { kind: 'project', apiKey: 'not a key' },
      { kind: 'project', apiKey: 'short' },
      { kind: 'project', apiKey: withAlteredChecksum(key.key) },
      { kind: 'project', apiKey: pair.apiKey },
      { kind: 'org', clientId: pair.clientId, apiKey: 'not a secret' },
      { kind: 'org', clientId: pair.clientId, apiKey: withAlteredChecksum(pair.apiKey) },
      { kind: 'org', clientId: 'not a client id', apiKey: pair.apiKey },
      { kind: 'org', clientId: pair.clientId, apiKey: key.key },
    ];
    for (const argument of cases) expect(await verify(argument), JSON.stringify(argument)).toEqual({ valid: false, reason: 'malformed' });
  });

  it('refuses a well-formed key that was never issued as unknown', async () => {
    const unissued = generateKey('project');
    await remember('unissued project key', unissued);
    expect(await verify({ kind: 'project', apiKey: unissued })).toEqual({ valid: false, reason: 'unknown' });
  });

  it("refuses a secret with another key's client ID as client_id_mismatch", async () => {
    const org = randomId();
    const pair = await createOrgKey(org, 'rpc');
    const other = await createOrgKey(org, 'other');
    expect(await verify({ kind: 'org', clientId: other.clientId, apiKey: pair.apiKey })).toEqual({
      valid: false,
      reason: 'client_id_mismatch',
    });
  });

  it('answers missing credentials as missing and requests of no known shape as bad_request', async () => {
    const pair = await createOrgKey(randomId(), 'rpc');
    expect(await verify({ kind: 'project', apiKey: '' })).toEqual({ valid: false, reason: 'missing' });
    expect(await verify({ kind: 'org', clientId: '', apiKey: pair.apiKey })).toEqual({ valid: false, reason: 'missing' });
    expect(await verify({ kind: 'org', apiKey: pair.apiKey })).toEqual({ valid: false, reason: 'missing' });
    for (const argument of [
      null,
      'kg_pk_x',
      { kind: 'project' },
      { kind: 'project', apiKey: 42 },
      { kind: 'other', apiKey: pair.apiKey },
    ]) {
      expect(await verify(argument), JSON.stringify(argument)).toEqual({ valid: false, reason: 'bad_request' });
    }
  });

  it('keeps the same bookkeeping as the HTTP surface: KV filled, lastUsed written', async () => {
    const p = newProject();
    const key = await createProjectKey(p, 'rpc');
    expect(await verify({ kind: 'project', apiKey: key.key })).toMatchObject({ valid: true });
    const record = await poll(
      () => cachedRecord(key.key),
      (r) => r !== null,
      5_000,
    );
    expect(record).toEqual({
      id: key.id,
      kind: 'project',
      organizationId: p.org,
      projectId: p.project,
      clientId: null,
      permissions: PROJECT_PERMISSIONS,
      rateLimit: null,
      parentRateLimit: null,
      expiresAt: null,
      // The position of the key change feed its D1 read saw (src/cache/feed.ts).
      feedPosition: expect.any(Number),
    });
    const row = await poll(
      () => keyRow(key.id),
      (r) => r?.last_used_at !== null,
      5_000,
    );
    expect(row?.last_used_at).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  });
});
