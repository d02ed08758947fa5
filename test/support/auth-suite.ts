// The security suite every protected management route runs, on both surfaces: on /v1/keys
// missing, malformed, wrong, revoked and foreign key pairs; everywhere bad admin JWTs, the member
// role and tokens of another organization. Each refusal must leave D1 untouched.
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { generateKey } from '../../src/keys/format';
import { storageState } from './db';
import {
  adminHeaders,
  bearer,
  call,
  createOrgKey,
  type OrgKeyPair,
  pairHeaders,
  type Reply,
  randomId,
  remember,
  revokeOrgKey,
  withAlteredChecksum,
} from './fixtures';
import { ADMIN_REQUIRED_BODY, INVALID_TOKEN_PROJECT_BODY, NOT_FOUND_BODY } from './project';
import { hsToken, inAnHour } from './tokens';
import { callWith } from './worker';

/** The one body of every refused key pair. */
export const INVALID_PAIR_BODY = { error: 'invalid api key or clientId' };
/** The body of every refused admin JWT on the organization surface. */
export const INVALID_TOKEN_ORG_BODY = { error: 'invalid or expired token' };

/** An organization with one key pair to call with. */
export type Tenant = { org: string; pair: OrgKeyPair };

export async function newTenant(): Promise<Tenant> {
  const org = randomId();
  return { org, pair: await createOrgKey(org, 'caller') };
}

/** The request a route sends for one tenant, and the key it acts on, if any. */
export type PreparedRequest = { path: string; body?: unknown; target?: OrgKeyPair; projectKey?: string };

type RouteBase = {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** The documented path, e.g. /v1/keys/{key}. */
  path: string;
  /** Whether JWT users need the admin role (key writes, and the audit log). */
  adminOnly: boolean;
  successStatus: 200 | 201;
  /** Builds the request acting on `tenant`'s organization, creating what it needs. */
  prepare(tenant: Tenant): Promise<PreparedRequest>;
};

/**
 * A route of the organization surface (/v1/keys: key pair or admin JWT). With another
 * organization's credential it acts on that organization, so the route says what it must answer.
 */
export type OrgSurfaceRoute = RouteBase & {
  surface: 'org';
  /**
   * Asserts the answer when `b`'s credential is sent with a request prepared for `a`: the route
   * must act on b's organization only (a's storage is checked by the suite).
   */
  expectActsOnOwnTenantOnly(res: Reply, tenants: { a: Tenant; b: Tenant; request: PreparedRequest }): Promise<void>;
};

/** A route of the project surface (/app/v1/organizations/{org}/...: admin JWT only). */
export type ProjectSurfaceRoute = RouteBase & { surface: 'project' };

export type ProtectedRoute = OrgSurfaceRoute | ProjectSurfaceRoute;

function base64url(value: unknown): string {
  return btoa(JSON.stringify(value)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
}

type Credential = { label: string; headers(t: Tenant): Promise<Record<string, string>> };

const refusedPairs: Credential[] = [
  { label: 'no credential at all', headers: async () => ({}) },
  { label: 'only the client ID header', headers: async (t) => ({ 'x-metal-client-id': t.pair.clientId }) },
  { label: 'only the secret header', headers: async (t) => ({ 'x-metal-api-key': t.pair.apiKey }) },
  { label: 'both headers empty', headers: async () => ({ 'x-metal-client-id': '', 'x-metal-api-key': '' }) },
  {
    label: 'a wrong secret that is well-formed with a valid checksum',
    headers: async (t) => {
      const wrong = generateKey('orgSecret');
      await remember('generated organization secret', wrong);
      return pairHeaders({ clientId: t.pair.clientId, apiKey: wrong });
    },
  },
  {
    label: 'the right secret with one checksum character altered',
    headers: async (t) => pairHeaders({ clientId: t.pair.clientId, apiKey: withAlteredChecksum(t.pair.apiKey) }),
  },
  {
    label: 'the right client ID with one checksum character altered',
    headers: async (t) => pairHeaders({ clientId: withAlteredChecksum(t.pair.clientId), apiKey: t.pair.apiKey }),
  },
  {
    label: 'the client ID and the secret swapped',
    headers: async (t) => ({ 'x-metal-client-id': t.pair.apiKey, 'x-metal-api-key': t.pair.clientId }),
  },
  {
    label: 'a revoked key',
    headers: async (t) => {
      const revoked = await createOrgKey(t.org, 'revoked');
      await revokeOrgKey(revoked);
      return pairHeaders(revoked);
    },
  },
  {
    label: 'a revoked key whose record was cached before it was revoked',
    headers: async (t) => {
      const revoked = await createOrgKey(t.org, 'cached then revoked');
      // callWith waits for the request's waitUntil work, so the KV entry exists before the revoke.
      const used = await callWith({}, 'GET', '/v1/keys', { headers: pairHeaders(revoked) });
      expect(used.status, used.text).toBe(200);
      await revokeOrgKey(revoked);
      return pairHeaders(revoked);
    },
  },
  {
    label: "a valid secret with another key's client ID",
    headers: async (t) => {
      const other = await createOrgKey(t.org, 'other');
      return pairHeaders({ clientId: other.clientId, apiKey: t.pair.apiKey });
    },
  },
  {
    label: "a valid secret with another organization's client ID",
    headers: async (t) => {
      const other = await createOrgKey(randomId(), 'foreign');
      return pairHeaders({ clientId: other.clientId, apiKey: t.pair.apiKey });
    },
  },
  {
    label: 'a client ID without its secret next to a valid admin JWT',
    headers: async (t) => ({ 'x-metal-client-id': t.pair.clientId, ...(await adminHeaders(t.org)) }),
  },
];

const refusedTokens: Credential[] = [
  {
    label: 'an expired token',
    headers: async (t) => bearer(await hsToken({ sub: 'alice', org: t.org, role: 'admin', exp: Math.floor(Date.now() / 1000) - 60 })),
  },
  {
    label: 'a token signed with the wrong secret (forged)',
    headers: async (t) =>
      bearer(await hsToken({ sub: 'alice', org: t.org, role: 'admin', exp: inAnHour() }, 'not-the-secret-0123456789abcdef0123456789')),
  },
  {
    label: 'a token with alg none',
    headers: async (t) =>
      bearer(`${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ sub: 'alice', org: t.org, role: 'admin', exp: inAnHour() })}.`),
  },
  {
    label: 'a token signed with the right secret but HS512',
    headers: async (t) => bearer(await hsToken({ sub: 'alice', org: t.org, role: 'admin', exp: inAnHour() }, env.JWT_SECRET, 'HS512')),
  },
  { label: 'a garbage token', headers: async () => bearer('not-a-jwt') },
  { label: 'three garbage parts', headers: async () => bearer('aaaa.bbbb.cccc') },
  { label: 'an empty bearer', headers: async () => ({ authorization: 'Bearer ' }) },
  { label: 'another scheme (Basic)', headers: async (t) => ({ authorization: `Basic ${btoa(`${t.pair.clientId}:${t.pair.apiKey}`)}` }) },
  { label: 'a token without org', headers: async () => bearer(await hsToken({ sub: 'alice', role: 'admin', exp: inAnHour() })) },
  { label: 'a token without sub', headers: async (t) => bearer(await hsToken({ org: t.org, role: 'admin', exp: inAnHour() })) },
  { label: 'a token without role', headers: async (t) => bearer(await hsToken({ sub: 'alice', org: t.org, exp: inAnHour() })) },
  { label: 'a token without exp', headers: async (t) => bearer(await hsToken({ sub: 'alice', org: t.org, role: 'admin' })) },
  {
    label: 'a token with an unknown role',
    headers: async (t) => bearer(await hsToken({ sub: 'alice', org: t.org, role: 'owner', exp: inAnHour() })),
  },
  {
    label: 'a token whose org is not an organization id',
    headers: async () => bearer(await hsToken({ sub: 'alice', org: 'acme corp/../x', role: 'admin', exp: inAnHour() })),
  },
];

/** What is not an admin JWT on the project surface, which reads no key headers at all. */
const notTokens: Credential[] = [
  { label: 'an organization key pair instead of a token', headers: async (t) => pairHeaders(t.pair) },
  {
    label: 'the token without the Bearer scheme',
    headers: async (t) => ({ authorization: (await adminHeaders(t.org)).authorization!.slice(7) }),
  },
  { label: 'an organization secret as the bearer token', headers: async (t) => bearer(t.pair.apiKey) },
];

/** Runs the shared security cases against one protected route, in the shape of its surface. */
export function runAuthSuite(route: ProtectedRoute): void {
  const send = (request: PreparedRequest, headers: Record<string, string>) =>
    call(route.method, request.path, { headers, body: request.body });
  const org = route.surface === 'org';

  describe(`${route.method} ${route.path}: authentication`, () => {
    if (org) {
      it('accepts the key pair of the organization', async () => {
        const t = await newTenant();
        const res = await send(await route.prepare(t), pairHeaders(t.pair));
        expect(res.status, res.text).toBe(route.successStatus);
      });
    }

    it('accepts an admin JWT of the organization', async () => {
      const t = await newTenant();
      const res = await send(await route.prepare(t), await adminHeaders(t.org));
      expect(res.status, res.text).toBe(route.successStatus);
    });

    const refusals = org
      ? [
          ...refusedPairs.map((credential) => ({ ...credential, expected: INVALID_PAIR_BODY as unknown })),
          ...refusedTokens.map((credential) => ({ ...credential, expected: INVALID_TOKEN_ORG_BODY as unknown })),
        ]
      : [...refusedTokens, ...notTokens].map((credential) => ({ ...credential, expected: INVALID_TOKEN_PROJECT_BODY as unknown }));
    for (const credential of refusals) {
      it(`refuses ${credential.label} with exactly 401 ${JSON.stringify(credential.expected)}`, async () => {
        const t = await newTenant();
        const request = await route.prepare(t);
        const headers = await credential.headers(t);
        const before = await storageState(t.org);
        const res = await send(request, headers);
        expect(res.status, res.text).toBe(401);
        expect(res.body).toEqual(credential.expected);
        expect(await storageState(t.org), 'a refused request changed D1').toEqual(before);
      });
    }

    if (route.adminOnly) {
      const expected = org ? { error: 'admin role required' } : ADMIN_REQUIRED_BODY;
      it(`refuses a member JWT with 403 ${JSON.stringify(expected)}`, async () => {
        const t = await newTenant();
        const request = await route.prepare(t);
        const before = await storageState(t.org);
        const res = await send(request, await adminHeaders(t.org, { role: 'member' }));
        expect(res.status, res.text).toBe(403);
        expect(res.body).toEqual(expected);
        expect(await storageState(t.org), 'a refused request changed D1').toEqual(before);
      });
    } else {
      it('lets a member JWT read', async () => {
        const t = await newTenant();
        const res = await send(await route.prepare(t), await adminHeaders(t.org, { role: 'member' }));
        expect(res.status, res.text).toBe(route.successStatus);
      });
    }

    if (route.surface === 'org') {
      const foreignCredentials: Array<{ label: string; headers(b: Tenant): Promise<Record<string, string>> }> = [
        { label: "another organization's key pair", headers: async (b) => pairHeaders(b.pair) },
        { label: "another organization's admin JWT", headers: (b) => adminHeaders(b.org) },
      ];
      for (const credential of foreignCredentials) {
        it(`acts only on the caller's own organization with ${credential.label}`, async () => {
          const a = await newTenant();
          const b = await newTenant();
          const request = await route.prepare(a);
          const before = await storageState(a.org);
          const res = await send(request, await credential.headers(b));
          await route.expectActsOnOwnTenantOnly(res, { a, b, request });
          const after = await storageState(a.org);
          expect({ keys: after.keys, audit: after.audit }, "another organization's credential changed this organization").toEqual({
            keys: before.keys,
            audit: before.audit,
          });
          const stillWorks = await call('GET', '/v1/keys', { headers: pairHeaders(a.pair) });
          expect(stillWorks.status, stillWorks.text).toBe(200);
          expect(stillWorks.body.data.map((k: { id: string }) => k.id)).toContain(a.pair.id);
        });
      }
    } else {
      for (const role of ['admin', 'member'] as const) {
        it(`answers a ${role} JWT of another organization with exactly 404 NOT_FOUND, writing nothing`, async () => {
          const a = await newTenant();
          const request = await route.prepare(a);
          const before = await storageState(a.org);
          const res = await send(request, await adminHeaders(randomId(), { role }));
          expect(res.status, res.text).toBe(404);
          expect(res.body).toEqual(NOT_FOUND_BODY);
          expect(await storageState(a.org), "another organization's token changed D1").toEqual(before);
        });
      }
    }
  });
}
