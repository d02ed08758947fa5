// What the origin receives, header class by header class, on all three surfaces: credentials,
// cookies, identity spoofed with `_` for `-`, method overrides (headers and `_method`), client
// address claims, and the framing of a GET that carried a body. Each row is sent with a valid
// credential so that only the header rule decides.
import { describe, expect, it } from 'vitest';
import { adminHeaders, createOrgKey, pairHeaders, randomId } from '../support/fixtures';
import { callVia, type ReceivedRequest, recordingOrigin } from '../support/origin';
import { apiKeyHeaders, clientPath, createProjectKey, newProject } from '../support/project';
import { send } from '../support/worker';

/** One header a hostile client sends, and what must become of it at the origin. */
type Row = { class: string; name: string; value: string; expected: 'absent' | { header: string; value: string } };

const CLIENT_ADDRESS = '203.0.113.7';

const ROWS: Row[] = [
  { class: 'cookie (behind Access: CF_Authorization)', name: 'Cookie', value: 'CF_Authorization=eyJ.x.y; theme=dark', expected: 'absent' },
  { class: 'proxy credential', name: 'Proxy-Authorization', value: 'Basic dXNlcjpwYXNz', expected: 'absent' },
  { class: 'Access assertion', name: 'Cf-Access-Jwt-Assertion', value: 'eyJ.x.y', expected: 'absent' },
  { class: 'identity, underscored', name: 'x_keygate_org_id', value: 'globex', expected: 'absent' },
  { class: 'identity, underscored, upper case', name: 'X_KEYGATE_VISIBILITY', value: 'all', expected: 'absent' },
  { class: 'identity, mixed separators', name: 'x-keygate_role', value: 'admin', expected: 'absent' },
  { class: 'credential, underscored', name: 'x_api_key', value: 'kg_pk_stolen', expected: 'absent' },
  { class: 'credential, underscored', name: 'X_METAL_API_KEY', value: 'kg_sk_stolen', expected: 'absent' },
  { class: 'credential, underscored', name: 'x_metal_client_id', value: 'kg_ci_stolen', expected: 'absent' },
  { class: 'not a credential name', name: 'AUTHORIZATION_', value: 'kept', expected: { header: 'authorization_', value: 'kept' } },
  { class: 'method override', name: 'X-HTTP-Method-Override', value: 'DELETE', expected: 'absent' },
  { class: 'method override', name: 'X-HTTP-Method', value: 'PUT', expected: 'absent' },
  { class: 'method override', name: 'X-Method-Override', value: 'PATCH', expected: 'absent' },
  { class: 'method override, underscored', name: 'x_http_method_override', value: 'DELETE', expected: 'absent' },
  {
    class: 'client address claim',
    name: 'X-Forwarded-For',
    value: '6.6.6.6',
    expected: { header: 'x-forwarded-for', value: CLIENT_ADDRESS },
  },
  {
    class: 'client address claim',
    name: 'Forwarded',
    value: 'for=6.6.6.6;host=evil',
    expected: { header: 'forwarded', value: `for=${CLIENT_ADDRESS}` },
  },
  { class: 'client address claim', name: 'X-Real-IP', value: '6.6.6.6', expected: { header: 'x-real-ip', value: CLIENT_ADDRESS } },
  { class: 'client address claim, underscored', name: 'x_forwarded_for', value: '6.6.6.6', expected: 'absent' },
  { class: 'client address claim', name: 'True-Client-IP', value: '6.6.6.6', expected: 'absent' },
  { class: 'host claim', name: 'X-Forwarded-Host', value: 'admin.internal', expected: 'absent' },
  { class: 'ordinary header', name: 'Accept-Language', value: 'de-CH', expected: { header: 'accept-language', value: 'de-CH' } },
];

type Surface = { name: string; request(): Promise<{ path: string; headers: Record<string, string> }> };

const SURFACES: Surface[] = [
  {
    name: '/v1 (organization key)',
    async request() {
      const pair = await createOrgKey(randomId(), 'headers');
      return { path: '/v1/companies', headers: pairHeaders(pair) };
    },
  },
  {
    name: '/api/v1 (project key)',
    async request() {
      const p = newProject();
      const key = await createProjectKey(p, 'headers');
      return { path: clientPath(p, 'content'), headers: apiKeyHeaders(key.key) };
    },
  },
  {
    name: '/app/v1 (admin JWT)',
    async request() {
      const org = randomId();
      return { path: `/app/v1/organizations/${org}/projects/p/content`, headers: await adminHeaders(org) };
    },
  },
];

async function forwardedWith(surface: Surface, extra: Record<string, string>, query = ''): Promise<ReceivedRequest> {
  const { path, headers } = await surface.request();
  const origin = recordingOrigin();
  const res = await callVia(origin.fetcher, 'GET', `${path}${query}`, {
    headers: { ...headers, 'cf-connecting-ip': CLIENT_ADDRESS, ...extra },
  });
  expect(res.status, res.text).toBe(200);
  expect(origin.received).toHaveLength(1);
  return origin.received[0]!;
}

describe('the forwarded-header table', () => {
  for (const surface of SURFACES) {
    for (const row of ROWS) {
      it(`${surface.name}: ${row.name} (${row.class}) ${row.expected === 'absent' ? 'is dropped' : `arrives as ${row.expected.header}: ${row.expected.value}`}`, async () => {
        const received = await forwardedWith(surface, { [row.name]: row.value });
        const names = Object.keys(received.headers);
        if (row.expected === 'absent') {
          expect(names, `${row.name} reached the origin`).not.toContain(row.name.toLowerCase());
        } else {
          expect(received.headers[row.expected.header]).toBe(row.expected.value);
        }
        // Whatever the row: no credential and no identity the client wrote ever arrives.
        for (const name of names) {
          const canonical = name.replace(/_/g, '-');
          expect(
            ['cookie', 'authorization', 'proxy-authorization', 'x-api-key', 'x-metal-api-key', 'x-metal-client-id'],
            name,
          ).not.toContain(canonical);
        }
        expect(Object.values(received.headers), 'a spoofed identity value arrived').not.toContain('globex');
      });
    }
  }

  it('sets Forwarded with a bracketed, quoted IPv6 address', async () => {
    const received = await forwardedWith(SURFACES[0]!, { 'cf-connecting-ip': '2001:db8::1', 'x-forwarded-for': '6.6.6.6' });
    expect(received.headers['x-forwarded-for']).toBe('2001:db8::1');
    expect(received.headers.forwarded).toBe('for="[2001:db8::1]"');
  });

  it('sends no client address headers at all when Cloudflare gave none (never the client claim)', async () => {
    const pair = await createOrgKey(randomId(), 'no-address');
    const origin = recordingOrigin();
    const res = await callVia(origin.fetcher, 'GET', '/v1/companies', {
      headers: { ...pairHeaders(pair), 'x-forwarded-for': '6.6.6.6', forwarded: 'for=6.6.6.6' },
    });
    expect(res.status, res.text).toBe(200);
    expect(origin.received[0]!.headers).not.toHaveProperty('x-forwarded-for');
    expect(origin.received[0]!.headers).not.toHaveProperty('forwarded');
  });
});

describe('the _method query parameter', () => {
  const queries: Array<[string, string]> = [
    ['?_method=DELETE', ''],
    ['?a=1&_method=DELETE&b=2', '?a=1&b=2'],
    ['?_METHOD=put', ''],
    ['?%5Fmethod=PATCH&keep=yes', '?keep=yes'],
    ['?_method%20=PATCH&x=1', '?x=1'],
    ['?method=kept&my_method=kept', '?method=kept&my_method=kept'],
  ];
  for (const surface of SURFACES) {
    for (const [sent, arrives] of queries) {
      it(`${surface.name}: ${sent} arrives as ${JSON.stringify(arrives)}`, async () => {
        const received = await forwardedWith(surface, {}, sent);
        expect(received.search).toBe(arrives);
      });
    }
  }
});

/**
 * A GET as the runtime hands it over when a client sent a body anyway (`curl -X GET -d x`): the
 * Request constructor refuses to build one, so the body is attached to an ordinary GET.
 */
function getWithBody(path: string, headers: Record<string, string>, framing: Record<string, string>): Request {
  const request = new Request(`https://keygate.test${path}`, { method: 'GET', headers: { ...headers, ...framing } });
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('x'.repeat(64)));
      controller.close();
    },
  });
  Object.defineProperty(request, 'body', { get: () => body });
  return request;
}

describe('a GET or HEAD that carries a body', () => {
  const framings: Array<Record<string, string>> = [
    { 'transfer-encoding': 'chunked' },
    { 'content-length': '64' },
    { 'content-length': '999999' },
  ];

  for (const framing of framings) {
    it(`is answered as if it had none on every surface (${JSON.stringify(framing)})`, async () => {
      const org = randomId();
      const pair = await createOrgKey(org, 'get-body');
      const p = newProject(org);
      const key = await createProjectKey(p, 'get-body');
      const origin = recordingOrigin();
      const cases: Array<[string, Record<string, string>, number]> = [
        ['/health', {}, 200],
        ['/openapi.json', {}, 200],
        ['/v1/keys', pairHeaders(pair), 200],
        ['/v1/companies', pairHeaders(pair), 200],
        [clientPath(p, 'content'), apiKeyHeaders(key.key), 200],
        [`/app/v1/organizations/${org}/audit-log`, await adminHeaders(org), 200],
        ['/v1/companies', {}, 401],
        ['/nowhere', {}, 404],
      ];
      for (const [path, headers, status] of cases) {
        const res = await send(getWithBody(path, headers, framing), { ORIGIN: origin.fetcher });
        expect(res.status, `GET ${path}: ${res.text}`).toBe(status);
      }
      // Forwarded without the body and without its framing headers.
      expect(origin.received).toHaveLength(2);
      for (const received of origin.received) {
        expect(received.body ?? '', received.path).toBe('');
        expect(received.headers, received.path).not.toHaveProperty('content-length');
        expect(received.headers, received.path).not.toHaveProperty('transfer-encoding');
      }
    });
  }
});
