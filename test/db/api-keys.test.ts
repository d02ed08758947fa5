// The queries of src/db/ called directly with env.DB, as the workers-sdk D1 fixture tests its
// repository functions: what each returns and what it leaves in the tables.
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import {
  deleteProjectKey,
  findActiveKeyByHash,
  findProjectKey,
  insertKeyWithinLimit,
  listProjectKeys,
  listProjectsWithKeys,
  type NewKey,
  setKeyStatus,
  updateActiveKey,
  updateProjectKey,
} from '../../src/db/api-keys';
import { type AuditEntryInput, listAuditEntries } from '../../src/db/audit';
import { setKeyLimit, setOrganizationRateLimit, setProjectRateLimit } from '../../src/db/organizations';
import { auditRowsOfKey, keyRow } from '../support/db';
import { randomId } from '../support/fixtures';

let clock = Date.parse('2030-01-01T00:00:00.000Z');
/** Distinct, increasing times, so list order is known. */
function tick(): string {
  clock += 1000;
  return new Date(clock).toISOString();
}

function projectKey(organizationId: string, projectId: string, name: string): NewKey {
  return {
    id: crypto.randomUUID(),
    kind: 'project',
    organizationId,
    projectId,
    name,
    clientId: null,
    permissions: ['content.read'],
    secretHash: `hash-${crypto.randomUUID()}`,
    keyLastFour: 'abcd',
    createdBy: 'alice',
    createdAt: tick(),
    rateLimit: null,
    expiresAt: null,
    rolledFrom: null,
  };
}

function audit(key: NewKey, action: AuditEntryInput['action'], createdAt = tick()): AuditEntryInput {
  return {
    organizationId: key.organizationId,
    projectId: key.projectId,
    keyId: key.id,
    keyName: key.name,
    keyKind: key.kind,
    action,
    actorType: 'user',
    actorId: 'alice',
    ip: null,
    userAgent: null,
    createdAt,
  };
}

async function inserted(key: NewKey): Promise<NewKey> {
  expect(await insertKeyWithinLimit(env.DB, key, 100, audit(key, 'created', key.createdAt))).toBe('inserted');
  return key;
}

describe('insertKeyWithinLimit', () => {
  it('answers inserted, limit_reached, name or value, and writes the audit entry only with the key', async () => {
    const org = randomId();
    const first = await inserted(projectKey(org, 'p', 'Web'));
    expect(await auditRowsOfKey(first.id)).toHaveLength(1);

    const sameName = projectKey(org, 'p', 'WEB');
    expect(await insertKeyWithinLimit(env.DB, sameName, 100, audit(sameName, 'created'))).toBe('name');
    const sameValue = { ...projectKey(org, 'p', 'other'), secretHash: first.secretHash };
    expect(await insertKeyWithinLimit(env.DB, sameValue, 100, audit(sameValue, 'created'))).toBe('value');

    await setKeyLimit(env.DB, org, 1, tick());
    const overLimit = projectKey(org, 'q', 'second');
    expect(await insertKeyWithinLimit(env.DB, overLimit, 100, audit(overLimit, 'created'))).toBe('limit_reached');
    for (const refused of [sameName, sameValue, overLimit]) {
      expect(await keyRow(refused.id)).toBeNull();
      expect(await auditRowsOfKey(refused.id)).toEqual([]);
    }
  });
});

describe('findActiveKeyByHash', () => {
  it('finds an active key by hash, with its project budget, and nothing once it is revoked', async () => {
    const key = await inserted(projectKey(randomId(), 'p', 'k'));
    // Miniflare's answers say nothing of served_by_primary: its one database is the primary.
    expect(await findActiveKeyByHash(env.DB, key.secretHash, tick())).toEqual({
      active: {
        key: expect.objectContaining({ id: key.id, kind: 'project', projectId: 'p', clientId: null, rateLimit: null }),
        parentRateLimit: null,
      },
      servedByPrimary: true,
      feedPosition: expect.any(Number),
    });
    await setProjectRateLimit(env.DB, key.organizationId, 'p', { requests: 7, windowSeconds: 60 }, tick());
    await setOrganizationRateLimit(env.DB, key.organizationId, { requests: 9, windowSeconds: 60 }, tick());
    expect((await findActiveKeyByHash(env.DB, key.secretHash, tick())).active?.parentRateLimit).toEqual({ requests: 7, windowSeconds: 60 });
    expect(await setKeyStatus(env.DB, key.organizationId, key.id, 'revoked', tick(), audit(key, 'revoked'))).toBe(true);
    expect(await findActiveKeyByHash(env.DB, key.secretHash, tick())).toEqual({ active: null, servedByPrimary: true });
    expect(await setKeyStatus(env.DB, key.organizationId, key.id, 'revoked', tick(), audit(key, 'revoked'))).toBe(false);
    expect((await auditRowsOfKey(key.id)).map((a) => a.action)).toEqual(['created', 'revoked']);
  });
});

describe('updateProjectKey', () => {
  it('applies only to the expected state, and names a taken name', async () => {
    const org = randomId();
    const key = await inserted(projectKey(org, 'p', 'one'));
    await inserted(projectKey(org, 'p', 'two'));
    const change = { organizationId: org, projectId: 'p', keyId: key.id, status: null, now: tick(), defaultLimit: 100 };
    expect(await updateProjectKey(env.DB, { ...change, expectedStatus: 'active', expectedName: 'stale', name: 'x' }, [])).toBe(
      'not_applied',
    );
    expect(await updateProjectKey(env.DB, { ...change, expectedStatus: 'active', expectedName: 'one', name: 'TWO' }, [])).toBe(
      'name_taken',
    );
    expect(
      await updateProjectKey(env.DB, { ...change, expectedStatus: 'active', expectedName: 'one', name: 'uno' }, [
        audit({ ...key, name: 'uno' }, 'updated'),
      ]),
    ).toBe('updated');
    expect(await findProjectKey(env.DB, org, 'p', key.id)).toMatchObject({ name: 'uno', status: 'active' });
    expect((await auditRowsOfKey(key.id)).map((a) => [a.action, a.key_name])).toEqual([
      ['created', 'one'],
      ['updated', 'uno'],
    ]);
  });
});

describe('updateActiveKey and deleteProjectKey', () => {
  it('change only a key of that organization, with its audit entry', async () => {
    const key = await inserted(projectKey(randomId(), 'p', 'before'));
    const change = { name: 'after', rateLimit: { requests: 5, windowSeconds: 60 } };
    expect(await updateActiveKey(env.DB, randomId(), key.id, { ...change, name: 'stolen' }, tick(), audit(key, 'updated'))).toBe(false);
    expect(await updateActiveKey(env.DB, key.organizationId, key.id, change, tick(), audit({ ...key, name: 'after' }, 'updated'))).toBe(
      true,
    );
    expect(await keyRow(key.id)).toMatchObject({ name: 'after', rate_limit_requests: 5, rate_limit_window_seconds: 60 });
    expect(await deleteProjectKey(env.DB, randomId(), 'p', key.id, audit(key, 'deleted'))).toBe(false);
    expect(await deleteProjectKey(env.DB, key.organizationId, 'p', key.id, audit(key, 'deleted'))).toBe(true);
    expect(await keyRow(key.id)).toBeNull();
    expect((await auditRowsOfKey(key.id)).map((a) => a.action)).toEqual(['created', 'updated', 'deleted']);
  });
});

describe('the lists', () => {
  it('page project keys and audit entries newest first by position, without skipping or repeating', async () => {
    const org = randomId();
    const keys = [];
    for (let i = 0; i < 5; i++) keys.push(await inserted(projectKey(org, 'p', `k${i}`)));
    const seen: string[] = [];
    let after: { createdAt: string; id: string } | null = null;
    for (;;) {
      const page = await listProjectKeys(env.DB, { organizationId: org, projectId: 'p', status: null, limit: 2, after });
      seen.push(...page.map((k) => k.id));
      const last = page.at(-1);
      if (page.length < 2 || !last) break;
      after = { createdAt: last.createdAt, id: last.id };
    }
    expect(seen).toEqual(keys.map((k) => k.id).reverse());

    const entries = await listAuditEntries(env.DB, org, 3, null);
    expect(entries.map((e) => e.keyId)).toEqual(
      keys
        .slice(2)
        .map((k) => k.id)
        .reverse(),
    );
    const rest = await listAuditEntries(env.DB, org, 3, { createdAt: entries[2]!.createdAt, id: entries[2]!.id });
    expect(rest.map((e) => e.keyId)).toEqual(
      keys
        .slice(0, 2)
        .map((k) => k.id)
        .reverse(),
    );
  });

  it('count the keys of each project that holds any', async () => {
    const org = randomId();
    const a = await inserted(projectKey(org, 'alpha', 'a1'));
    await inserted(projectKey(org, 'alpha', 'a2'));
    await inserted(projectKey(org, 'beta', 'b1'));
    await setKeyStatus(env.DB, org, a.id, 'revoked', tick(), audit(a, 'revoked'));
    expect(await listProjectsWithKeys(env.DB, org)).toEqual([
      { projectId: 'alpha', activeKeys: 1, revokedKeys: 1 },
      { projectId: 'beta', activeKeys: 1, revokedKeys: 0 },
    ]);
    expect(await listProjectsWithKeys(env.DB, randomId())).toEqual([]);
  });
});
