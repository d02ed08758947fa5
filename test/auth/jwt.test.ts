// Admin JWTs: HS256 with JWT_SECRET, RS256 against the JWKS at JWT_JWKS_URL, and the issuer and
// audience checks. Requests with JWKS or issuer settings go to the Worker with a modified env.
import { env } from 'cloudflare:workers';
import type { HonoJsonWebKey } from 'hono/utils/jwt/jws';
import { describe, expect, it } from 'vitest';
import { verifyAdminJwt } from '../../src/auth/jwt';
import { type Config, configOf } from '../../src/env';
import { INVALID_TOKEN_ORG_BODY } from '../support/auth-suite';
import { keyRow } from '../support/db';
import { bearer, call, type Reply, randomId } from '../support/fixtures';
import { hsToken, inAnHour, rsToken, TEST_PRIVATE_JWK } from '../support/tokens';
import { callWith } from '../support/worker';

const withJwks = { JWT_JWKS_URL: env.TEST_JWKS_URL };

const claimsFor = (org: string, extra: Record<string, unknown> = {}) => ({ sub: 'idp|bob', org, role: 'admin', exp: inAnHour(), ...extra });

/** A fresh RS256 private JWK that the test JWKS does not publish. */
async function strangerJwk(kid: string): Promise<HonoJsonWebKey> {
  const pair = (await crypto.subtle.generateKey(
    { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    true,
    ['sign', 'verify'],
  )) as CryptoKeyPair;
  return { ...((await crypto.subtle.exportKey('jwk', pair.privateKey)) as HonoJsonWebKey), kid, alg: 'RS256' };
}

function createKey(overrides: Partial<Env>, jwt: string): Promise<Reply> {
  return callWith(overrides, 'POST', '/v1/keys', { headers: bearer(jwt), body: { name: 'from a JWT' } });
}

function expectRefused(res: Reply) {
  expect(res.status, res.text).toBe(401);
  expect(res.body).toEqual(INVALID_TOKEN_ORG_BODY);
}

describe('HS256 with JWT_SECRET', () => {
  it('accepts a token signed with the secret and records its sub as createdBy', async () => {
    const org = randomId();
    const res = await call('POST', '/v1/keys', {
      headers: bearer(await hsToken(claimsFor(org, { sub: 'user_42' }))),
      body: { name: 'hs' },
    });
    expect(res.status, res.text).toBe(201);
    expect(res.body.data.createdBy).toBe('user_42');
    expect(await keyRow(res.body.data.id)).toMatchObject({ organization_id: org, created_by: 'user_42' });
  });

  it('accepts the Bearer scheme in any case', async () => {
    const org = randomId();
    const jwt = await hsToken(claimsFor(org));
    const res = await call('GET', '/v1/keys', { headers: { authorization: `bearer ${jwt}` } });
    expect(res.status, res.text).toBe(200);
  });

  it('refuses an RS256 token when no JWKS is configured', async () => {
    const res = await createKey({}, await rsToken(claimsFor(randomId())));
    expectRefused(res);
  });

  it('refuses a token that is not yet valid (nbf in the future)', async () => {
    const res = await createKey({}, await hsToken(claimsFor(randomId(), { nbf: inAnHour() })));
    expectRefused(res);
  });
});

describe('RS256 against the JWKS at JWT_JWKS_URL', () => {
  it('accepts a token signed by a key of the JWKS', async () => {
    const org = randomId();
    const res = await createKey(withJwks, await rsToken(claimsFor(org)));
    expect(res.status, res.text).toBe(201);
    expect(res.body.data.createdBy).toBe('idp|bob');
    expect(await keyRow(res.body.data.id)).toMatchObject({ organization_id: org });
  });

  it('reads org and role from `custom` (Cloudflare Access passes IdP claims there)', async () => {
    const org = randomId();
    const access = { sub: 'access|carol', email: 'carol@example.test', exp: inAnHour(), custom: { org, role: 'admin' } };
    const res = await createKey(withJwks, await rsToken(access));
    expect(res.status, res.text).toBe(201);
    expect(await keyRow(res.body.data.id)).toMatchObject({ organization_id: org, created_by: 'access|carol' });
    const member = await createKey(withJwks, await rsToken({ ...access, custom: { org, role: 'member' } }));
    expect(member.status, member.text).toBe(403);
    const top = await createKey(withJwks, await rsToken({ ...access, org: randomId(), role: 'member', custom: { org, role: 'admin' } }));
    expect(top.status, 'top-level claims win over custom ones').toBe(403);
    expectRefused(await createKey(withJwks, await rsToken({ ...access, custom: { org } })));
  });

  it('refuses a token whose kid the JWKS does not have', async () => {
    const res = await createKey(withJwks, await rsToken(claimsFor(randomId()), { ...TEST_PRIVATE_JWK, kid: 'not-published' }));
    expectRefused(res);
  });

  it('refuses a token signed by a key not in the JWKS, even under a published kid', async () => {
    const res = await createKey(withJwks, await rsToken(claimsFor(randomId()), await strangerJwk('test-key-1')));
    expectRefused(res);
  });

  it('refuses a token signed by a key not in the JWKS under its own kid', async () => {
    const res = await createKey(withJwks, await rsToken(claimsFor(randomId()), await strangerJwk('stranger')));
    expectRefused(res);
  });

  it('refuses an HS256 token signed with JWT_SECRET once a JWKS is configured', async () => {
    expect(env.JWT_SECRET, 'the test env must still hold the secret for this case to mean anything').toBeTruthy();
    const res = await createKey(withJwks, await hsToken(claimsFor(randomId())));
    expectRefused(res);
  });

  it('refuses an expired RS256 token', async () => {
    const res = await createKey(withJwks, await rsToken(claimsFor(randomId(), { exp: Math.floor(Date.now() / 1000) - 5 })));
    expectRefused(res);
  });

  it('refuses an RS256 token without the org claim', async () => {
    const { org: _org, ...claims } = claimsFor(randomId());
    const res = await createKey(withJwks, await rsToken(claims));
    expectRefused(res);
  });

  it('enforces the member role with a JWKS token too', async () => {
    const res = await createKey(withJwks, await rsToken(claimsFor(randomId(), { role: 'member' })));
    expect(res.status, res.text).toBe(403);
    expect(res.body).toEqual({ error: 'admin role required' });
  });

  it('fails closed with 503 (not a bad-token 401) when the JWKS cannot be fetched', async () => {
    const org = randomId();
    const res = await createKey({ JWT_JWKS_URL: 'https://jwks.unreachable.test/keys' }, await rsToken(claimsFor(org)));
    expect(res.status, res.text).toBe(503);
    expect(res.body).toEqual({ error: 'the identity provider could not be reached', requestId: expect.any(String) });
    const { results } = await env.DB.prepare('SELECT id FROM api_keys WHERE organization_id = ?1').bind(org).all();
    expect(results).toEqual([]);
  });
});

describe('JWT_ISSUER and JWT_AUDIENCE', () => {
  const issuerAndAudience = { JWT_ISSUER: 'https://idp.keygate.test/', JWT_AUDIENCE: 'keygate-api' };
  const good = { iss: 'https://idp.keygate.test/', aud: 'keygate-api' };

  it('accept a token with the configured issuer and audience', async () => {
    const res = await createKey(issuerAndAudience, await hsToken(claimsFor(randomId(), good)));
    expect(res.status, res.text).toBe(201);
  });

  it('accept an audience list that contains the configured audience', async () => {
    const res = await createKey(issuerAndAudience, await hsToken(claimsFor(randomId(), { ...good, aud: ['other', 'keygate-api'] })));
    expect(res.status, res.text).toBe(201);
  });

  const refused: Array<[string, Record<string, unknown>]> = [
    ['a missing issuer', { aud: good.aud }],
    ['another issuer', { ...good, iss: 'https://evil.test/' }],
    ['a missing audience', { iss: good.iss }],
    ['another audience', { ...good, aud: 'someone-else' }],
  ];
  for (const [label, extra] of refused) {
    it(`refuse ${label}`, async () => {
      const res = await createKey(issuerAndAudience, await hsToken(claimsFor(randomId(), extra)));
      expectRefused(res);
    });
  }

  it('are enforced on JWKS tokens as well', async () => {
    const settings = { ...withJwks, ...issuerAndAudience };
    expect((await createKey(settings, await rsToken(claimsFor(randomId(), good)))).status).toBe(201);
    expectRefused(await createKey(settings, await rsToken(claimsFor(randomId(), { ...good, iss: 'https://evil.test/' }))));
    expectRefused(await createKey(settings, await rsToken(claimsFor(randomId(), { ...good, aud: 'someone-else' }))));
  });

  it('are not required when unset', async () => {
    const res = await createKey({}, await hsToken(claimsFor(randomId(), { iss: 'https://anyone.test/', aud: 'anything' })));
    expect(res.status, res.text).toBe(201);
  });
});

describe('verifyAdminJwt', () => {
  const config: Config = { ...configOf(env), jwksUrl: undefined, jwtIssuer: undefined, jwtAudience: undefined };

  it('returns the user of a valid token', async () => {
    const org = randomId();
    expect(await verifyAdminJwt(await hsToken(claimsFor(org, { role: 'member' })), config)).toEqual({
      ok: true,
      user: { type: 'user', userId: 'idp|bob', organizationId: org, role: 'member' },
    });
  });

  it('tells a bad signature from bad claims, and never throws', async () => {
    expect(await verifyAdminJwt(await hsToken(claimsFor(randomId()), 'another-secret-of-sufficient-length-0000'), config)).toEqual({
      ok: false,
      reason: 'invalid',
    });
    expect(await verifyAdminJwt(await hsToken(claimsFor(randomId(), { role: 'root' })), config)).toEqual({ ok: false, reason: 'claims' });
    expect(await verifyAdminJwt(await hsToken(claimsFor('x'.repeat(65))), config)).toEqual({ ok: false, reason: 'claims' });
    expect(await verifyAdminJwt(await hsToken(claimsFor(randomId(), { sub: '' })), config)).toEqual({ ok: false, reason: 'claims' });
    for (const garbage of ['', '.', '..', 'a.b.c', '%%%.%%%.%%%']) {
      expect(await verifyAdminJwt(garbage, config), garbage).toEqual({ ok: false, reason: 'invalid' });
    }
  });

  it('refuses everything when neither a secret nor a JWKS is configured', async () => {
    const jwt = await hsToken(claimsFor(randomId()));
    expect(await verifyAdminJwt(jwt, { ...config, jwtSecret: undefined })).toEqual({ ok: false, reason: 'invalid' });
  });
});

describe('claims Keygate writes into records and headers', () => {
  const now = () => Math.floor(Date.now() / 1000);

  // Each refused on every surface that reads admin JWTs: the key routes, the project routes and
  // the /app/v1 gateway (where a newline in sub once became a 500 building x-keygate-user-id).
  const unsafe: Array<[string, Record<string, unknown>]> = [
    ['a sub with a newline', { sub: 'alice\nx-keygate-role: admin' }],
    ['a sub with a carriage return', { sub: 'alice\r' }],
    ['a sub with a space', { sub: 'alice smith' }],
    ['a sub with a quote', { sub: 'alice"' }],
    ['a sub with a non-ASCII letter', { sub: 'ålice' }],
    ['a sub with a bidi override', { sub: 'alice\u202e' }],
    ['a sub that reads as a key', { sub: 'key:key_3bXq9v0cTn2LkR8pWm4sYd7e' }],
    ['a sub that reads as a key, upper case', { sub: 'KEY:key_x' }],
    ['a sub of 257 characters', { sub: 'u'.repeat(257) }],
    ['an org with a slash', { org: 'acme/globex' }],
    ['an exp that is not finite', { exp: 1e308 * 10 }],
    ['an exp far in the future', { exp: 1e308 }],
    ['an exp a year away', { exp: now() + 366 * 86_400 }],
    ['an iat and exp 25 hours apart', { iat: now() - 3600, exp: now() + 24 * 3600 }],
  ];

  for (const [label, claims] of unsafe) {
    it(`refuses ${label} with 401 on every surface, and writes nothing`, async () => {
      const org = randomId();
      const jwt = await hsToken(claimsFor(org, claims));
      const before = await env.DB.prepare('SELECT count(*) AS n FROM audit_entries WHERE organization_id = ?1')
        .bind(org)
        .first<{ n: number }>();
      expectRefused(await call('POST', '/v1/keys', { headers: bearer(jwt), body: { name: 'x' } }));
      const projectSurface = [
        await call('POST', `/app/v1/organizations/${org}/projects/p/api-keys`, { headers: bearer(jwt), body: { name: 'x' } }),
        await call('GET', `/app/v1/organizations/${org}/projects/p/content`, { headers: bearer(jwt) }),
      ];
      for (const res of projectSurface) {
        expect(res.status, res.text).toBe(401);
        expect(res.body).toEqual({ error: { code: 'UNAUTHORIZED', message: 'invalid or expired token' } });
      }
      const after = await env.DB.prepare('SELECT count(*) AS n FROM audit_entries WHERE organization_id = ?1')
        .bind(org)
        .first<{ n: number }>();
      expect(after?.n).toBe(before?.n);
    });
  }

  const safe: Array<[string, Record<string, unknown>]> = [
    ['an OIDC subject with a pipe', { sub: 'auth0|5f7c8ec7c33c6c004bbafe82' }],
    ['an e-mail address', { sub: 'alice+keys@example.com' }],
    ['a UUID', { sub: crypto.randomUUID() }],
    ['a URN', { sub: 'urn:example:user:42' }],
    ['a sub that merely contains key:', { sub: 'monkey:1' }],
    ['a 24-hour token', { iat: now(), exp: now() + 24 * 3600 }],
  ];
  for (const [label, claims] of safe) {
    it(`accepts ${label}, recorded as createdBy exactly`, async () => {
      const org = randomId();
      const res = await call('POST', '/v1/keys', { headers: bearer(await hsToken(claimsFor(org, claims))), body: { name: 'ok' } });
      expect(res.status, res.text).toBe(201);
      expect(res.body.data.createdBy).toBe(claims.sub ?? 'idp|bob');
    });
  }

  it('caps the lifetime at JWT_MAX_LIFETIME_SECONDS (configurable)', async () => {
    const org = randomId();
    const twoHours = await hsToken(claimsFor(org, { iat: now(), exp: now() + 7200 }));
    expect((await createKey({ JWT_MAX_LIFETIME_SECONDS: '3600' }, twoHours)).status).toBe(401);
    expect((await createKey({ JWT_MAX_LIFETIME_SECONDS: '7200' }, twoHours)).status).toBe(201);
  });
});
