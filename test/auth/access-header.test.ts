// Cloudflare Access: with JWT_JWKS_URL set, the Cf-Access-Jwt-Assertion header that Access adds to
// every request counts as the admin JWT, verified exactly like a Bearer token; without it, the
// header means nothing. Requests go to the Worker with a modified env (callWith).
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { INVALID_PAIR_BODY, INVALID_TOKEN_ORG_BODY } from '../support/auth-suite';
import { keyRow } from '../support/db';
import { bearer, createOrgKey, pairHeaders, type Reply, randomId, remember } from '../support/fixtures';
import { recordingOrigin } from '../support/origin';
import { ADMIN_REQUIRED_BODY, INVALID_TOKEN_PROJECT_BODY, keysPath, NOT_FOUND_BODY, newProject } from '../support/project';
import { hsToken, inAnHour, rsToken, TEST_PRIVATE_JWK } from '../support/tokens';
import { callWith } from '../support/worker';

const withJwks: Partial<Env> = { JWT_JWKS_URL: env.TEST_JWKS_URL };

const claimsFor = (org: string, extra: Record<string, unknown> = {}) => ({
  sub: 'access|carol',
  org,
  role: 'admin',
  exp: inAnHour(),
  ...extra,
});

/** An identity token as Access would sign it: RS256 with the key the test JWKS publishes. */
const accessToken = rsToken;

function assertion(jwt: string): Record<string, string> {
  return { 'cf-access-jwt-assertion': jwt };
}

/** What a browser adds to a request from the console's own page. */
const SAME_ORIGIN = { 'sec-fetch-site': 'same-origin' };

function expectPairRefused(res: Reply) {
  expect(res.status, res.text).toBe(401);
  expect(res.body).toEqual(INVALID_PAIR_BODY);
}

describe('with JWT_JWKS_URL set, the Access assertion is the admin JWT', () => {
  it('lists and creates organization keys, recording the sub as createdBy', async () => {
    const org = randomId();
    const headers = { ...assertion(await accessToken(claimsFor(org))), ...SAME_ORIGIN };
    const created = await callWith(withJwks, 'POST', '/v1/keys', { headers, body: { name: 'through Access' } });
    expect(created.status, created.text).toBe(201);
    await remember('organization secret', created.body.data.apiKey);
    expect(created.body.data.createdBy).toBe('access|carol');
    expect(await keyRow(created.body.data.id)).toMatchObject({ organization_id: org, created_by: 'access|carol' });

    const listed = await callWith(withJwks, 'GET', '/v1/keys', { headers });
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body.data.map((k: { id: string }) => k.id)).toEqual([created.body.data.id]);
  });

  it('manages project keys and reads the audit log', async () => {
    const p = newProject();
    const headers = { ...assertion(await accessToken(claimsFor(p.org))), ...SAME_ORIGIN };
    const created = await callWith(withJwks, 'POST', keysPath(p), { headers, body: { name: 'web' } });
    expect(created.status, created.text).toBe(201);
    const revoked = await callWith(withJwks, 'PUT', keysPath(p, created.body.id), { headers, body: { status: 'revoked' } });
    expect(revoked.status, revoked.text).toBe(200);
    const audit = await callWith(withJwks, 'GET', `/app/v1/organizations/${p.org}/audit-log`, { headers });
    expect(audit.status, audit.text).toBe(200);
    expect(audit.body.data.map((e: { action: string }) => e.action)).toEqual(['revoked', 'created']);
    expect(audit.body.data[0].actor).toEqual({ type: 'user', id: 'access|carol' });
  });

  it('is passed on to the origin as the identity, never as the header itself', async () => {
    const org = randomId();
    const origin = recordingOrigin();
    const res = await callWith({ ...withJwks, ORIGIN: origin.fetcher }, 'GET', `/app/v1/organizations/${org}/projects/web/content`, {
      headers: assertion(await accessToken(claimsFor(org))),
    });
    expect(res.status, res.text).toBe(200);
    expect(origin.received[0]!.headers).toMatchObject({
      'x-keygate-org-id': org,
      'x-keygate-user-id': 'access|carol',
      'x-keygate-role': 'admin',
    });
    expect(origin.received[0]!.headers['cf-access-jwt-assertion']).toBeUndefined();
  });
});

describe('the Access assertion is verified exactly like a Bearer token', () => {
  const refusals: Array<[string, () => Promise<string>]> = [
    ['an expired token', () => accessToken(claimsFor(randomId(), { exp: Math.floor(Date.now() / 1000) - 5 }))],
    ['a token without the org claim', () => accessToken({ sub: 'access|carol', role: 'admin', exp: inAnHour() })],
    [
      'a token with a kid the JWKS does not publish',
      () => accessToken(claimsFor(randomId()), { ...TEST_PRIVATE_JWK, kid: 'not-published' }),
    ],
    ['an HS256 token signed with JWT_SECRET', () => hsToken(claimsFor(randomId()))],
    ['garbage', async () => 'not.a.jwt'],
  ];
  for (const [label, make] of refusals) {
    it(`refuses ${label}, on both surfaces, the same way as a Bearer token`, async () => {
      const jwt = await make();
      const asHeader = await callWith(withJwks, 'GET', '/v1/keys', { headers: assertion(jwt) });
      const asBearer = await callWith(withJwks, 'GET', '/v1/keys', { headers: bearer(jwt) });
      expect(asHeader.status, asHeader.text).toBe(401);
      expect(asHeader.body).toEqual(INVALID_TOKEN_ORG_BODY);
      expect(asHeader.body).toEqual(asBearer.body);

      const project = await callWith(withJwks, 'GET', keysPath(newProject()), { headers: assertion(jwt) });
      expect(project.status, project.text).toBe(401);
      expect(project.body).toEqual(INVALID_TOKEN_PROJECT_BODY);
    });
  }

  it('enforces JWT_ISSUER and JWT_AUDIENCE (Access: the team domain and the application AUD tag)', async () => {
    const settings = { ...withJwks, JWT_ISSUER: 'https://team.cloudflareaccess.com', JWT_AUDIENCE: 'aud-tag-123' };
    const good = { iss: 'https://team.cloudflareaccess.com', aud: ['aud-tag-123'] };
    const ok = await callWith(settings, 'GET', '/v1/keys', { headers: assertion(await accessToken(claimsFor(randomId(), good))) });
    expect(ok.status, ok.text).toBe(200);
    const otherApp = await callWith(settings, 'GET', '/v1/keys', {
      headers: assertion(await accessToken(claimsFor(randomId(), { ...good, aud: ['another-app'] }))),
    });
    expect(otherApp.status, otherApp.text).toBe(401);
  });

  it('gives a member read access only: writes answer 403 on both surfaces', async () => {
    const p = newProject();
    const headers = { ...assertion(await accessToken(claimsFor(p.org, { role: 'member' }))), ...SAME_ORIGIN };
    expect((await callWith(withJwks, 'GET', '/v1/keys', { headers })).status).toBe(200);
    const orgWrite = await callWith(withJwks, 'POST', '/v1/keys', { headers, body: { name: 'nope' } });
    expect(orgWrite.status, orgWrite.text).toBe(403);
    expect(orgWrite.body).toEqual({ error: 'admin role required' });
    const projectWrite = await callWith(withJwks, 'POST', keysPath(p), { headers, body: { name: 'nope' } });
    expect(projectWrite.status, projectWrite.text).toBe(403);
    expect(projectWrite.body).toEqual(ADMIN_REQUIRED_BODY);
  });

  it('finds nothing of another organization (404)', async () => {
    const headers = assertion(await accessToken(claimsFor(randomId())));
    const res = await callWith(withJwks, 'GET', keysPath(newProject()), { headers });
    expect(res.status, res.text).toBe(404);
    expect(res.body).toEqual(NOT_FOUND_BODY);
  });

  it('fails closed with 503 when the JWKS cannot be fetched', async () => {
    const res = await callWith({ JWT_JWKS_URL: 'https://jwks.unreachable.test/keys' }, 'GET', '/v1/keys', {
      headers: assertion(await accessToken(claimsFor(randomId()))),
    });
    expect(res.status, res.text).toBe(503);
  });
});

describe('which credential a request is judged by', () => {
  it('ignores the header entirely when JWT_JWKS_URL is not set, even with a token JWT_SECRET would accept', async () => {
    const p = newProject();
    const jwt = await hsToken(claimsFor(p.org));
    expect((await callWith({}, 'GET', '/v1/keys', { headers: bearer(jwt) })).status, 'the same token as Bearer').toBe(200);
    expectPairRefused(await callWith({}, 'POST', '/v1/keys', { headers: assertion(jwt), body: { name: 'x' } }));
    const project = await callWith({}, 'GET', keysPath(p), { headers: assertion(jwt) });
    expect(project.status, project.text).toBe(401);
    expect(project.body).toEqual(INVALID_TOKEN_PROJECT_BODY);
  });

  it('judges a request with an Authorization header by that header alone', async () => {
    const org = randomId();
    const good = assertion(await accessToken(claimsFor(org)));
    const badBearer = await callWith(withJwks, 'GET', '/v1/keys', { headers: { ...good, authorization: 'Bearer not.a.jwt' } });
    expect(badBearer.status, badBearer.text).toBe(401);
    const notBearer = await callWith(withJwks, 'GET', keysPath(newProject(org)), {
      headers: { ...good, authorization: 'Basic YWxpY2U6cHc=' },
    });
    expect(notBearer.status, notBearer.text).toBe(401);
    const member = await callWith(withJwks, 'POST', '/v1/keys', {
      headers: { ...good, ...SAME_ORIGIN, authorization: `Bearer ${await accessToken(claimsFor(org, { role: 'member' }))}` },
      body: { name: 'x' },
    });
    expect(member.status, 'the member Bearer token decides, not the admin assertion').toBe(403);
  });

  it('judges a request with a key header as a key pair only', async () => {
    const org = randomId();
    const pair = await createOrgKey(org);
    const good = assertion(await accessToken(claimsFor(org)));
    expectPairRefused(await callWith(withJwks, 'GET', '/v1/keys', { headers: { ...good, 'x-metal-client-id': pair.clientId } }));
    const both = await callWith(withJwks, 'GET', '/v1/keys', { headers: { ...good, ...pairHeaders(pair) } });
    expect(both.status, both.text).toBe(200);
  });
});

describe('cross-site requests (the assertion comes from a cookie the browser sends anywhere)', () => {
  for (const site of ['cross-site', 'same-site']) {
    it(`refuses a ${site} write authenticated by the assertion, and writes nothing`, async () => {
      const p = newProject();
      const headers = { ...assertion(await accessToken(claimsFor(p.org))), 'sec-fetch-site': site };
      const org = await callWith(withJwks, 'POST', '/v1/keys', { headers, body: { name: 'forged' } });
      expect(org.status, org.text).toBe(403);
      expect(org.body).toEqual({ error: 'cross-site request refused' });
      const project = await callWith(withJwks, 'POST', keysPath(p), { headers, body: { name: 'forged' } });
      expect(project.status, project.text).toBe(403);
      expect(project.body).toEqual({ error: { code: 'FORBIDDEN', message: 'cross-site request refused' } });
      const { results } = await env.DB.prepare('SELECT id FROM api_keys WHERE organization_id = ?1').bind(p.org).all();
      expect(results).toEqual([]);
    });
  }

  it('allows same-origin writes, reads from anywhere, and clients that send no Sec-Fetch-Site', async () => {
    const org = randomId();
    const jwt = await accessToken(claimsFor(org));
    const write = (site?: string) =>
      callWith(withJwks, 'POST', '/v1/keys', {
        headers: { ...assertion(jwt), ...(site ? { 'sec-fetch-site': site } : {}) },
        body: { name: `w-${site}` },
      });
    for (const site of ['same-origin', 'none', undefined]) {
      const res = await write(site);
      expect(res.status, `${site}: ${res.text}`).toBe(201);
      await remember('organization secret', res.body.data.apiKey);
    }
    const read = await callWith(withJwks, 'GET', '/v1/keys', { headers: { ...assertion(jwt), 'sec-fetch-site': 'cross-site' } });
    expect(read.status, read.text).toBe(200);
  });

  it('leaves Bearer tokens alone: they are never sent by a browser on its own', async () => {
    const org = randomId();
    const res = await callWith(withJwks, 'POST', '/v1/keys', {
      headers: { ...bearer(await accessToken(claimsFor(org))), 'sec-fetch-site': 'cross-site' },
      body: { name: 'explicit' },
    });
    expect(res.status, res.text).toBe(201);
    await remember('organization secret', res.body.data.apiKey);
  });
});
