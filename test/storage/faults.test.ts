// "Nothing slips past the gate", fault injection: every D1 and KV operation of every path made to
// fail, to hang, and (for writes) to take effect with its answer lost, one at a time. Each must
// fail closed (503 in the surface's shape, nothing internal in it), leave D1 consistent (a change
// with exactly its audit entry, or nothing), and never answer 2xx for a change that the next
// verification through the same isolate contradicts.
//
// Requests go through the Worker with the real test bindings behind FaultyStorage and
// STORAGE_TIMEOUT_MS 50, so a hang becomes a timeout quickly; the vitest per-test timeout catches
// a request that never returns. The in-isolate tier is module state keyed by configuration, so
// every test uses fresh organizations, projects and keys.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { KeyStatus } from '../../src/db/api-keys';
import type { AuditAction } from '../../src/db/audit';
import { auditRowsOf, keyRow, keyRowsOf } from '../support/db';
import { type FaultMode, FaultyStorage, INJECTED_FRAGMENTS, INTERNAL_FRAGMENTS, type OpKind, WRITE_KINDS } from '../support/faults';
import { adminHeaders, type CallInit, pairHeaders, type Reply, randomId, remember } from '../support/fixtures';
import { sharedEnvCaller } from '../support/origin';
import { apiKeyHeaders, cachedRecord, clientPath, keysPath, newProject, type Project } from '../support/project';

type Call = ReturnType<typeof sharedEnvCaller>;
type Req = { method: string; path: string; init?: CallInit };

/** A key whose verification must agree with D1 after the request under test. */
type Subject = { keyId: string; secret: string; headers: Record<string, string>; verification: Req };

/** What the request stores when it succeeds (null for reads). */
type Change =
  | { kind: 'create'; name: string }
  | { kind: 'update'; keyId: string; set: { name?: string; status?: KeyStatus }; audit: AuditAction[] }
  | { kind: 'delete'; keyId: string };

type Prepared = {
  org: string;
  request: Req;
  change: Change | null;
  /** The key whose next verification is checked; for creates, `created` gives it from a 2xx answer. */
  subject?: Subject;
  created?(res: Reply): Promise<Subject>;
};

/** unavailable: a fault of this operation must answer 503. answers: the healthy answer still (D1 decides, or the operation runs after the response). */
type Outcome = 'unavailable' | 'answers';

type Scenario = {
  name: string;
  /** The status of a healthy run. */
  success: number;
  overrides?: Partial<Env>;
  /** The operations of a healthy run, in order (checked against a recorded run), and what a fault of each must answer. */
  ops: Array<[OpKind, Outcome]>;
  /** Fresh organization and keys, set up through the same env (no fault armed yet). */
  prepare(call: Call): Promise<Prepared>;
};

/**
 * Budget counters that always answer at once: this suite breaks D1 and KV, and its 50 ms storage
 * deadline would otherwise also bound each write's BudgetCounter call, whose first request (a
 * new Durable Object) can take longer on a loaded machine. The counter's own failures are tested
 * in test/budgets/management.test.ts.
 */
const instantBudgets = {
  getByName: () => ({
    take: async (limit: number, windowSeconds: number) => ({
      allowed: true,
      limit,
      remaining: limit - 1,
      resetAt: Date.now() + windowSeconds * 1000,
    }),
    lease: async (limit: number, windowSeconds: number, want: number) => ({
      granted: want,
      limit,
      remaining: limit - want,
      resetAt: (Math.floor(Date.now() / (windowSeconds * 1000)) + 1) * windowSeconds * 1000,
    }),
  }),
} as unknown as Env['BUDGETS'];

const FAULT_ENV = { STORAGE_TIMEOUT_MS: '50', BUDGETS: instantBudgets } satisfies Partial<Env>;
const UNAVAILABLE = 'service temporarily unavailable';

/** The env of another isolate: a separate in-isolate tier (keyed by its settings) over the same D1 and KV. */
const elsewhere = sharedEnvCaller({ ISOLATE_CACHE_MAX_ENTRIES: '10001' });

function harness(overrides: Partial<Env> = {}) {
  const faults = new FaultyStorage();
  const call = sharedEnvCaller({ DB: faults.db, KEY_CACHE: faults.kv, ...FAULT_ENV, ...overrides });
  return { faults, call };
}

const send = (call: Call, req: Req) => call(req.method, req.path, req.init);

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

/** Records what the code logs from now on (the spies call through); returns a reader of the lines. */
function captureLogs(): () => string[] {
  const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((method) => vi.spyOn(console, method));
  return () => spies.flatMap((spy) => spy.mock.calls.map((args) => args.map(String).join(' ')));
}

function expectNothingInjectedLogged(lines: string[], context: string): void {
  for (const fragment of INJECTED_FRAGMENTS) {
    expect(
      lines.filter((line) => line.includes(fragment)),
      `no log line carries "${fragment}" (${context})`,
    ).toEqual([]);
  }
}

// ---- keys, created through the env under test ----

function orgSubject(pair: { id: string; clientId: string; apiKey: string }): Subject {
  const headers = pairHeaders(pair);
  return { keyId: pair.id, secret: pair.apiKey, headers, verification: { method: 'GET', path: '/v1/companies', init: { headers } } };
}

function projectSubject(p: Project, created: { id: string; key: string }): Subject {
  const headers = apiKeyHeaders(created.key);
  return { keyId: created.id, secret: created.key, headers, verification: { method: 'GET', path: clientPath(p), init: { headers } } };
}

async function newOrgKey(call: Call, org: string): Promise<Subject> {
  const res = await call('POST', '/v1/keys', { headers: await adminHeaders(org), body: { name: randomId('key') } });
  expect(res.status, `creating an organization key: ${res.text}`).toBe(201);
  return orgSubject(res.body.data);
}

async function newProjectKey(call: Call, p: Project): Promise<Subject> {
  const res = await call('POST', keysPath(p), { headers: await adminHeaders(p.org), body: { name: randomId('key') } });
  expect(res.status, `creating a project key: ${res.text}`).toBe(201);
  await remember('project key', res.body.key);
  return projectSubject(p, res.body);
}

/** Verifies the key once (200), so this isolate and KV hold it. */
async function used(call: Call, key: Subject): Promise<Subject> {
  const res = await send(call, key.verification);
  expect(res.status, `first use of the key: ${res.text}`).toBe(200);
  return key;
}

async function revokeProjectKeyVia(call: Call, p: Project, key: Subject): Promise<void> {
  const res = await call('PUT', keysPath(p, key.keyId), { headers: await adminHeaders(p.org), body: { status: 'revoked' } });
  expect(res.status, `revoking the project key: ${res.text}`).toBe(200);
}

// ---- D1 as the tests read it ----

type Summary = { keys: Array<{ id: string; name: string; status: KeyStatus }>; audit: Array<{ keyId: string; action: AuditAction }> };

/** The organization's keys and audit entries, in insertion order, straight from env.DB. */
async function summaryOf(org: string): Promise<Summary> {
  return {
    keys: (await keyRowsOf(org)).map((row) => ({ id: row.id, name: row.name, status: row.status })),
    audit: (await auditRowsOf(org)).map((entry) => ({ keyId: entry.key_id, action: entry.action })),
  };
}

/** `before` with `change` stored: the key row changed and exactly its audit entries appended. */
function withChange(before: Summary, change: Change, after: Summary): Summary {
  switch (change.kind) {
    case 'create': {
      const added = after.keys.filter((k) => !before.keys.some((b) => b.id === k.id));
      const id = added.length === 1 ? added[0]!.id : '(exactly one new key)';
      return {
        keys: [...before.keys, { id, name: change.name, status: 'active' }],
        audit: [...before.audit, { keyId: id, action: 'created' }],
      };
    }
    case 'update':
      return {
        keys: before.keys.map((k) => (k.id === change.keyId ? { ...k, ...change.set } : k)),
        audit: [...before.audit, ...change.audit.map((action) => ({ keyId: change.keyId, action }))],
      };
    case 'delete':
      return {
        keys: before.keys.filter((k) => k.id !== change.keyId),
        audit: [...before.audit, { keyId: change.keyId, action: 'deleted' }],
      };
  }
}

/** Every key's audit trail explains its row, and every trail has its row: created once and first, last status change = status, deleted = no row. */
function expectAuditExplainsKeys(s: Summary, context: string): void {
  for (const id of new Set([...s.keys.map((k) => k.id), ...s.audit.map((a) => a.keyId)])) {
    const actions = s.audit.filter((a) => a.keyId === id).map((a) => a.action);
    expect(
      actions.filter((a) => a === 'created'),
      `${id} has exactly one 'created' entry, its first: ${actions} (${context})`,
    ).toEqual(['created']);
    expect(actions[0], `${id}'s first entry is 'created': ${actions} (${context})`).toBe('created');
    const last = actions.filter((a) => a !== 'updated').at(-1);
    const status = last === 'deleted' ? undefined : last === 'revoked' ? 'revoked' : 'active';
    expect(s.keys.find((k) => k.id === id)?.status, `${id}'s row agrees with its audit trail ${actions} (${context})`).toBe(status);
  }
}

function expectUnavailable(res: Reply, path: string, context: string): void {
  expect(res.status, context).toBe(503);
  expect(res.headers.get('retry-after'), context).toBe('1');
  if (path.startsWith('/app/') || path.startsWith('/api/')) {
    expect(res.body, `the project surface's 503 shape (${context})`).toEqual({
      error: { code: 'SERVICE_UNAVAILABLE', message: UNAVAILABLE, requestId: expect.any(String) },
    });
  } else {
    expect(res.body, `the organization surface's 503 shape (${context})`).toEqual({ error: UNAVAILABLE, requestId: expect.any(String) });
  }
  for (const fragment of INTERNAL_FRAGMENTS)
    expect(res.text, `no internal detail "${fragment}" in the answer (${context})`).not.toContain(fragment);
}

/** What D1 says of a key now: a verification must answer 200 while it is active, 401 otherwise. */
async function statusOfTruth(keyId: string): Promise<200 | 401> {
  return (await keyRow(keyId))?.status === 'active' ? 200 : 401;
}

const endsKey = (change: Change | null) =>
  change !== null && (change.kind === 'delete' || (change.kind === 'update' && change.set.status === 'revoked'));

// ---- the table ----

const adminReq = async (org: string, method: string, path: string, body?: unknown): Promise<Req> => ({
  method,
  path,
  init: { headers: await adminHeaders(org), body },
});

/** A cold verification: D1 decides when KV cannot answer, and one D1 cannot answer fails closed. */
// Changes of a key verified just before (so KV holds its record), shared by the scenario table
// and the defect-1 tests.

async function revokeUsedOrgKey(call: Call): Promise<Prepared & { subject: Subject; change: Change }> {
  const org = randomId();
  const subject = await used(call, await newOrgKey(call, org));
  const change: Change = { kind: 'update', keyId: subject.keyId, set: { status: 'revoked' }, audit: ['revoked'] };
  return { org, subject, change, request: await adminReq(org, 'DELETE', `/v1/keys/${subject.keyId}`) };
}

async function deleteUsedProjectKey(call: Call): Promise<Prepared & { subject: Subject; change: Change }> {
  const p = newProject();
  const subject = await used(call, await newProjectKey(call, p));
  const change: Change = { kind: 'delete', keyId: subject.keyId };
  return { org: p.org, subject, change, request: await adminReq(p.org, 'DELETE', keysPath(p, subject.keyId)) };
}

/** A PUT of `set` on a used project key (revoked first when `set` reactivates it). */
async function updateUsedProjectKey(
  call: Call,
  set: { name?: string; status?: KeyStatus },
  audit: AuditAction[],
): Promise<Prepared & { subject: Subject; change: Change }> {
  const p = newProject();
  const subject = await used(call, await newProjectKey(call, p));
  if (set.status === 'active') await revokeProjectKeyVia(call, p, subject);
  const change: Change = { kind: 'update', keyId: subject.keyId, set, audit };
  return { org: p.org, subject, change, request: await adminReq(p.org, 'PUT', keysPath(p, subject.keyId), set) };
}

const VERIFY_OPS: Array<[OpKind, Outcome]> = [
  ['kv.get', 'answers'],
  // The key's look-up, through a D1 session (its meta says whether the primary answered).
  ['d1.all', 'unavailable'],
  // Filling KV runs after the answer (waitUntil).
  ['kv.put', 'answers'],
];
/** The lastUsed write, after the answer (waitUntil). */
const LAST_USED: [OpKind, Outcome] = ['d1.batch', 'answers'];
/** The usage counts, written in one batch after the answer (USAGE_FLUSH_SECONDS, 0 in tests). */
const USAGE: [OpKind, Outcome] = ['d1.batch', 'answers'];
/** A change of a key: read it, write it with its audit entries in one batch, then evict its KV entry. */
const CHANGE_OPS: Array<[OpKind, Outcome]> = [
  ['d1.first', 'unavailable'],
  ['d1.batch', 'unavailable'],
  ['kv.delete', 'answers'],
];

const scenarios: Scenario[] = [
  // Organization keys.
  {
    name: 'POST /v1/keys: create an organization key',
    success: 201,
    ops: [['d1.batch', 'unavailable']],
    async prepare() {
      const org = randomId();
      return {
        org,
        change: { kind: 'create', name: 'faulted' },
        request: await adminReq(org, 'POST', '/v1/keys', { name: 'faulted' }),
        created: async (res) => orgSubject(res.body.data),
      };
    },
  },
  {
    name: 'POST /v1/keys at the key limit: 422',
    success: 422,
    overrides: { DEFAULT_KEY_LIMIT: '1' },
    // The insert that the limit stops, then the limit for the message.
    ops: [
      ['d1.batch', 'unavailable'],
      ['d1.first', 'unavailable'],
    ],
    async prepare(call) {
      const org = randomId();
      const subject = await newOrgKey(call, org);
      return { org, subject, change: null, request: await adminReq(org, 'POST', '/v1/keys', { name: 'one too many' }) };
    },
  },
  {
    name: 'GET /v1/keys with an admin JWT',
    success: 200,
    ops: [['d1.all', 'unavailable']],
    async prepare(call) {
      const org = randomId();
      const subject = await newOrgKey(call, org);
      return { org, subject, change: null, request: await adminReq(org, 'GET', '/v1/keys') };
    },
  },
  {
    name: 'GET /v1/keys with a key pair used for the first time',
    success: 200,
    ops: [...VERIFY_OPS, ['d1.all', 'unavailable'], USAGE, LAST_USED],
    async prepare(call) {
      const org = randomId();
      const subject = await newOrgKey(call, org);
      return { org, subject, change: null, request: { method: 'GET', path: '/v1/keys', init: { headers: subject.headers } } };
    },
  },
  {
    name: 'DELETE /v1/keys/{id}: revoke an organization key verified just before',
    success: 200,
    ops: CHANGE_OPS,
    prepare: revokeUsedOrgKey,
  },

  // Project keys.
  {
    name: 'POST /app/v1/.../api-keys: create a project key',
    success: 201,
    ops: [['d1.batch', 'unavailable']],
    async prepare() {
      const p = newProject();
      return {
        org: p.org,
        change: { kind: 'create', name: 'faulted' },
        request: await adminReq(p.org, 'POST', keysPath(p), { name: 'faulted' }),
        async created(res) {
          await remember('project key', res.body.key);
          return projectSubject(p, res.body);
        },
      };
    },
  },
  {
    name: 'GET /app/v1/.../api-keys: list',
    success: 200,
    ops: [['d1.all', 'unavailable']],
    async prepare(call) {
      const p = newProject();
      const subject = await newProjectKey(call, p);
      return { org: p.org, subject, change: null, request: await adminReq(p.org, 'GET', keysPath(p)) };
    },
  },
  {
    name: 'GET /app/v1/.../api-keys/{id}',
    success: 200,
    ops: [['d1.first', 'unavailable']],
    async prepare(call) {
      const p = newProject();
      const subject = await newProjectKey(call, p);
      return { org: p.org, subject, change: null, request: await adminReq(p.org, 'GET', keysPath(p, subject.keyId)) };
    },
  },
  ...(
    [
      ['rename a project key verified just before', { name: 'renamed' }, ['updated']],
      ['revoke a project key verified just before', { status: 'revoked' }, ['revoked']],
      ['rename and revoke a project key at once (two audit entries)', { name: 'renamed', status: 'revoked' }, ['updated', 'revoked']],
      ['reactivate a revoked project key', { status: 'active' }, ['reactivated']],
    ] as Array<[string, { name?: string; status?: KeyStatus }, AuditAction[]]>
  ).map(
    ([label, set, audit]): Scenario => ({
      name: `PUT /app/v1/.../api-keys/{id}: ${label}`,
      success: 200,
      ops: CHANGE_OPS,
      prepare: (call) => updateUsedProjectKey(call, set, audit),
    }),
  ),
  {
    name: 'PUT /app/v1/.../api-keys/{id}: reactivate a revoked project key at the key limit: 422',
    success: 422,
    overrides: { DEFAULT_KEY_LIMIT: '1' },
    // The write that the limit stops, then the key read again (did a concurrent change win?), then the limit for the message.
    ops: [...CHANGE_OPS, ['d1.first', 'unavailable'], ['d1.first', 'unavailable']],
    async prepare(call) {
      const p = newProject();
      const subject = await used(call, await newProjectKey(call, p));
      await revokeProjectKeyVia(call, p, subject);
      await newProjectKey(call, p);
      return { org: p.org, subject, change: null, request: await adminReq(p.org, 'PUT', keysPath(p, subject.keyId), { status: 'active' }) };
    },
  },
  {
    name: 'DELETE /app/v1/.../api-keys/{id}: delete a project key verified just before',
    success: 200,
    ops: CHANGE_OPS,
    prepare: deleteUsedProjectKey,
  },
  {
    name: 'GET /app/v1/organizations/{o}/audit-log',
    success: 200,
    ops: [['d1.all', 'unavailable']],
    async prepare(call) {
      const p = newProject();
      const subject = await newProjectKey(call, p);
      return { org: p.org, subject, change: null, request: await adminReq(p.org, 'GET', `/app/v1/organizations/${p.org}/audit-log`) };
    },
  },

  // Verification, both kinds of key: cold (first use), hot (second use, from this isolate's
  // memory or, with the isolate tier off, from KV), and a key revoked by another isolate.
  ...(['org', 'project'] as const).flatMap((kind): Scenario[] => {
    const label = kind === 'org' ? 'GET /v1/companies with a key pair' : 'GET /api/v1/.../content with x-api-key';
    const newKey = async (call: Call) => {
      const p = newProject();
      return { org: p.org, p, key: kind === 'org' ? await newOrgKey(call, p.org) : await newProjectKey(call, p) };
    };
    const verifying = (org: string, key: Subject): Prepared => ({ org, subject: key, change: null, request: key.verification });
    return [
      {
        name: `${label}, used for the first time (cold)`,
        success: 200,
        ops: [...VERIFY_OPS, USAGE, LAST_USED],
        async prepare(call) {
          const { org, key } = await newKey(call);
          return verifying(org, key);
        },
      },
      {
        name: `${label}, used a second time (hot, in this isolate's memory)`,
        success: 200,
        ops: [USAGE],
        async prepare(call) {
          const { org, key } = await newKey(call);
          return verifying(org, await used(call, key));
        },
      },
      {
        name: `${label}, used a second time with the isolate tier off (hot, in KV)`,
        success: 200,
        overrides: { ISOLATE_CACHE_TTL_SECONDS: '0' },
        ops: [['kv.get', 'answers'], USAGE],
        async prepare(call) {
          const { org, key } = await newKey(call);
          return verifying(org, await used(call, key));
        },
      },
      {
        name: `${label} revoked by another isolate: 401`,
        success: 401,
        ops: VERIFY_OPS.slice(0, 2),
        async prepare(call) {
          const { org, p, key } = await newKey(call);
          if (kind === 'org')
            expect((await elsewhere('DELETE', `/v1/keys/${key.keyId}`, { headers: await adminHeaders(org) })).status).toBe(200);
          else await revokeProjectKeyVia(elsewhere, p, key);
          return verifying(org, key);
        },
      },
    ];
  }),
];

const MODE_LABEL: Record<FaultMode, string> = {
  fail: 'fails',
  hang: 'never answers',
  lost: 'takes effect but its answer is lost',
};

function modesOf(kind: OpKind): FaultMode[] {
  return WRITE_KINDS.has(kind) ? ['fail', 'hang', 'lost'] : ['fail', 'hang'];
}

describe.each(scenarios)('$name', (scenario) => {
  it(`a healthy run performs exactly the table's operations: ${scenario.ops.map(([k]) => k).join(', ') || 'none'}`, async () => {
    const { faults, call } = harness(scenario.overrides);
    const prepared = await scenario.prepare(call);
    faults.reset();
    const res = await send(call, prepared.request);
    expect(res.status, res.text).toBe(scenario.success);
    const recorded = faults.ops.map((op) => `${op.kind} ${op.detail}`).join('\n');
    expect(
      faults.ops.map((op) => op.kind),
      `the operations of a healthy run (update the table if the path changed):\n${recorded}`,
    ).toEqual(scenario.ops.map(([kind]) => kind));
  });

  scenario.ops.forEach(([kind, outcome], index) => {
    const nth = scenario.ops.slice(0, index).filter(([k]) => k === kind).length;
    for (const mode of modesOf(kind)) {
      const expected = outcome === 'unavailable' ? '503' : `still ${scenario.success}`;
      it(`${kind} #${nth + 1} ${MODE_LABEL[mode]}: ${expected}, D1 consistent, the next verification agrees with D1`, async () => {
        const { faults, call } = harness(scenario.overrides);
        const prepared = await scenario.prepare(call);
        const before = await summaryOf(prepared.org);

        const logged = captureLogs();
        faults.arm({ kind, nth, mode });
        const started = Date.now();
        const res = await send(call, prepared.request);
        const context = `${kind} #${nth + 1} ${MODE_LABEL[mode]}; answered ${res.status} after ${Date.now() - started} ms: ${res.text}`;
        faults.disarm();
        await faults.settled();

        expect(faults.fired, `the fault was injected (${context})`).toBe(1);
        if (outcome === 'unavailable') expectUnavailable(res, prepared.request.path, context);
        else expect(res.status, context).toBe(scenario.success);

        // D1: as before, or the whole change with exactly its audit entry (batches are atomic).
        const after = await summaryOf(prepared.org);
        expectAuditExplainsKeys(after, context);
        const changed = prepared.change ? withChange(before, prepared.change, after) : before;
        if (res.status < 300)
          expect(after, `a ${res.status} means the change is stored with its audit entry (${context})`).toEqual(changed);
        else expect([before, changed], `nothing, or the whole change with its audit entry (${context})`).toContainEqual(after);

        // A key the change ended has no KV record left (unless the fault broke every delete; see below).
        // (Both summaries are built with the same field order, so their JSON compares them.)
        const applied = prepared.change !== null && JSON.stringify(after) === JSON.stringify(changed);
        if (applied && endsKey(prepared.change) && prepared.subject) {
          expect(await cachedRecord(prepared.subject.secret), `KV no longer holds the ended key (${context})`).toBeNull();
        }

        // The next verification through the same env agrees with D1 (a created key works).
        const subject = res.status < 300 && prepared.created ? await prepared.created(res) : prepared.subject;
        if (subject) {
          const truth = await statusOfTruth(subject.keyId);
          if (res.status < 300 && endsKey(prepared.change)) expect(truth, `D1 has the key ended after a ${res.status}`).toBe(401);
          const next = await send(call, subject.verification);
          expect(next.status, `the next verification answers as D1 says (${context}): ${next.text}`).toBe(truth);
        }
        expectNothingInjectedLogged(logged(), context);
      });
    }
  });
});

// The defect 1: "A revoke can say 200 while the key keeps working". The KV delete that
// follows the change fails (every attempt) or never answers, so KV keeps the key's record; the
// 200 is only true if this isolate never answers from that record again.
describe('defect 1: a change that ends a key answers 200 only if the key is refused from then on', () => {
  type Ending = { name: string; end(call: Call): Promise<{ org: string; subject: Subject; change: Change; request: Req }> };
  const endings: Ending[] = [
    { name: 'revoking an organization key (DELETE /v1/keys/{id})', end: revokeUsedOrgKey },
    { name: 'deleting a project key (DELETE .../api-keys/{id})', end: deleteUsedProjectKey },
    {
      name: 'revoking a project key (PUT .../api-keys/{id} {"status":"revoked"})',
      end: (call) => updateUsedProjectKey(call, { status: 'revoked' }, ['revoked']),
    },
  ];
  const brokenDeletes: Array<[string, FaultMode]> = [
    ['whose delete always fails', 'fail'],
    ['whose delete never answers', 'hang'],
  ];
  // Offsets (ms) after the change at which the key is verified again. The fake clock moves this
  // isolate's memory only; KV's entry (real clock, 60 s TTL) stays, as it would within its TTL.
  const clocks = [
    {
      name: 'with the isolate tier and the unknown-key memory off',
      overrides: { ISOLATE_CACHE_TTL_SECONDS: '0', UNKNOWN_KEY_TTL_SECONDS: '0' },
      offsets: [0, 0, 0],
    },
    {
      name: 'past the isolate TTL (10 s) and the unknown-key TTL (5 s), within the KV TTL (60 s)',
      overrides: {},
      offsets: [0, 11_000, 30_000, 59_000],
    },
  ];

  for (const ending of endings) {
    for (const [kvLabel, mode] of brokenDeletes) {
      for (const clock of clocks) {
        it(`${ending.name} with a KV ${kvLabel}: 200, then 401 at every verification, ${clock.name}`, async () => {
          const { faults, call } = harness(clock.overrides);
          const { org, subject, change, request } = await ending.end(call);
          expect(await cachedRecord(subject.secret), 'the verification before the change cached the key in KV').not.toBeNull();
          const before = await summaryOf(org);

          faults.arm({ kind: 'kv.delete', mode });
          const res = await send(call, request);
          expect(res.status, res.text).toBe(200);
          expect(faults.fired, 'the change tried to delete the KV entry, and every attempt was broken').toBeGreaterThanOrEqual(1);
          expect(await cachedRecord(subject.secret), 'KV still holds the record of the ended key').not.toBeNull();
          const after = await summaryOf(org);
          expect(after, 'the change is stored with its audit entry').toEqual(withChange(before, change, after));

          const changedAt = Date.now();
          vi.useFakeTimers({ toFake: ['Date'] });
          for (const offset of clock.offsets) {
            vi.setSystemTime(changedAt + offset);
            const next = await send(call, subject.verification);
            expect(next.status, `verification ${offset / 1000} s after the 200 (KV still holds the record): ${next.text}`).toBe(401);
          }
        });
      }
    }
  }
});
