// Property-based fuzz over every route: random methods, paths built from the real route shapes
// with hostile pieces mixed in, real / malformed / missing / duplicated / underscored credentials,
// spoofed identity headers and every kind of body, sent through the Worker with a recording
// origin. For every request, four invariants:
//   1. never a 5xx (storage is healthy and the recording origin never fails, so neither the
//      documented 503 nor the 502 can be due);
//   2. an error (>= 400) is in its surface's shape: /app/ and /api/ {"error": {code, message}},
//      everything else {"error": "message"} (HEAD answers have no body to check);
//   3. a refused request reaches no origin; a forwarded one carries no credential, no client-sent
//      x-keygate-* (any case, `_` for `-`), exactly the identity of the credential Keygate
//      accepted, and a path with nothing an origin could read differently;
//   4. a refused request writes nothing (api_keys and audit_entries unchanged).
//
// Reproducible: fast-check runs with the fixed SEED below, and the arbitraries
// (test/support/arbitraries.ts) generate placeholders for the ids, keys and tokens created in
// beforeAll, so a seed always generates the same requests. On failure fast-check prints the seed,
// the path and the shrunk counterexample (a RequestSpec); the error under it shows the concrete
// request and what Keygate answered. To replay one case: fc.assert(..., { seed, path }).
// A second property sends every request as a GET both through the direct path (src/routes/fast-path.ts)
// and through the router alone, and requires the same answer.
import { env } from 'cloudflare:workers';
import * as fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { errorStatus } from '../../src/errors';
import {
  applyMutations,
  type BodyChoice,
  type Credentials,
  isBodiless,
  type PATH_PLACEHOLDERS,
  type RequestSpec,
  requestSpec,
  type Sending,
  type VALUE_PLACEHOLDERS,
} from '../support/arbitraries';
import { bothPaths } from '../support/both-paths';
import { createOrgKey, type OrgKeyPair, type Reply, remember, token, withAlteredChecksum } from '../support/fixtures';
import { type ReceivedRequest, recordingOrigin } from '../support/origin';
import { type CreatedProjectKey, createProjectKey } from '../support/project';
import { send } from '../support/worker';

/** The seed of every run of this file: change it to explore, keep it fixed to reproduce. */
const SEED = 20261129;
/** Requests per run: each costs a few ms plus two D1 reads, so the file stays well under a minute. */
const NUM_RUNS = 400;
/** GET requests sent to both the direct path and the router (two requests each). */
const DIFFERENTIAL_RUNS = 200;

// ---------------------------------------------------------------------------------------------
// The world the requests act on, created once.

type OrgIdentity = { org: string; keyId: string };
type UserIdentity = { org: string; sub: string; role: 'admin' | 'member' };
type ProjectIdentity = { org: string; project: string; keyId: string; permissions: string };

type World = {
  /** Values of the path placeholders ({org}, {victimOrgKey}, ...): every one of them, or this does not compile. */
  pathValues: Record<(typeof PATH_PLACEHOLDERS)[number], string>;
  /** Values of the header-value placeholders ({projectKeyValue}, {8KB}, ...). */
  headerValues: Record<(typeof VALUE_PLACEHOLDERS)[number], string>;
  pair: OrgKeyPair;
  otherPair: OrgKeyPair;
  projectKey: CreatedProjectKey;
  otherProjectKey: CreatedProjectKey;
  tokens: Record<'admin' | 'member' | 'otherOrgAdmin' | 'expired' | 'forged', string>;
  /** Who each credential Keygate should accept belongs to, by the exact header value(s). */
  pairs: Map<string, OrgIdentity>;
  bearers: Map<string, UserIdentity>;
  projectKeys: Map<string, ProjectIdentity>;
};

const ORG = 'org-fuzz-caller';
const OTHER_ORG = 'org-fuzz-other';
const PROJECT = 'prj-fuzz-caller';
const OTHER_PROJECT = 'prj-fuzz-other';

const pairKey = (clientId: string | null, apiKey: string | null) => `${clientId}\n${apiKey}`;

async function permissionsOf(keyId: string): Promise<string> {
  const row = await env.DB.prepare('SELECT permissions FROM api_keys WHERE id = ?1').bind(keyId).first<{ permissions: string }>();
  return (JSON.parse(row?.permissions ?? '[]') as string[]).join(',');
}

async function createWorld(): Promise<World> {
  // Keys the fuzz may revoke or delete are separate from the ones it calls with, so that a valid
  // DELETE generated early does not leave the rest of the run without working credentials.
  const pair = await createOrgKey(ORG, 'fuzz caller');
  const victimOrgKey = await createOrgKey(ORG, 'fuzz victim');
  const otherPair = await createOrgKey(OTHER_ORG, 'fuzz other');
  const otherVictimOrgKey = await createOrgKey(OTHER_ORG, 'fuzz other victim');
  const project = { org: ORG, project: PROJECT };
  const otherProject = { org: OTHER_ORG, project: OTHER_PROJECT };
  const projectKey = await createProjectKey(project, 'fuzz caller');
  const victimProjectKey = await createProjectKey(project, 'fuzz victim');
  const otherProjectKey = await createProjectKey(otherProject, 'fuzz other');
  const otherVictimProjectKey = await createProjectKey(otherProject, 'fuzz other victim');
  const now = Math.floor(Date.now() / 1000);
  const tokens = {
    admin: await token({ org: ORG, sub: 'fuzz-admin', role: 'admin' }),
    member: await token({ org: ORG, sub: 'fuzz-member', role: 'member' }),
    otherOrgAdmin: await token({ org: OTHER_ORG, sub: 'fuzz-other-admin', role: 'admin' }),
    expired: await token({ org: ORG, sub: 'fuzz-admin', exp: now - 60 }),
    forged: await token({ org: ORG, sub: 'fuzz-admin' }, 'not-the-secret-0123456789abcdef0123456789'),
  };
  return {
    pathValues: {
      '{org}': ORG,
      '{otherOrg}': OTHER_ORG,
      '{project}': PROJECT,
      '{otherProject}': OTHER_PROJECT,
      '{victimOrgKey}': victimOrgKey.id,
      '{otherOrgKey}': otherVictimOrgKey.id,
      '{otherClientId}': otherVictimOrgKey.clientId,
      '{victimProjectKey}': victimProjectKey.id,
      '{otherProjectKey}': otherVictimProjectKey.id,
    },
    headerValues: {
      '{org}': ORG,
      '{otherOrg}': OTHER_ORG,
      '{projectKeyValue}': projectKey.key,
      '{orgSecret}': pair.apiKey,
      '{adminJwt}': `Bearer ${tokens.admin}`,
      '{8KB}': 'v'.repeat(8 * 1024),
    },
    pair,
    otherPair,
    projectKey,
    otherProjectKey,
    tokens,
    pairs: new Map([
      [pairKey(pair.clientId, pair.apiKey), { org: ORG, keyId: pair.id }],
      [pairKey(otherPair.clientId, otherPair.apiKey), { org: OTHER_ORG, keyId: otherPair.id }],
    ]),
    bearers: new Map<string, UserIdentity>([
      [`Bearer ${tokens.admin}`, { org: ORG, sub: 'fuzz-admin', role: 'admin' }],
      [`Bearer ${tokens.member}`, { org: ORG, sub: 'fuzz-member', role: 'member' }],
      [`Bearer ${tokens.otherOrgAdmin}`, { org: OTHER_ORG, sub: 'fuzz-other-admin', role: 'admin' }],
    ]),
    projectKeys: new Map([
      [projectKey.key, { org: ORG, project: PROJECT, keyId: projectKey.id, permissions: await permissionsOf(projectKey.id) }],
      [
        otherProjectKey.key,
        { org: OTHER_ORG, project: OTHER_PROJECT, keyId: otherProjectKey.id, permissions: await permissionsOf(otherProjectKey.id) },
      ],
    ]),
  };
}

// ---------------------------------------------------------------------------------------------
// From a RequestSpec to a Request.

function resolve(text: string, values: Record<string, string>): string {
  let resolved = text;
  for (const [placeholder, value] of Object.entries(values)) resolved = resolved.replaceAll(placeholder, value);
  return resolved;
}

/**
 * Adds one credential header as the spec says to send it: once, twice (Headers.append: the
 * runtime joins the two values with ", "), or under the name a CGI-style origin reads as the
 * same header (`x_api_key`). Authorization has no `-` to swap: its stand-in is
 * `proxy_authorization`, another credential header, carrying the same token.
 */
function addCredential(headers: Headers, name: string, value: string, sending: Sending): void {
  if (sending === 'underscored') {
    headers.append(name === 'authorization' ? 'proxy_authorization' : name.replace(/-/g, '_'), value);
    return;
  }
  headers.append(name, value);
  if (sending === 'twice') headers.append(name, value);
}

function addCredentials(headers: Headers, credentials: Credentials, world: World): void {
  const { pair, jwt, projectKey } = credentials;
  if (pair) {
    const values: Record<typeof pair.choice, [string | null, string | null]> = {
      caller: [world.pair.clientId, world.pair.apiKey],
      other: [world.otherPair.clientId, world.otherPair.apiKey],
      swapped: [world.pair.apiKey, world.pair.clientId],
      badChecksum: [world.pair.clientId, withAlteredChecksum(world.pair.apiKey)],
      clientIdOnly: [world.pair.clientId, null],
      secretOnly: [null, world.pair.apiKey],
      garbage: ['garbage', 'garbage'],
    };
    const [clientId, apiKey] = values[pair.choice];
    if (clientId !== null) addCredential(headers, 'x-metal-client-id', clientId, pair.sending);
    if (apiKey !== null) addCredential(headers, 'x-metal-api-key', apiKey, pair.sending);
  }
  if (jwt) {
    const values: Record<typeof jwt.choice, string> = {
      admin: `Bearer ${world.tokens.admin}`,
      member: `Bearer ${world.tokens.member}`,
      otherOrgAdmin: `Bearer ${world.tokens.otherOrgAdmin}`,
      expired: `Bearer ${world.tokens.expired}`,
      forged: `Bearer ${world.tokens.forged}`,
      garbage: 'Bearer not-a-jwt',
      basic: `Basic ${btoa(`${world.pair.clientId}:${world.pair.apiKey}`)}`,
      emptyBearer: 'Bearer ',
    };
    addCredential(headers, 'authorization', values[jwt.choice], jwt.sending);
  }
  if (projectKey) {
    const values: Record<typeof projectKey.choice, string> = {
      caller: world.projectKey.key,
      other: world.otherProjectKey.key,
      badChecksum: withAlteredChecksum(world.projectKey.key),
      garbage: 'kg_pk_garbage',
    };
    addCredential(headers, 'x-api-key', values[projectKey.choice], projectKey.sending);
  }
}

/** The body as sent, and the content type it goes with (if any). */
function bodyOf(choice: BodyChoice): { body?: BodyInit; contentType?: string } {
  switch (choice.kind) {
    case 'none':
      return {};
    case 'json':
      return { body: JSON.stringify(choice.value), contentType: choice.contentType };
    case 'raw':
      return { body: choice.text, contentType: choice.contentType };
    case 'invalidUtf8':
      return { body: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0xc0, 0xae, 0x22, 0x7d]), contentType: choice.contentType };
    case 'oversized':
      // Valid JSON for the create routes, past the 16 KiB limit.
      return { body: JSON.stringify({ name: 'x'.repeat(17 * 1024) }), contentType: choice.contentType };
  }
}

/** The concrete Request a spec stands for. */
function buildRequest(spec: RequestSpec, world: World): Request {
  const path = resolve(`/${applyMutations(spec.segments, spec.mutations).join('/')}`, world.pathValues);
  const headers = new Headers();
  addCredentials(headers, spec.credentials, world);
  for (const extra of spec.extraHeaders) {
    const value = resolve(extra.value, world.headerValues);
    headers.append(extra.name, value);
    if (extra.twice) headers.append(extra.name, value);
  }
  const { body, contentType } = isBodiless(spec.method) ? {} : bodyOf(spec.body);
  if (contentType !== undefined) headers.set('content-type', contentType);
  return new Request(`https://keygate.test${path}${spec.query}`, { method: spec.method, headers, body });
}

/** The request as a readable line, for failure messages (long header values cut). */
function describeRequest(request: Request, spec: RequestSpec): string {
  const headers: string[] = [];
  request.headers.forEach((value, name) => {
    headers.push(`${name}: ${value.length > 60 ? `${value.slice(0, 60)}…(${value.length})` : value}`);
  });
  return `${request.method} ${request.url}\n  headers: ${headers.join(' | ') || '(none)'}\n  body: ${JSON.stringify(spec.body).slice(0, 200)}`;
}

// ---------------------------------------------------------------------------------------------
// The invariants.

const CREDENTIAL_HEADERS = new Set([
  'x-api-key',
  'x-metal-api-key',
  'x-metal-client-id',
  'authorization',
  'proxy-authorization',
  'cookie',
  'cf-access-jwt-assertion',
]);
const METHOD_OVERRIDE_HEADERS = new Set(['x-http-method-override', 'x-http-method', 'x-method-override']);
/** The identity headers Keygate itself sets. (x-keygate-secret too when ORIGIN_SHARED_SECRET is set; the tests leave it unset.) */
const IDENTITY_HEADERS = new Set([
  'x-keygate-org-id',
  'x-keygate-key-id',
  'x-keygate-key-kind',
  'x-keygate-project-id',
  'x-keygate-permissions',
  'x-keygate-visibility',
  'x-keygate-user-id',
  'x-keygate-role',
]);
const ERROR_CODES = new Set(Object.keys(errorStatus));

/** A header name as CGI-style origins read it: lower case, `_` as `-`. */
const canonical = (name: string) => name.toLowerCase().replace(/_/g, '-');

/**
 * The path as the router reads it: decodeURI where it can (escapes of reserved characters such
 * as %2F stay escaped, so `/api%2F/...` does not start with `/api/`), the rest left as sent.
 */
function looselyDecoded(path: string): string {
  return path.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    try {
      return decodeURI(run);
    } catch {
      return run;
    }
  });
}

/** The path of a URL as sent (still percent-encoded), without the query. */
function rawPathOf(url: string): string {
  const path = url.slice(url.indexOf('/', url.indexOf('//') + 2));
  const query = path.indexOf('?');
  return query === -1 ? path : path.slice(0, query);
}

/** Invariant 2: the body of an error answer in its surface's documented shape. */
function errorShapeViolations(keygatePath: string, reply: Reply): string[] {
  const body = reply.body as { error?: unknown } | null;
  const projectSurface = keygatePath.startsWith('/app/') || keygatePath.startsWith('/api/');
  if (projectSurface) {
    const error = typeof body === 'object' && body !== null ? (body.error as { code?: unknown; message?: unknown } | undefined) : undefined;
    if (typeof error !== 'object' || error === null || typeof error.code !== 'string' || typeof error.message !== 'string') {
      return ['the error is not {"error": {"code": string, "message": string}} (project surface)'];
    }
    if (!ERROR_CODES.has(error.code)) return [`the error code ${error.code} is not one of the documented codes`];
    const documented = errorStatus[error.code as keyof typeof errorStatus];
    if (documented !== reply.status) return [`the code ${error.code} came with status ${reply.status}, documented as ${documented}`];
    return [];
  }
  if (typeof body !== 'object' || body === null || typeof body.error !== 'string') {
    return ['the error is not {"error": string} (organization surface)'];
  }
  return [];
}

/**
 * The identity headers the origin must receive for a request Keygate forwarded, worked out from
 * the credential headers exactly as Keygate read them; a string when no credential Keygate
 * should accept was there (forwarding it would be the bug).
 */
function expectedIdentity(keygatePath: string, request: Request, world: World): Record<string, string> | string {
  const h = request.headers;
  if (keygatePath.startsWith('/v1/')) {
    const key = world.pairs.get(pairKey(h.get('x-metal-client-id'), h.get('x-metal-api-key')));
    if (!key) return 'forwarded under /v1 without a valid organization key pair';
    return {
      'x-keygate-org-id': key.org,
      'x-keygate-key-id': key.keyId,
      'x-keygate-key-kind': 'org',
      'x-keygate-permissions': 'keys:read,keys:write,api:read,api:write',
    };
  }
  if (keygatePath.startsWith('/app/v1/')) {
    const user = world.bearers.get(h.get('authorization') ?? '');
    if (!user) return 'forwarded under /app/v1 without a valid admin JWT';
    const pathOrg = keygatePath.match(/^\/app\/v1\/organizations\/([^/]+)/i)?.[1];
    if (pathOrg !== undefined && looselyDecoded(pathOrg) !== user.org)
      return `forwarded to organization ${pathOrg} with a token of ${user.org}`;
    return { 'x-keygate-org-id': user.org, 'x-keygate-user-id': user.sub, 'x-keygate-role': user.role, 'x-keygate-visibility': 'all' };
  }
  if (keygatePath.startsWith('/api/v1/')) {
    const key = world.projectKeys.get(h.get('x-api-key') ?? '');
    if (!key) return 'forwarded under /api/v1 without a valid project key';
    const [, , , , o, , p] = keygatePath.split('/');
    if (looselyDecoded(o ?? '') !== key.org || looselyDecoded(p ?? '') !== key.project) {
      return `forwarded to ${o}/${p} with a key of ${key.org}/${key.project}`;
    }
    return {
      'x-keygate-org-id': key.org,
      'x-keygate-project-id': key.project,
      'x-keygate-key-id': key.keyId,
      'x-keygate-key-kind': 'project',
      'x-keygate-permissions': key.permissions,
      'x-keygate-visibility': 'published',
    };
  }
  return `forwarded from ${keygatePath}, which is under no gateway prefix`;
}

/** Invariant 3 for a request that reached the origin: what it carried, and its path. */
function forwardedViolations(received: ReceivedRequest, keygatePath: string, request: Request, world: World): string[] {
  const violations: string[] = [];
  const identity = expectedIdentity(keygatePath, request, world);
  if (typeof identity === 'string') violations.push(identity);
  const sentIdentity: Record<string, string> = {};
  for (const [name, value] of Object.entries(received.headers)) {
    const readAs = canonical(name);
    if (CREDENTIAL_HEADERS.has(readAs)) violations.push(`the credential header ${name} reached the origin`);
    if (METHOD_OVERRIDE_HEADERS.has(readAs)) violations.push(`the method override ${name} reached the origin`);
    if (readAs.startsWith('x-keygate-')) {
      if (name !== readAs || !IDENTITY_HEADERS.has(name)) violations.push(`the client-sent header ${name} reached the origin`);
      else sentIdentity[name] = value;
    }
  }
  if (typeof identity !== 'string') {
    const want = JSON.stringify(Object.fromEntries(Object.entries(identity).sort()));
    const got = JSON.stringify(Object.fromEntries(Object.entries(sentIdentity).sort()));
    if (want !== got) violations.push(`identity headers ${got}, expected ${want}`);
  }
  const path = rawPathOf(received.url);
  if (path.includes(';')) violations.push(`forwarded path ${path} has a ';'`);
  if (/%2f|%5c/i.test(path)) violations.push(`forwarded path ${path} has an encoded slash or backslash`);
  if (path.includes('%25')) violations.push(`forwarded path ${path} has an encoded '%'`);
  const segments = path.slice(1).split('/');
  if (segments.includes('')) violations.push(`forwarded path ${path} has an empty segment`);
  if (segments.some((s) => /^(?:\.|%2e){1,2}$/i.test(s))) violations.push(`forwarded path ${path} has a dot segment`);
  // What the origin routes on must be what Keygate authorized: the path exactly as Keygate saw it.
  const keygateRaw = rawPathOf(request.url);
  if (path !== keygateRaw) violations.push(`forwarded path ${path} differs from the path Keygate judged, ${keygateRaw}`);
  return violations;
}

/** Invariant 4: everything a write leaves behind (counts, and the last change of any key). */
async function storageFingerprint(): Promise<string> {
  // D1 is isolated per test file, so the totals cover both organizations and any a request
  // might wrongly write to; updated_at catches a rename or revocation that keeps the counts.
  const row = await env.DB.prepare(
    `SELECT (SELECT count(*) FROM api_keys) AS keys,
            (SELECT count(*) FROM api_keys WHERE status = 'active') AS active,
            (SELECT max(updated_at) FROM api_keys) AS lastChange,
            (SELECT count(*) FROM audit_entries) AS audit`,
  ).first();
  return JSON.stringify(row);
}

/** What the run did, to prove the generators reach every outcome (not only 401s). */
type Tally = {
  forwarded: Record<string, number>;
  keygateSuccess: number;
  refusedPath: number;
  refusedOther: number;
  byStatus: Record<number, number>;
};

// ---------------------------------------------------------------------------------------------

describe(`route fuzz (fast-check seed ${SEED}, ${NUM_RUNS} runs)`, () => {
  let world: World;

  beforeAll(async () => {
    world = await createWorld();
  });

  it('no 5xx, errors in the surface shape, nothing forwarded or written when refused, nothing leaked when forwarded', async () => {
    const origin = recordingOrigin();
    const tally: Tally = { forwarded: {}, keygateSuccess: 0, refusedPath: 0, refusedOther: 0, byStatus: {} };

    await fc.assert(
      fc.asyncProperty(requestSpec, async (spec) => {
        const request = buildRequest(spec, world);
        // The path Keygate routes on: the URL parser's (dot segments resolved), decoded.
        const keygatePath = looselyDecoded(new URL(request.url).pathname);
        const described = describeRequest(request, spec);
        const storageBefore = await storageFingerprint();
        const receivedBefore = origin.received.length;

        // send() is what callVia() uses (the ORIGIN binding replaced, waitUntil work awaited);
        // it takes a built Request, which duplicated headers and byte bodies need.
        const reply = await send(request, { ORIGIN: origin.fetcher });
        const reached = origin.received.slice(receivedBefore);
        if (reply.status === 201 && typeof reply.body?.key === 'string') await remember('project key', reply.body.key);

        const violations: string[] = [];
        // 1. Healthy storage, an origin that always answers: no 5xx is due.
        if (reply.status >= 500) violations.push(`answered ${reply.status}`);
        // 2. Errors in the surface's shape.
        if (reply.status >= 400 && request.method !== 'HEAD') violations.push(...errorShapeViolations(keygatePath, reply));
        // 3. Refused: nothing reached the origin. Forwarded: once, cleaned, with the right identity.
        if (reply.status >= 400 && reached.length > 0)
          violations.push(`refused with ${reply.status} but forwarded ${reached.length} request(s)`);
        if (reached.length > 1) violations.push(`forwarded ${reached.length} times`);
        if (reached.length === 1 && reply.headers.get('x-origin') !== 'recording')
          violations.push("forwarded, but the answer is not the origin's");
        for (const received of reached) violations.push(...forwardedViolations(received, keygatePath, request, world));
        // 4. Refused: nothing written.
        if (reply.status >= 400) {
          const storageAfter = await storageFingerprint();
          if (storageAfter !== storageBefore) violations.push(`a refused request changed storage: ${storageBefore} → ${storageAfter}`);
        }

        if (violations.length > 0) {
          throw new Error(`${violations.join('\n')}\nrequest: ${described}\nanswer: ${reply.status} ${reply.text.slice(0, 300)}`);
        }

        tally.byStatus[reply.status] = (tally.byStatus[reply.status] ?? 0) + 1;
        if (reached.length > 0) {
          const surface = keygatePath.split('/')[1] ?? '';
          tally.forwarded[surface] = (tally.forwarded[surface] ?? 0) + 1;
        } else if (reply.status < 400) tally.keygateSuccess++;
        else if (reply.body?.error?.message === 'invalid path' || reply.body?.error === 'invalid path') tally.refusedPath++;
        else tally.refusedOther++;
      }),
      { seed: SEED, numRuns: NUM_RUNS },
    );

    // The generators reach every kind of outcome: forwarded on all three gateway surfaces,
    // answered by Keygate (writes among them, which invariant 4 must tell from refusals),
    // refused for the path, refused otherwise.
    expect(tally.forwarded, JSON.stringify(tally)).toEqual({ v1: expect.any(Number), app: expect.any(Number), api: expect.any(Number) });
    expect(tally.keygateSuccess, JSON.stringify(tally)).toBeGreaterThan(0);
    expect(tally.byStatus[201] ?? 0, JSON.stringify(tally)).toBeGreaterThan(0);
    expect(tally.refusedPath, JSON.stringify(tally)).toBeGreaterThan(0);
    expect(tally.refusedOther, JSON.stringify(tally)).toBeGreaterThan(0);
  }, 120_000);

  it('the direct path answers every GET exactly as the router does (status, headers, body, what the origin receives)', async () => {
    // Budgets far out of reach: the two answers of a pair must not straddle a budget's end.
    const send = bothPaths({ ORG_RATE_LIMIT: '1000000/60s', PROJECT_RATE_LIMIT: '1000000/60s' });
    let forwarded = 0;
    await fc.assert(
      fc.asyncProperty(
        requestSpec.map((spec): RequestSpec => ({ ...spec, method: 'GET', body: { kind: 'none' } })),
        async (spec) => {
          const { direct, routed } = await send(() => buildRequest(spec, world));
          if (direct.comparable !== routed.comparable) {
            throw new Error(
              `request: ${describeRequest(buildRequest(spec, world), spec)}\ndirect: ${direct.comparable}\nrouter: ${routed.comparable}`,
            );
          }
          if (direct.received.length > 0) forwarded++;
        },
      ),
      { seed: SEED, numRuns: DIFFERENTIAL_RUNS },
    );
    // The generators reach forwarded requests too, not only refusals.
    expect(forwarded).toBeGreaterThan(0);
  }, 120_000);
});
