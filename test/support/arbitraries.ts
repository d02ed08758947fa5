// fast-check arbitraries for fuzzing Keygate's routes (test/fuzz/routes.fuzz.test.ts).
//
// What they generate is symbolic: ids, keys and tokens appear as placeholders ({org}, {victimProjectKey}...)
// that the test resolves against the organizations, keys and tokens it created in beforeAll.
// Those are random on every run, the placeholders are not: a seed always generates the same
// requests, and a shrunk counterexample reads as the route shape it is.
import * as fc from 'fast-check';

// ---------------------------------------------------------------------------------------------
// Placeholders, resolved by the test.

/** Path placeholders: organizations, projects and key ids of the fuzz world. */
export const PATH_PLACEHOLDERS = [
  '{org}', // the caller's organization (the one its credentials belong to)
  '{otherOrg}', // another organization, with keys of its own
  '{project}', // a project of the caller's organization, with a project key
  '{otherProject}', // a project of the other organization
  '{victimOrgKey}', // an organization key of the caller's organization that a valid DELETE may revoke
  '{otherOrgKey}', // an organization key of the other organization
  '{otherClientId}', // its client ID (DELETE /v1/keys/{key} takes either)
  '{victimProjectKey}', // a project key of {project} that a valid PUT or DELETE may change
  '{otherProjectKey}', // a project key of {otherProject}
] as const;

/** Header-value placeholders: organization ids, real credentials sent under other names, a large value. */
export const VALUE_PLACEHOLDERS = ['{org}', '{otherOrg}', '{projectKeyValue}', '{orgSecret}', '{adminJwt}', '{8KB}'] as const;

// ---------------------------------------------------------------------------------------------
// Methods.

/**
 * Methods to try. The Request constructor rejects some (which ones depends on the runtime:
 * workerd refuses CONNECT but takes TRACE), so only those it accepts are generated. Lower-case
 * spellings are included: the constructor upper-cases the six standard ones and, per the Fetch
 * spec, keeps other names as written.
 */
const CANDIDATE_METHODS = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
  'PROPFIND',
  'PROPPATCH',
  'MKCOL',
  'COPY',
  'MOVE',
  'LOCK',
  'UNLOCK',
  'SEARCH',
  'REPORT',
  'PURGE',
  'QUERY',
  'TRACE',
  'CONNECT',
  'get',
  'post',
  'delete',
  'patch',
];

function acceptedByRequest(method: string): boolean {
  try {
    new Request('https://keygate.test/', { method });
    return true;
  } catch {
    return false;
  }
}

const STANDARD_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
/** The odd methods this runtime's Request accepts. */
export const ODD_METHODS = CANDIDATE_METHODS.filter((m) => !STANDARD_METHODS.includes(m) && acceptedByRequest(m));

/** Mostly the methods the routes declare; now and then one they never expect. */
export const httpMethod: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...STANDARD_METHODS), weight: 6 },
  ...(ODD_METHODS.length > 0 ? [{ arbitrary: fc.constantFrom(...ODD_METHODS), weight: 1 }] : []),
);

/** Methods whose requests cannot carry a body (the Request constructor throws). */
export function isBodiless(method: string): boolean {
  const upper = method.toUpperCase();
  return upper === 'GET' || upper === 'HEAD';
}

// ---------------------------------------------------------------------------------------------
// Paths: the real route shapes, then hostile pieces mixed in.

/** The organization in a path: usually the caller's, so that authorization is what decides. */
const orgInPath = fc.oneof(
  { arbitrary: fc.constant('{org}'), weight: 4 },
  { arbitrary: fc.constant('{otherOrg}'), weight: 2 },
  { arbitrary: fc.constant('org-nobody'), weight: 1 },
);
const projectInPath = fc.oneof(
  { arbitrary: fc.constant('{project}'), weight: 4 },
  { arbitrary: fc.constant('{otherProject}'), weight: 1 },
  { arbitrary: fc.constant('prj-nobody'), weight: 1 },
);
/** The {key} of DELETE /v1/keys/{key}: never the caller's own pair, so the fuzz keeps a working key. */
const orgKeyInPath = fc.constantFrom('{victimOrgKey}', '{otherOrgKey}', '{otherClientId}', 'key_nobody', 'kg_cid_x');
const projectKeyInPath = fc.constantFrom('{victimProjectKey}', '{otherProjectKey}', '00000000-0000-4000-8000-000000000000', 'not-a-uuid');
/** First segments after /api/v1/.../projects/{p}: the six readable ones and some that are not. */
const clientResource = fc.constantFrom(
  'content',
  'content-types',
  'tags',
  'saved-searches',
  'packages',
  'assets',
  'api-keys',
  'audit-log',
  'drafts',
  'Content',
);
const clientRest = fc.constantFrom<string[]>([], [], ['c1'], ['s1', 'execute'], ['c1', 'publish']);
const appGatewayRest = fc.constantFrom<string[]>(['content'], ['content', 'c1'], ['content', 'c1', 'publish'], ['drafts'], ['settings']);

const projectBase = (o: string, p: string) => ['app', 'v1', 'organizations', o, 'projects', p];

/** Routes without credentials, the root, and bare prefixes of the client routes (no resource). */
const publicRouteShape = fc.constantFrom<string[]>(
  ['health'],
  ['openapi.json'],
  [''],
  ['console'],
  ['api', 'v1'],
  ['api', 'v1', 'organizations', '{org}'],
  ['api', 'v1', 'organizations', '{org}', 'projects', '{project}'],
);

/** Routes of the organization surface: /v1/keys (Keygate's) and the rest of /v1 (forwarded). */
export const orgRouteShape: fc.Arbitrary<string[]> = fc.oneof(
  fc.constant<string[]>(['v1', 'keys']),
  orgKeyInPath.map((k) => ['v1', 'keys', k]),
  fc.constantFrom<string[]>(['v1', 'companies'], ['v1', 'companies', 'c1'], ['v1', '.well-known'], ['v1', 'anything', 'deeper']),
);

/** Routes of the admin surface: project keys and the audit log (Keygate's), the rest of /app/v1 (forwarded). */
export const appRouteShape: fc.Arbitrary<string[]> = fc.oneof(
  fc.tuple(orgInPath, projectInPath).map(([o, p]) => [...projectBase(o, p), 'api-keys']),
  fc.tuple(orgInPath, projectInPath, projectKeyInPath).map(([o, p, k]) => [...projectBase(o, p), 'api-keys', k]),
  orgInPath.map((o) => ['app', 'v1', 'organizations', o, 'audit-log']),
  fc.tuple(orgInPath, projectInPath, appGatewayRest).map(([o, p, rest]) => [...projectBase(o, p), ...rest]),
  fc.constantFrom<string[]>(
    ['app', 'v1', 'me'],
    ['app', 'v1', 'organizations'],
    ['app', 'v1', 'organizations', '{org}'],
    ['app', 'v1', 'organizations', '{org}', 'projects', '{project}'],
  ),
  // Below Keygate's own routes: still Keygate's, never forwarded.
  fc.tuple(orgInPath, projectInPath).map(([o, p]) => [...projectBase(o, p), 'api-keys', '{victimProjectKey}', 'extra']),
  orgInPath.map((o) => ['app', 'v1', 'organizations', o, 'audit-log', 'extra']),
);

/** Routes of the client surface (project key) under the given organizations and projects, forwarded when the policy allows. */
const clientRouteShape = (org: fc.Arbitrary<string>, project: fc.Arbitrary<string>): fc.Arbitrary<string[]> =>
  fc
    .tuple(org, project, clientResource, clientRest)
    .map(([o, p, resource, rest]) => ['api', 'v1', 'organizations', o, 'projects', p, resource, ...rest]);
export const apiRouteShape = clientRouteShape(orgInPath, projectInPath);
/** Client routes of the project the caller's project key belongs to, mostly. */
const ownClientRouteShape = fc.oneof(
  { arbitrary: clientRouteShape(fc.constant('{org}'), fc.constant('{project}')), weight: 3 },
  { arbitrary: apiRouteShape, weight: 1 },
);

/** Segments of a path built from the route shapes Keygate serves or forwards. */
export const routeShape: fc.Arbitrary<string[]> = fc.oneof(publicRouteShape, orgRouteShape, appRouteShape, apiRouteShape);

/**
 * Pieces an attacker puts in a path: encoded separators and controls, double encoding, dot
 * segments raw and encoded, `;`, unicode (RTL override included), empty segments, and some
 * harmless look-alikes (`c.1`, `...`, `a%20b`) that must still be let through.
 */
export const hostilePiece = fc.constantFrom(
  '%2F',
  'a%2Fb',
  'a%2fb',
  '%5C',
  'a%5cb',
  '\\',
  '%3B',
  'x%3by',
  ';',
  'x;y',
  '..;',
  '%00',
  'a%0A',
  '%0d%0aX-Injected:1',
  '%25',
  'a%25b',
  '%2e',
  '%2E',
  '%2e%2e',
  '.%2E',
  '%252e',
  '%252e%252e',
  '%25%32%65',
  '%c0%ae',
  '%',
  '%zz',
  '.',
  '..',
  '',
  'é',
  '%C3%A9',
  '😀',
  '\u202E',
  'a\u202Eb',
  'a%20b',
  'c.1',
  '...',
);

/** One change to a path's segments; `at` is taken modulo the segment count. */
export type PathMutation =
  | { op: 'replace'; at: number; piece: string }
  | { op: 'insert'; at: number; piece: string }
  | { op: 'append'; at: number; piece: string }
  | { op: 'uppercase'; at: number };

const pathMutation: fc.Arbitrary<PathMutation> = fc.oneof(
  fc.record({ op: fc.constant('replace' as const), at: fc.nat(9), piece: hostilePiece }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(9), piece: hostilePiece }),
  fc.record({ op: fc.constant('append' as const), at: fc.nat(9), piece: hostilePiece }),
  fc.record({ op: fc.constant('uppercase' as const), at: fc.nat(9) }),
);

/** Half the paths are left as the route shape, the other half get one or two hostile changes. */
export const pathMutations: fc.Arbitrary<PathMutation[]> = fc.oneof(
  { arbitrary: fc.constant<PathMutation[]>([]), weight: 1 },
  { arbitrary: fc.array(pathMutation, { minLength: 1, maxLength: 2 }), weight: 1 },
);

/** The segments after the mutations; an insert may land after the last segment (a trailing `/`). */
export function applyMutations(segments: readonly string[], mutations: readonly PathMutation[]): string[] {
  const result = [...segments];
  for (const m of mutations) {
    if (m.op === 'insert') {
      result.splice(m.at % (result.length + 1), 0, m.piece);
      continue;
    }
    const i = m.at % result.length;
    const segment = result[i] ?? '';
    if (m.op === 'replace') result[i] = m.piece;
    else if (m.op === 'append') result[i] = segment + m.piece;
    // Placeholders keep their spelling: the ids they stand for are what an upper-cased id would change.
    else result[i] = segment.startsWith('{') ? segment : segment.toUpperCase();
  }
  return result;
}

/** Query strings the routes read (limit, lastKey, status) and ones a framework could misread (_method). */
export const queryString = fc.oneof(
  { arbitrary: fc.constant(''), weight: 4 },
  {
    arbitrary: fc.constantFrom(
      '?limit=5',
      '?limit=0',
      '?limit=-1',
      '?limit=abc',
      '?limit=1e3',
      '?lastKey=bogus',
      '?lastKey=c2.AAAA',
      '?status=revoked',
      '?status=bogus',
      '?_method=DELETE',
      '?%5Fmethod=PUT&x=1',
      '?a=%00;b',
    ),
    weight: 1,
  },
);

// ---------------------------------------------------------------------------------------------
// Credentials and other headers.

/** How a credential header is sent: once, twice (Headers.append), or under its `_` spelling. */
export type Sending = 'once' | 'twice' | 'underscored';
const sending: fc.Arbitrary<Sending> = fc.oneof(
  { arbitrary: fc.constant('once' as const), weight: 6 },
  { arbitrary: fc.constant('twice' as const), weight: 1 },
  { arbitrary: fc.constant('underscored' as const), weight: 1 },
);

/** The organization key pair: a real one (the caller's or another organization's), or a bad one. */
export type PairChoice = 'caller' | 'other' | 'swapped' | 'badChecksum' | 'clientIdOnly' | 'secretOnly' | 'garbage';
/** The Authorization header: real admin/member tokens (the caller's organization or another's), or bad ones. */
export type JwtChoice = 'admin' | 'member' | 'otherOrgAdmin' | 'expired' | 'forged' | 'garbage' | 'basic' | 'emptyBearer';
/** The x-api-key header: the real project key of {project} or of {otherProject}, or a bad one. */
export type ProjectKeyChoice = 'caller' | 'other' | 'badChecksum' | 'garbage';

export type Credentials = {
  pair?: { choice: PairChoice; sending: Sending };
  jwt?: { choice: JwtChoice; sending: Sending };
  projectKey?: { choice: ProjectKeyChoice; sending: Sending };
};

/** A credential present about half the time, valid more often than not when present. */
function sometimes<T>(choice: fc.Arbitrary<T>): fc.Arbitrary<{ choice: T; sending: Sending } | undefined> {
  return fc.oneof({ arbitrary: fc.constant(undefined), weight: 1 }, { arbitrary: fc.record({ choice, sending }), weight: 1 });
}

const pairChoice: fc.Arbitrary<PairChoice> = fc.oneof(
  { arbitrary: fc.constant('caller' as const), weight: 4 },
  { arbitrary: fc.constantFrom<PairChoice>('other', 'swapped', 'badChecksum', 'clientIdOnly', 'secretOnly', 'garbage'), weight: 3 },
);
const jwtChoice: fc.Arbitrary<JwtChoice> = fc.oneof(
  { arbitrary: fc.constant('admin' as const), weight: 4 },
  { arbitrary: fc.constantFrom<JwtChoice>('member', 'otherOrgAdmin', 'expired', 'forged', 'garbage', 'basic', 'emptyBearer'), weight: 3 },
);
const projectKeyChoice: fc.Arbitrary<ProjectKeyChoice> = fc.oneof(
  { arbitrary: fc.constant('caller' as const), weight: 4 },
  { arbitrary: fc.constantFrom<ProjectKeyChoice>('other', 'badChecksum', 'garbage'), weight: 2 },
);

/** Each of the three credentials independently present or not, valid or not. */
export const credentials: fc.Arbitrary<Credentials> = fc.record({
  pair: sometimes(pairChoice),
  jwt: sometimes(jwtChoice),
  projectKey: sometimes(projectKeyChoice),
});

/**
 * Headers a client must never get trusted or passed on: identity claims (x-keygate-*, also with
 * `_`), credential headers under their `_` spelling (carrying real credentials), method
 * overrides, cookies, and oversized values.
 */
const spoofedHeaderName = fc.constantFrom(
  'x-keygate-org-id',
  'X-Keygate-Role',
  'x-keygate-visibility',
  'x-keygate-user-id',
  'x-keygate-secret',
  'x_keygate_org_id',
  'X_KEYGATE_PROJECT_ID',
  'x_keygate_permissions',
  'x_api_key',
  'X_METAL_API_KEY',
  'x_metal_client_id',
  'proxy-authorization',
  'Proxy_Authorization',
  'cookie',
  'cf-access-jwt-assertion',
  'cf_access_jwt_assertion',
  'x-http-method-override',
  'X_HTTP_METHOD_OVERRIDE',
  'x-forwarded-for',
  'x-request-id',
  'x-large',
);
const spoofedHeaderValue = fc.constantFrom(
  'admin',
  'all',
  '{org}',
  '{otherOrg}',
  '{projectKeyValue}',
  '{orgSecret}',
  '{adminJwt}',
  'DELETE',
  '{8KB}',
);

export type ExtraHeader = { name: string; value: string; twice: boolean };

export const extraHeaders: fc.Arbitrary<ExtraHeader[]> = fc.oneof(
  { arbitrary: fc.constant<ExtraHeader[]>([]), weight: 1 },
  {
    arbitrary: fc.array(fc.record({ name: spoofedHeaderName, value: spoofedHeaderValue, twice: fc.boolean() }), {
      minLength: 1,
      maxLength: 3,
    }),
    weight: 1,
  },
);

// ---------------------------------------------------------------------------------------------
// Bodies.

export type BodyChoice =
  | { kind: 'none' }
  | { kind: 'json'; value: unknown; contentType?: string }
  | { kind: 'raw'; text: string; contentType?: string }
  | { kind: 'invalidUtf8'; contentType?: string }
  | { kind: 'oversized'; contentType?: string };

const contentType = fc.constantFrom<string | undefined>(
  'application/json',
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/vnd.api+json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  undefined,
);

/** Bodies the routes accept: create (name), update (name/status), the origin's content. */
const validJson = fc.constantFrom<unknown>(
  { name: 'fuzz key' },
  { name: '  renamed  ' },
  { status: 'revoked' },
  { status: 'active' },
  { name: 'x', status: 'active' },
  { title: 'hello' },
);
/** JSON of the wrong shape: wrong types, unknown fields, names the schema refuses. */
const wrongJson = fc.constantFrom<unknown>(
  { name: 42 },
  { name: null },
  { name: ['a'] },
  { status: true },
  { status: 'deleted' },
  [],
  'a string',
  123,
  null,
  {},
  { name: 'x', admin: true },
  { name: 'x', organizationId: 'org-other' },
  { name: 'x', apiKey: 'short' },
  { name: '' },
  { name: '\u202Eevil' },
  { name: 'a\u0000b' },
  { name: 'a'.repeat(101) },
);
/** Text that is not JSON, or JSON with a trap in it. */
const malformedText = fc.constantFrom(
  '{"name":',
  '{name: x}',
  '',
  'null',
  '{"name":"x"}garbage',
  '[',
  '{"__proto__":{"role":"admin"},"name":"x"}',
  'name=x',
  '\u0000',
);

export const requestBody: fc.Arbitrary<BodyChoice> = fc.oneof(
  { arbitrary: fc.constant({ kind: 'none' as const }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('json' as const), value: validJson, contentType }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('json' as const), value: wrongJson, contentType }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('raw' as const), text: malformedText, contentType }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('invalidUtf8' as const), contentType }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('oversized' as const), contentType }), weight: 1 },
);

// ---------------------------------------------------------------------------------------------
// A whole request.

export type RequestSpec = {
  method: string;
  segments: string[];
  mutations: PathMutation[];
  query: string;
  credentials: Credentials;
  extraHeaders: ExtraHeader[];
  body: BodyChoice;
};

const withoutBodyWhenBodiless = (spec: RequestSpec): RequestSpec => (isBodiless(spec.method) ? { ...spec, body: { kind: 'none' } } : spec);

/** Everything random: any route shape, any credentials, any method. Mostly refused. */
export const wildRequest: fc.Arbitrary<RequestSpec> = fc
  .record({
    method: httpMethod,
    segments: routeShape,
    mutations: pathMutations,
    query: queryString,
    credentials,
    extraHeaders,
    body: requestBody,
  })
  .map(withoutBodyWhenBodiless);

/** Fewer hostile path changes, so that authorization, policy and forwarding get their turn. */
const fewMutations: fc.Arbitrary<PathMutation[]> = fc.oneof(
  { arbitrary: fc.constant<PathMutation[]>([]), weight: 3 },
  { arbitrary: fc.array(pathMutation, { minLength: 1, maxLength: 1 }), weight: 1 },
);
const sentOnce = fc.constant<Sending>('once');
const readMethod = fc.oneof({ arbitrary: fc.constantFrom('GET', 'HEAD', 'POST'), weight: 3 }, { arbitrary: httpMethod, weight: 1 });

const validOnce = <T>(choices: T[]) => fc.record({ choice: fc.constantFrom(...choices), sending: sentOnce });

/** A valid organization key pair (the caller's, now and then another organization's), the rest noise. */
const withValidPair: fc.Arbitrary<Credentials> = fc.record({
  pair: validOnce<PairChoice>(['caller', 'caller', 'other']),
  jwt: sometimes(jwtChoice),
  projectKey: sometimes(projectKeyChoice),
});
/** A valid JWT (admin, member, or another organization's admin), the rest noise. */
const withValidJwt: fc.Arbitrary<Credentials> = fc.record({
  pair: sometimes(pairChoice),
  jwt: validOnce<JwtChoice>(['admin', 'admin', 'member', 'otherOrgAdmin']),
  projectKey: sometimes(projectKeyChoice),
});
/** A valid project key (mostly of {project}), the rest noise. */
const withValidProjectKey: fc.Arbitrary<Credentials> = fc.record({
  pair: sometimes(pairChoice),
  jwt: sometimes(jwtChoice),
  projectKey: validOnce<ProjectKeyChoice>(['caller', 'caller', 'caller', 'other']),
});
/** /v1/keys takes either a key pair or a JWT (judged as a JWT only when no key header is there). */
const withValidOrgCredential: fc.Arbitrary<Credentials> = fc.oneof(
  withValidPair,
  fc.record({ jwt: validOnce<JwtChoice>(['admin', 'admin', 'member', 'otherOrgAdmin']), projectKey: sometimes(projectKeyChoice) }),
);

/** A surface's route shapes with that surface's valid credential. */
const credentialedRoute = fc.oneof(
  fc.record({ method: httpMethod, segments: orgRouteShape, credentials: withValidPair }),
  fc.record({ method: httpMethod, segments: appRouteShape, credentials: withValidJwt }),
  fc.record({ method: readMethod, segments: ownClientRouteShape, credentials: withValidProjectKey }),
);

/** Keygate's own writes, each with its method: create, revoke, update, delete. */
const writeRoute = fc.oneof(
  fc.record({ method: fc.constant('POST'), segments: fc.constant<string[]>(['v1', 'keys']), credentials: withValidOrgCredential }),
  fc.record({ method: fc.constant('DELETE'), segments: orgKeyInPath.map((k) => ['v1', 'keys', k]), credentials: withValidOrgCredential }),
  fc.record({
    method: fc.constant('POST'),
    segments: fc.tuple(orgInPath, projectInPath).map(([o, p]) => [...projectBase(o, p), 'api-keys']),
    credentials: withValidJwt,
  }),
  fc.record({
    method: fc.constantFrom('PUT', 'DELETE'),
    segments: fc.tuple(orgInPath, projectInPath, projectKeyInPath).map(([o, p, k]) => [...projectBase(o, p), 'api-keys', k]),
    credentials: withValidJwt,
  }),
);
/** Mostly a body the write routes accept, sent as JSON; otherwise any body. */
const writeBody: fc.Arbitrary<BodyChoice> = fc.oneof(
  {
    arbitrary: fc.record({ kind: fc.constant('json' as const), value: validJson, contentType: fc.constant('application/json') }),
    weight: 2,
  },
  { arbitrary: requestBody, weight: 1 },
);

/**
 * A request with the right, valid credential for its surface (sent once, under its own name)
 * and noise around it (other credentials, spoofed headers, any body, now and then a hostile
 * path piece): a wild request almost never gets past authentication, and without these the
 * invariants about forwarded requests would hardly be exercised.
 */
export const nearlyValidRequest: fc.Arbitrary<RequestSpec> = fc
  .tuple(credentialedRoute, fc.record({ mutations: fewMutations, query: queryString, extraHeaders, body: requestBody }))
  .map(([route, rest]) => withoutBodyWhenBodiless({ ...route, ...rest }));

/**
 * A write to Keygate's own routes with a valid credential and mostly a valid body: some succeed
 * (the refused ones next to them must still write nothing), many are refused for the role, the
 * organization, the id or the body.
 */
export const writeRequest: fc.Arbitrary<RequestSpec> = fc
  .tuple(writeRoute, fc.record({ mutations: fewMutations, query: fc.constant(''), extraHeaders, body: writeBody }))
  .map(([route, rest]) => ({ ...route, ...rest }));

/** A request to fuzz with: wild, nearly valid, or a write. GET and HEAD never carry a body (the Request constructor refuses one). */
export const requestSpec: fc.Arbitrary<RequestSpec> = fc.oneof(
  { arbitrary: wildRequest, weight: 2 },
  { arbitrary: nearlyValidRequest, weight: 2 },
  { arbitrary: writeRequest, weight: 1 },
);
