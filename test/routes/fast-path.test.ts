// The direct path (src/routes/fast-path.ts): which requests it takes, and that each of them gets
// exactly the router's answer (status, every header, body, what the origin receives), for every
// outcome a hot route has: forwarded, refused key, missing key, scope, policy, budget, throttle,
// origin down, no origin, broken configuration. The route fuzz (test/fuzz/routes.fuzz.test.ts)
// compares the two paths on random GET requests too.
import { describe, expect, it } from 'vitest';
import { createApp, ownedRouteTemplates } from '../../src/app';
import { generateKey } from '../../src/keys/format';
import { directRoute } from '../../src/routes/fast-path';
import { ownedPathMatcher } from '../../src/routes/gateway';
import { bothPaths } from '../support/both-paths';
import { buildRequest, type CallInit, createOrgKey, pairHeaders, randomId, revokeOrgKey, withAlteredChecksum } from '../support/fixtures';
import { throwingOrigin } from '../support/origin';
import { apiKeyHeaders, clientPath, createProjectKey, newProject, postProjectKey } from '../support/project';

// As createApp builds it.
const isOwned = ownedPathMatcher(ownedRouteTemplates(createApp({ directPath: false }).routes));

describe('which requests take the direct path', () => {
  const client = '/api/v1/organizations/org_1/projects/prj_1';
  it.each([
    ['GET', '/v1/companies', 'org'],
    ['GET', '/v1/companies/cmp_1/notes', 'org'],
    ['GET', `${client}/content`, 'client'],
    ['GET', `${client}/saved-searches/s1/execute`, 'client'],
    ['GET', `${client}/settings`, 'client'],
    // Keygate's own routes, in any case, and what is not a gateway path at all: the router.
    ['GET', '/v1/keys', null],
    ['GET', '/v1/keys/key_1', null],
    ['GET', '/V1/KEYS', null],
    ['GET', '/v1/secret-scanning/github', null],
    ['GET', '/V1/companies', null],
    ['GET', '/app/v1/organizations/org_1/projects', null],
    ['GET', '/app/v1/organizations/org_1/reports', null],
    ['GET', '/health', null],
    ['GET', '/openapi.json', null],
    ['GET', client, null],
    // Other methods (bodies need the router's limit; HEAD its body stripping).
    ['HEAD', '/v1/companies', null],
    ['POST', '/v1/companies', null],
    ['OPTIONS', `${client}/content`, null],
    ['POST', `${client}/saved-searches/s1/execute`, null],
    // Paths that need decoding or that the path guard refuses.
    ['GET', '/v1/comp%61nies', null],
    ['GET', '/v1/companies%2Fx', null],
    ['GET', '/v1/companies/', null],
    ['GET', '/v1//companies', null],
    ['GET', '/v1/companies/..;/keys', null],
    ['GET', `${client}/content;x`, null],
  ])('%s %s → %s', (method, path, taken) => {
    const route = directRoute(method, path, isOwned);
    if (taken === null) expect(route).toBeUndefined();
    else expect(route?.cors).toBe(taken === 'client');
  });
});

type Case = {
  name: string;
  status: number;
  /** Sets the world up; returns the request (sent twice: once per path) and the env overrides. */
  arrange: () => Promise<{ path: string; init?: CallInit; overrides?: Partial<Env>; warmUp?: boolean }>;
};

/** A project key with a budget of its own of `requests` a day, in a project of its own. */
async function projectKeyWithBudget(requests: number) {
  const p = newProject();
  const res = await postProjectKey(p, { name: randomId('key'), rateLimit: { requests, windowSeconds: 86_400 } });
  expect(res.status, res.text).toBe(201);
  return { p, key: res.body.key as string };
}

const forgedIp = () => `198.51.100.${Math.floor(Math.random() * 250) + 1}`;

/** An AUTH_FAILURES binding that says every IP is past its limit. */
const exhaustedLimiter = { limit: async () => ({ success: false }) } as unknown as RateLimit;

const CASES: Case[] = [
  {
    name: 'hot organization key: forwarded with its identity, method override stripped',
    status: 200,
    arrange: async () => {
      const pair = await createOrgKey(randomId(), 'direct');
      return {
        path: '/v1/companies/cmp_1?limit=5&_method=DELETE',
        init: { headers: { ...pairHeaders(pair), accept: 'application/json' } },
      };
    },
  },
  {
    name: 'organization key without its secret: 401 with the challenge',
    status: 401,
    arrange: async () => {
      const pair = await createOrgKey(randomId(), 'direct');
      return { path: '/v1/companies', init: { headers: { 'x-metal-client-id': pair.clientId } } };
    },
  },
  {
    name: 'no credentials at all on the organization gateway: 401 with the challenge',
    status: 401,
    arrange: async () => ({ path: '/v1/companies' }),
  },
  {
    name: 'organization secret with a bad checksum: 401',
    status: 401,
    arrange: async () => {
      const pair = await createOrgKey(randomId(), 'direct');
      return { path: '/v1/companies', init: { headers: pairHeaders({ ...pair, apiKey: withAlteredChecksum(pair.apiKey) }) } };
    },
  },
  {
    name: 'revoked organization key: 401',
    status: 401,
    arrange: async () => {
      const pair = await createOrgKey(randomId(), 'direct');
      await revokeOrgKey(pair);
      return { path: '/v1/companies', init: { headers: pairHeaders(pair) } };
    },
  },
  {
    name: 'scoped organization key without api:read: 403 naming it',
    status: 403,
    arrange: async () => {
      const pair = await createOrgKey(randomId(), 'direct', { permissions: ['keys:read'] });
      return { path: '/v1/companies', init: { headers: pairHeaders(pair) } };
    },
  },
  {
    name: 'organization key past its own budget: 429 with the rate-limit headers',
    status: 429,
    arrange: async () => {
      const pair = await createOrgKey(randomId(), 'direct', { rateLimit: { requests: 1, windowSeconds: 86_400 } });
      return { path: '/v1/companies', init: { headers: pairHeaders(pair) }, warmUp: true };
    },
  },
  {
    name: 'hot project key: forwarded, readable by the page, budget headers',
    status: 200,
    arrange: async () => {
      const p = newProject();
      const key = await createProjectKey(p, 'direct');
      return { path: `${clientPath(p, 'content')}?status=published`, init: { headers: apiKeyHeaders(key.key) } };
    },
  },
  {
    name: "project key on another project's path: 401",
    status: 401,
    arrange: async () => {
      const key = await createProjectKey(newProject(), 'direct');
      return { path: clientPath(newProject(), 'content'), init: { headers: apiKeyHeaders(key.key) } };
    },
  },
  {
    name: 'organization key on the client routes: 401',
    status: 401,
    arrange: async () => {
      const pair = await createOrgKey(randomId(), 'direct');
      return { path: clientPath(newProject(pair.organizationId), 'content'), init: { headers: { 'x-api-key': pair.apiKey } } };
    },
  },
  {
    name: 'project key on a resource API keys may not read: 403',
    status: 403,
    arrange: async () => {
      const p = newProject();
      const key = await createProjectKey(p, 'direct');
      return { path: clientPath(p, 'settings'), init: { headers: apiKeyHeaders(key.key) } };
    },
  },
  {
    name: 'project key past its own budget: 429 RATE_LIMITED with retryAfter',
    status: 429,
    arrange: async () => {
      const { p, key } = await projectKeyWithBudget(1);
      return { path: clientPath(p, 'content'), init: { headers: apiKeyHeaders(key) }, warmUp: true };
    },
  },
  {
    name: 'forged keys from a throttled IP: 429 without a storage read',
    status: 429,
    arrange: async () => ({
      path: clientPath(newProject(), 'content'),
      init: { headers: { ...apiKeyHeaders(generateKey('project')), 'cf-connecting-ip': forgedIp() } },
      overrides: { AUTH_FAILURES: exhaustedLimiter },
      warmUp: true,
    }),
  },
  {
    name: 'origin unreachable: 502 with the request id',
    status: 502,
    arrange: async () => {
      const pair = await createOrgKey(randomId(), 'direct');
      return { path: '/v1/companies', init: { headers: pairHeaders(pair) }, overrides: { ORIGIN: throwingOrigin() } };
    },
  },
  {
    name: 'no origin configured: 503 with Retry-After',
    status: 503,
    arrange: async () => {
      const p = newProject();
      const key = await createProjectKey(p, 'direct');
      return {
        path: clientPath(p, 'content'),
        init: { headers: apiKeyHeaders(key.key) },
        overrides: { ORIGIN: undefined as unknown as Fetcher, ORIGIN_URL: '' },
      };
    },
  },
  {
    name: 'broken configuration: 500 with the request id, CORS kept on the client routes',
    status: 500,
    arrange: async () => {
      const p = newProject();
      const key = await createProjectKey(p, 'direct');
      return { path: clientPath(p, 'content'), init: { headers: apiKeyHeaders(key.key) }, overrides: { JWT_SECRET: '' } };
    },
  },
];

describe('the direct path answers as the router does', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, testCase) => {
    const { path, init, overrides, warmUp } = await testCase.arrange();
    const send = bothPaths(overrides);
    // A warm-up spends the budget (or sets off the throttle) on both paths first.
    if (warmUp) await send(() => buildRequest('GET', path, init));
    const { direct, routed } = await send(() => buildRequest('GET', path, init));
    expect(direct.reply.status, direct.reply.text).toBe(testCase.status);
    expect(direct.comparable).toBe(routed.comparable);
    // Keygate's own answers carry its request id; forwarded ones are the origin's.
    const ownAnswer = direct.received.length === 0;
    expect(direct.reply.headers.has('x-request-id')).toBe(ownAnswer);
    expect(direct.received.length).toBe(testCase.status === 200 ? 1 : 0);
  });
});
