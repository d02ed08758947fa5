// D1 read replication (issue 13, README: Read replicas): the management surfaces read through a
// D1 session that starts from the client's bookmark or this isolate's latest write for the
// organization, write through a session on the primary, and hand the bookmark back; verification
// reads any replica, caches a replica's record in the isolate only (never in KV), and a key the
// isolate changed is read from the primary. D1 runs without replicas in Miniflare, so replicas are
// stand-ins here: sessions whose answers say served_by_primary: false, as a replica's do.
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cacheKeys } from '../../src/cache/kv';
import { BOOKMARK_HEADER, isBookmark, laterBookmark, servedByPrimary } from '../../src/db/sessions';
import { configOf } from '../../src/env';
import { sha256Hex } from '../../src/keys/hash';
import { createOrgKey as createOrgKeyResult, revokeOrgKey } from '../../src/keys/org-keys';
import type { KeyServiceDeps } from '../../src/keys/types';
import { verifyKeyPair } from '../../src/keys/verify';
import { adminHeaders, call, pairHeaders, randomId, remember } from '../support/fixtures';
import { sharedEnvCaller } from '../support/origin';
import { keysPath, newProject } from '../support/project';
import { overriding } from '../support/proxy';
import { callWith } from '../support/worker';

/** A bookmark as D1 issues them, later than any the local database has reached. */
const FAR_FUTURE = 'ffffffff-ffffffff-ffffffff-ffffffffffffffffffffffffffffffff';
/** A bookmark earlier than any the local database issues after the migrations. */
const EARLIEST = '00000000-00000000-00000000-00000000000000000000000000000000';

const KEY_LOOKUP = /secret_hash = \?1/;

/**
 * env.DB behind a Proxy that records the constraint or bookmark of every session opened
 * (`sessions`) and the key look-ups sent outside any session, to the primary (`primaryKeyReads`).
 * With `replica`, 'first-unconstrained' sessions stand in for a read replica: their answers
 * say served_by_primary: false; while `lagging` holds, the key look-up answers what it answered
 * first for that hash (a replica that has not caught up), and while `behindCreation` holds, no
 * key at all (a replica without the newest keys). Everything else is env.DB's.
 */
function recordingD1(options: { replica?: boolean } = {}) {
  const sessions: string[] = [];
  const seen = { primaryKeyReads: 0, replicaKeyReads: 0 };
  const lag = { lagging: false, behindCreation: false, snapshots: new Map<string, unknown[]>() };
  const replicaStatement = (inner: D1PreparedStatement, sql: string, params: unknown[]): D1PreparedStatement => {
    const statement = {
      bind: (...values: unknown[]) => replicaStatement(inner.bind(...values), sql, values),
      all: async () => {
        const result = await inner.all();
        let results = result.results;
        if (KEY_LOOKUP.test(sql)) {
          seen.replicaKeyReads++;
          // By the secret's hash (the look-up's other parameter is the time).
          const key = String(params[0]);
          if (lag.behindCreation) results = [];
          else if (lag.lagging && lag.snapshots.has(key)) results = lag.snapshots.get(key) as typeof results;
          else lag.snapshots.set(key, results);
        }
        return { ...result, results, meta: { ...result.meta, served_by_primary: false } };
      },
      first: (column?: string) => (column === undefined ? inner.first() : inner.first(column)),
      run: () => inner.run(),
      raw: () => inner.raw(),
    };
    return statement as unknown as D1PreparedStatement;
  };
  const db = overriding(env.DB, {
    prepare: (sql: string) => {
      if (KEY_LOOKUP.test(sql)) seen.primaryKeyReads++;
      return env.DB.prepare(sql);
    },
    withSession: (constraintOrBookmark: string) => {
      sessions.push(constraintOrBookmark);
      const session = env.DB.withSession(constraintOrBookmark);
      if (!options.replica || constraintOrBookmark !== 'first-unconstrained') return session;
      return {
        prepare: (sql: string) => replicaStatement(session.prepare(sql), sql, []),
        batch: (statements: D1PreparedStatement[]) => session.batch(statements),
        getBookmark: () => session.getBookmark(),
      };
    },
  });
  return { db, sessions, seen, lag };
}

const actor = { type: 'user' as const, id: 'alice', label: 'alice' };
const meta = { ip: null, userAgent: null };

/** Key service deps over `db` and the real KV, with their waitUntil work collected. */
function serviceDeps(db: D1Database) {
  const pending: Promise<unknown>[] = [];
  const deps: KeyServiceDeps = { db, kv: env.KEY_CACHE, config: configOf(env), waitUntil: (p) => pending.push(p) };
  return { deps, settle: () => Promise.all(pending) };
}

async function serviceKey(deps: KeyServiceDeps, organizationId = randomId()) {
  const created = await createOrgKeyResult(deps, { organizationId, name: 'replicated', actor, meta });
  if (!created.ok) throw new Error(`createOrgKey: ${created.reason}`);
  await remember('organization secret', created.value.secret);
  return { ...created.value, organizationId, hash: await sha256Hex(created.value.secret) };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('bookmarks', () => {
  it('accept what D1 issues and nothing else; the later of two sorts last', () => {
    expect(isBookmark('00000001-00000002-00004e2f-0a83ea2fceebc654de0640c422be4653')).toBe(true);
    expect(isBookmark(FAR_FUTURE)).toBe(true);
    for (const value of [
      '',
      'first-primary',
      'first-unconstrained',
      'ABCDEF',
      '00-',
      '-00',
      '0'.repeat(201),
      '00 00',
      '00,00',
      undefined,
      7,
    ]) {
      expect(isBookmark(value), String(value)).toBe(false);
    }
    expect(laterBookmark(EARLIEST, FAR_FUTURE)).toBe(FAR_FUTURE);
    expect(laterBookmark(FAR_FUTURE, EARLIEST)).toBe(FAR_FUTURE);
    expect(laterBookmark(null, EARLIEST)).toBe(EARLIEST);
    expect(laterBookmark(undefined, null)).toBeNull();
  });

  it('count an answer without served_by_primary (Miniflare) as the primary', () => {
    expect(servedByPrimary({})).toBe(true);
    expect(servedByPrimary(undefined)).toBe(true);
    expect(servedByPrimary({ served_by_primary: true })).toBe(true);
    expect(servedByPrimary({ served_by_primary: false })).toBe(false);
  });
});

describe('management reads and writes', () => {
  it('a key created then listed in the same isolate shows up, with and without the header', async () => {
    const org = randomId();
    const { db, sessions } = recordingD1();
    const headers = await adminHeaders(org);
    const created = await callWith({ DB: db }, 'POST', '/v1/keys', { headers, body: { name: 'listed at once' } });
    expect(created.status, created.text).toBe(201);
    const written = created.headers.get(BOOKMARK_HEADER);
    expect(isBookmark(written), `the create's bookmark: ${written}`).toBe(true);
    // The write ran on the primary ('first-primary' reports the bookmark of the write).
    expect(sessions).toEqual(['first-primary']);

    // No header: this isolate remembers the organization's latest write and reads from it.
    const listed = await callWith({ DB: db }, 'GET', '/v1/keys', { headers });
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body.data.map((k: { id: string }) => k.id)).toEqual([created.body.data.id]);
    expect(sessions[1]).toBe(written);
    expect(isBookmark(listed.headers.get(BOOKMARK_HEADER))).toBe(true);

    // With the header: the same.
    const again = await callWith({ DB: db }, 'GET', '/v1/keys', { headers: { ...headers, [BOOKMARK_HEADER]: written! } });
    expect(again.status, again.text).toBe(200);
    expect(again.body.data.map((k: { id: string }) => k.id)).toEqual([created.body.data.id]);
    expect(sessions[2]).toBe(written);

    // Project keys alike.
    const p = newProject(org);
    const project = await callWith({ DB: db }, 'POST', keysPath(p), { headers, body: { name: 'ios' } });
    expect(project.status, project.text).toBe(201);
    await remember('project key', project.body.key);
    const projectWrite = project.headers.get(BOOKMARK_HEADER)!;
    const page = await callWith({ DB: db }, 'GET', keysPath(p), { headers });
    expect(page.body.data.map((k: { id: string }) => k.id)).toEqual([project.body.id]);
    expect(sessions.at(-1)).toBe(projectWrite);
  });

  it('reads anywhere when there is neither a header nor a remembered write', async () => {
    const org = randomId();
    const { db, sessions } = recordingD1();
    const res = await callWith({ DB: db }, 'GET', `/app/v1/organizations/${org}/audit-log`, { headers: await adminHeaders(org) });
    expect(res.status, res.text).toBe(200);
    expect(sessions).toEqual(['first-unconstrained']);
    expect(isBookmark(res.headers.get(BOOKMARK_HEADER))).toBe(true);
  });

  it('starts a read from the later of the header and the remembered write', async () => {
    const org = randomId();
    const { db, sessions } = recordingD1();
    const headers = await adminHeaders(org);
    const written = (await callWith({ DB: db }, 'POST', '/v1/keys', { headers, body: { name: 'k' } })).headers.get(BOOKMARK_HEADER)!;
    await callWith({ DB: db }, 'GET', '/v1/keys', { headers: { ...headers, [BOOKMARK_HEADER]: EARLIEST } });
    expect(sessions.at(-1)).toBe(written);
    const later = await callWith({ DB: db }, 'GET', '/v1/keys', { headers: { ...headers, [BOOKMARK_HEADER]: FAR_FUTURE } });
    expect(sessions.at(-1)).toBe(FAR_FUTURE);
    // A session's bookmark only moves forward: the answer names at least the state it started from.
    expect(later.headers.get(BOOKMARK_HEADER)).toBe(FAR_FUTURE);
    // Writes start on the primary, whatever the header says.
    await callWith({ DB: db }, 'POST', '/v1/keys', { headers: { ...headers, [BOOKMARK_HEADER]: EARLIEST }, body: { name: 'k2' } });
    expect(sessions.at(-1)).toBe('first-primary');
  });

  it("keeps one session per request: a write's later reads see it (the 422 names the limit it just ran into)", async () => {
    const org = randomId();
    const { db, sessions } = recordingD1();
    const headers = await adminHeaders(org);
    const caller = sharedEnvCaller({ DB: db, DEFAULT_KEY_LIMIT: '1' });
    expect((await caller('POST', '/v1/keys', { headers, body: { name: 'one' } })).status).toBe(201);
    const refused = await caller('POST', '/v1/keys', { headers, body: { name: 'two' } });
    expect(refused.status, refused.text).toBe(422);
    expect(isBookmark(refused.headers.get(BOOKMARK_HEADER)), 'an error that used D1 carries the bookmark too').toBe(true);
    expect(sessions).toEqual(['first-primary', 'first-primary']);
  });

  describe('a bookmark returned by a write, sent with each read, is accepted and answered with a bookmark', () => {
    const reads: Array<[string, (org: string, p: string, keyId: string, projectKeyId: string) => string]> = [
      ['GET /v1/keys', () => '/v1/keys'],
      ['GET /v1/keys/{key}/usage', (_o, _p, keyId) => `/v1/keys/${keyId}/usage`],
      ['GET .../api-keys', (org, p) => `/app/v1/organizations/${org}/projects/${p}/api-keys`],
      ['GET .../api-keys/{id}', (org, p, _k, id) => `/app/v1/organizations/${org}/projects/${p}/api-keys/${id}`],
      ['GET .../api-keys/{id}/usage', (org, p, _k, id) => `/app/v1/organizations/${org}/projects/${p}/api-keys/${id}/usage`],
      ['GET .../projects', (org) => `/app/v1/organizations/${org}/projects`],
      ['GET .../audit-log', (org) => `/app/v1/organizations/${org}/audit-log`],
      ['GET .../limits', (org) => `/app/v1/organizations/${org}/limits`],
      ['GET .../usage', (org) => `/app/v1/organizations/${org}/usage`],
    ];
    it.each(reads)('%s', async (_label, pathOf) => {
      const org = randomId();
      const p = newProject(org);
      const headers = await adminHeaders(org);
      const orgKey = await call('POST', '/v1/keys', { headers, body: { name: 'k' } });
      const projectKey = await call('POST', keysPath(p), { headers, body: { name: 'p' } });
      await remember('project key', projectKey.body.key);
      const bookmark = projectKey.headers.get(BOOKMARK_HEADER)!;
      expect(isBookmark(bookmark)).toBe(true);
      const res = await call('GET', pathOf(org, p.project, orgKey.body.data.id, projectKey.body.id), {
        headers: { ...headers, [BOOKMARK_HEADER]: bookmark },
      });
      expect(res.status, res.text).toBe(200);
      const answered = res.headers.get(BOOKMARK_HEADER);
      expect(isBookmark(answered), `${answered}`).toBe(true);
      expect(laterBookmark(answered, bookmark), 'never earlier than the bookmark sent').toBe(answered);
    });
  });

  it('every write answer carries a bookmark: rename, revoke, roll, update, delete', async () => {
    const org = randomId();
    const p = newProject(org);
    const headers = await adminHeaders(org);
    const orgKey = (await call('POST', '/v1/keys', { headers, body: { name: 'k' } })).body.data;
    const rolled = (await call('POST', '/v1/keys', { headers, body: { name: 'rolled' } })).body.data;
    const projectKey = (await call('POST', keysPath(p), { headers, body: { name: 'p' } })).body;
    await remember('project key', projectKey.key);
    const writes: Array<[string, string, unknown]> = [
      ['PATCH', `/v1/keys/${orgKey.id}`, { name: 'renamed' }],
      ['DELETE', `/v1/keys/${orgKey.clientId}`, undefined],
      ['POST', `/v1/keys/${rolled.id}/roll`, undefined],
      ['PUT', keysPath(p, projectKey.id), { name: 'renamed' }],
      ['DELETE', keysPath(p, projectKey.id), undefined],
    ];
    for (const [method, path, body] of writes) {
      const res = await call(method, path, { headers, body });
      expect(res.status, `${method} ${path}: ${res.text}`).toBeLessThan(300);
      expect(isBookmark(res.headers.get(BOOKMARK_HEADER)), `${method} ${path}`).toBe(true);
    }
  });
});

describe('a malformed bookmark', () => {
  const malformed: Array<[string, string]> = [
    ['empty', ''],
    ['too long', '0'.repeat(201)],
    ['a session constraint', 'first-primary'],
    ['upper case', 'ABCDEF01-00000002'],
    ['letters beyond hex', '0000zzzz-00000001'],
    ['a trailing dash', '00000001-'],
    ['spaces inside', '00000001 00000002'],
    ['a second value (the header sent twice)', '00000001, 00000002'],
    ['an encoded line break and header', '00000001%0d%0ax-keygate-org-id:%20other'],
    ['a header-injection attempt in plain text', '00000001 x-keygate-org-id: other'],
    ['a tab', '00000001\t00000002'],
    ['markup', '<script>alert(1)</script>'],
    ['SQL', "00000001' OR '1'='1"],
  ];

  it('cannot carry a raw line break: the runtime refuses to build such a request', () => {
    expect(() => new Headers({ [BOOKMARK_HEADER]: '00000001\r\nx-evil: 1' })).toThrow();
  });

  it.each(malformed)('%s: 400 in the organization surface shape, no D1 read', async (_label, value) => {
    const org = randomId();
    const { db, sessions } = recordingD1();
    const res = await callWith({ DB: db }, 'GET', '/v1/keys', { headers: { ...(await adminHeaders(org)), [BOOKMARK_HEADER]: value } });
    expect(res.status, res.text).toBe(400);
    expect(res.body).toEqual({
      error: 'invalid request headers',
      details: [{ field: BOOKMARK_HEADER, message: expect.any(String) }],
    });
    expect(res.headers.get(BOOKMARK_HEADER)).toBeNull();
    expect(sessions).toEqual([]);
    if (value.length > 3) expect(res.text).not.toContain(value);
  });

  it.each(malformed)('%s: 400 in the project surface shape, on each read route', async (_label, value) => {
    const org = randomId();
    const p = newProject(org);
    const { db, sessions } = recordingD1();
    const headers = { ...(await adminHeaders(org)), [BOOKMARK_HEADER]: value };
    for (const path of [
      keysPath(p),
      keysPath(p, crypto.randomUUID()),
      `${keysPath(p, crypto.randomUUID())}/usage`,
      `/app/v1/organizations/${org}/projects`,
      `/app/v1/organizations/${org}/audit-log`,
      `/app/v1/organizations/${org}/limits`,
      `/app/v1/organizations/${org}/usage`,
    ]) {
      const res = await callWith({ DB: db }, 'GET', path, { headers });
      expect(res.status, `${path}: ${res.text}`).toBe(400);
      expect(res.body, path).toEqual({
        error: {
          code: 'VALIDATION_ERROR',
          message: 'invalid request headers',
          details: [{ field: BOOKMARK_HEADER, message: expect.any(String) }],
        },
      });
    }
    expect(sessions).toEqual([]);
  });

  it('is judged after the credentials: without them, 401 as always', async () => {
    const res = await call('GET', '/v1/keys', { headers: { [BOOKMARK_HEADER]: 'not a bookmark' } });
    expect(res.status).toBe(401);
  });
});

describe('tenants', () => {
  it("another organization's bookmark gives access to nothing: it only orders reads", async () => {
    const a = randomId();
    const b = randomId();
    const mine = await call('POST', '/v1/keys', { headers: await adminHeaders(a), body: { name: 'mine' } });
    const theirs = await call('POST', '/v1/keys', { headers: await adminHeaders(b), body: { name: 'theirs' } });
    const theirBookmark = theirs.headers.get(BOOKMARK_HEADER)!;
    expect(isBookmark(theirBookmark)).toBe(true);

    const listed = await call('GET', '/v1/keys', { headers: { ...(await adminHeaders(a)), [BOOKMARK_HEADER]: theirBookmark } });
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body.data.map((k: { id: string }) => k.id)).toEqual([mine.body.data.id]);
    // Their organization's paths stay closed to us, bookmark or not.
    const foreign = await call('GET', `/app/v1/organizations/${b}/audit-log`, {
      headers: { ...(await adminHeaders(a)), [BOOKMARK_HEADER]: theirBookmark },
    });
    expect(foreign.status).toBe(404);
    expect(foreign.headers.get(BOOKMARK_HEADER)).toBeNull();
    // And without credentials a bookmark is nothing.
    const anonymous = await call('GET', '/v1/keys', { headers: { [BOOKMARK_HEADER]: theirBookmark } });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get(BOOKMARK_HEADER)).toBeNull();
  });
});

/** A new organization key verified once through a stand-in replica, everything after that settled. */
async function verifiedThroughReplica() {
  const replica = recordingD1({ replica: true });
  const { deps, settle } = serviceDeps(replica.db);
  const key = await serviceKey(deps);
  expect((await verifyKeyPair(deps, key.key.clientId, key.secret)).ok).toBe(true);
  await settle();
  return { replica, deps, settle, key };
}

describe('verification', () => {
  it('reads any replica through a session; a record from the primary is cached in KV', async () => {
    const { db, sessions } = recordingD1();
    const { deps, settle } = serviceDeps(db);
    const key = await serviceKey(deps);
    await settle();
    expect((await verifyKeyPair(deps, key.key.clientId, key.secret)).ok).toBe(true);
    await settle();
    expect(sessions).toEqual(['first-unconstrained']);
    // Miniflare's answers carry no served_by_primary: the primary answered, and KV holds the record.
    expect(await env.KEY_CACHE.get(cacheKeys.verifiedKey(key.hash))).not.toBeNull();
  });

  it("caches a replica's record in this isolate only, never in KV", async () => {
    const { replica, deps, key } = await verifiedThroughReplica();
    expect(replica.seen.replicaKeyReads).toBe(1);
    expect(await env.KEY_CACHE.get(cacheKeys.verifiedKey(key.hash))).toBeNull();
    // The isolate tier holds it: the next verification reads nothing.
    expect((await verifyKeyPair(deps, key.key.clientId, key.secret)).ok).toBe(true);
    expect(replica.seen.replicaKeyReads).toBe(1);
  });

  it('asks the primary about a key a replica does not have yet (created moments ago)', async () => {
    const replica = recordingD1({ replica: true });
    const { deps, settle } = serviceDeps(replica.db);
    const key = await serviceKey(deps);
    // The replica has not caught up with the creation: it answers "no such key".
    replica.lag.behindCreation = true;
    expect((await verifyKeyPair(deps, key.key.clientId, key.secret)).ok, 'the primary has the key').toBe(true);
    expect(replica.seen).toEqual({ replicaKeyReads: 1, primaryKeyReads: 1 });
    await settle();
    // The primary answered: KV holds the record.
    expect(await env.KEY_CACHE.get(cacheKeys.verifiedKey(key.hash))).not.toBeNull();
  });

  it('refuses a revoked key at once on the isolate that revoked it, whatever a lagging replica says', async () => {
    const { replica, deps, key } = await verifiedThroughReplica();
    // From now on the replica keeps answering what it answered then: the key, active.
    replica.lag.lagging = true;
    expect(await revokeOrgKey(deps, { organizationId: key.organizationId, idOrClientId: key.key.id, actor, meta })).toMatchObject({
      ok: true,
    });
    const replicaReads = replica.seen.replicaKeyReads;
    expect(await verifyKeyPair(deps, key.key.clientId, key.secret)).toEqual({ ok: false, reason: 'unknown' });
    expect(replica.seen.replicaKeyReads, 'the primary answered, not the replica').toBe(replicaReads);
  });

  it('through the API too: DELETE, then the pair is refused on the next request of this isolate', async () => {
    const replica = recordingD1({ replica: true });
    const caller = sharedEnvCaller({ DB: replica.db });
    const org = randomId();
    const created = await caller('POST', '/v1/keys', { headers: await adminHeaders(org), body: { name: 'to revoke' } });
    expect(created.status, created.text).toBe(201);
    const pair = created.body.data;
    expect((await caller('GET', '/v1/keys', { headers: pairHeaders(pair) })).status).toBe(200);
    replica.lag.lagging = true;
    expect((await caller('DELETE', `/v1/keys/${pair.id}`, { headers: await adminHeaders(org) })).status).toBe(200);
    const refused = await caller('GET', '/v1/keys', { headers: pairHeaders(pair) });
    expect(refused.status, refused.text).toBe(401);
  });

  it("bounds a lagging replica's effect elsewhere: its record lives the isolate TTL, never in KV", async () => {
    const { replica, deps, settle, key } = await verifiedThroughReplica();
    replica.lag.lagging = true;
    // Another instance revokes it; this isolate is not told, and the replica has not caught up.
    await env.DB.prepare(`UPDATE api_keys SET status = 'revoked' WHERE id = ?1`).bind(key.key.id).run();
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + deps.config.isolateCacheTtlMs + 1);
    // Still inside the replica's lag: accepted, from this isolate's memory for one more TTL, KV untouched.
    expect((await verifyKeyPair(deps, key.key.clientId, key.secret)).ok).toBe(true);
    await settle();
    expect(await env.KEY_CACHE.get(cacheKeys.verifiedKey(key.hash))).toBeNull();
    // The replica catches up: one isolate TTL later the key is refused.
    replica.lag.lagging = false;
    replica.lag.snapshots.clear();
    vi.setSystemTime(Date.now() + deps.config.isolateCacheTtlMs + 1);
    expect(await verifyKeyPair(deps, key.key.clientId, key.secret)).toEqual({ ok: false, reason: 'unknown' });
  });
});

describe('the OpenAPI document', () => {
  it('declares the header on every management answer and on every management read', async () => {
    const doc = (await call('GET', '/openapi.json')).body as {
      paths: Record<
        string,
        Record<string, { parameters?: Array<{ name: string; in: string }>; responses: Record<string, { headers?: object }> }>
      >;
    };
    const management = Object.entries(doc.paths).filter(
      ([path]) => path.startsWith('/v1/keys') || (path.startsWith('/app/v1/') && !path.includes('{path}')),
    );
    expect(management.length).toBeGreaterThan(8);
    for (const [path, operations] of management) {
      for (const [method, operation] of Object.entries(operations)) {
        for (const [status, response] of Object.entries(operation.responses)) {
          if (status.startsWith('2')) expect(response.headers, `${method} ${path} ${status}`).toHaveProperty(BOOKMARK_HEADER);
        }
        if (method === 'get') {
          expect(operation.parameters, `${method} ${path}`).toContainEqual(
            expect.objectContaining({ name: BOOKMARK_HEADER, in: 'header' }),
          );
        }
      }
    }
  });
});
